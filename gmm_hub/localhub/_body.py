"""Request bodies, read only after the route and the caller are known.

Every body is checked against its ``Content-Length`` before a byte is read (413
when too large), then streamed: :func:`spool_body` writes it to a temporary file
under the root while counting, :func:`read_json` keeps small JSON bodies in memory
under a budget shared by all connections (:class:`MemoryBudget`: 503 with
``Retry-After`` when it is spent). A body that ends before its ``Content-Length``
(the client went away) raises :class:`HubError` 400, so the caller applies nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect

from ._auth import state
from ._errors import HubError

if TYPE_CHECKING:
    from starlette.requests import Request

SHORT_BODY = "The request body ended before its Content-Length: nothing was applied."


class MemoryBudget:
    """Bytes of request bodies held in memory, across every connection, capped at ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self.used = 0
        self.peak = 0
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, size: int) -> Iterator[None]:
        """Reserve ``size`` bytes for the block, or refuse with 503 if the budget is spent."""
        with self._lock:
            if self.used + size > self.limit:
                raise HubError(503, "The server is busy with other uploads: try again.", headers={"Retry-After": "1"})
            self.used += size
            self.peak = max(self.peak, self.used)
        try:
            yield
        finally:
            with self._lock:
                self.used -= size


def content_length(request: Request) -> int | None:
    """The declared body size (None for a chunked body); 400 for a malformed header."""
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise HubError(400, "Invalid Content-Length header.")
    return int(raw)


def _check_size(request: Request, limit: int) -> int | None:
    length = content_length(request)
    if length is not None and length > limit:
        raise HubError(413, f"Request body of {length} bytes exceeds the limit of {limit} bytes.")
    return length


async def _chunks(request: Request, length: int | None, limit: int) -> AsyncIterator[bytes]:
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise HubError(413, f"Request body exceeds the limit of {limit} bytes.")
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise HubError(400, SHORT_BODY) from None
    if length is not None and seen != length:
        raise HubError(400, SHORT_BODY)


async def read_json(request: Request, *, default: Any = None) -> Any:
    """The JSON body (``default`` when empty); 400 for malformed JSON, 413 when too large."""
    hub = state(request)
    limit = min(hub.max_json_bytes, hub.max_body_bytes)
    length = _check_size(request, limit)
    parts = []
    with hub.budget.hold(limit if length is None else length):
        async for chunk in _chunks(request, length, limit):
            parts.append(chunk)
    body = b"".join(parts)
    if not body.strip():
        if default is None:
            raise HubError(400, "Expected a JSON body.")
        return default
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise HubError(400, f"Malformed JSON body: {err}.") from None


@asynccontextmanager
async def spool_body(request: Request) -> AsyncIterator[IO[bytes]]:
    """The body in a temporary file under the root (deleted afterwards), positioned at its start."""
    hub = state(request)
    length = _check_size(request, hub.max_body_bytes)
    tmp = Path(hub.root) / "tmp"
    tmp.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp, prefix="body-")
    try:
        with os.fdopen(fd, "w+b") as fh:
            async for chunk in _chunks(request, length, hub.max_body_bytes):
                fh.write(chunk)
            fh.seek(0)
            yield fh
    finally:
        Path(name).unlink(missing_ok=True)


def expect_dict(value: Any, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else 400 naming ``what``."""
    if not isinstance(value, dict):
        raise HubError(400, f"Expected {what} to be a JSON object, got {type(value).__name__}.")
    return value


def expect_str(obj: dict[str, Any], key: str, what: str, *, optional: bool = False) -> str | None:
    """``obj[key]`` if it is a string (or missing and ``optional``), else 400."""
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise HubError(400, f"Expected {what}.{key} to be a string, got {type(value).__name__}.")
    return value
