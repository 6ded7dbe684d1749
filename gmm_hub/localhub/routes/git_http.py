"""git smart HTTP: ``git clone http://HOST:PORT/USER/REPO`` (and ``git fetch --tags``), as on the Hub.

Served through dulwich's :class:`~dulwich.server.UploadPackHandler` in stateless-RPC
mode, as ``dulwich/web.py`` does, over the request and reply streams: the request
body is spooled to disk first (it was checked after the route and the caller), the
pack is written to a spooled temporary file in a worker thread, then streamed back.
Private repos need the token as on the Hub: HTTP basic auth, any user name, the token
as password; an anonymous request gets 401 with ``WWW-Authenticate`` so git asks for
it. ``git push`` (``git-receive-pack``) is refused with 403.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import IO, Any, cast

from dulwich.errors import GitProtocolError, HangupException
from dulwich.protocol import ReceivableProtocol
from dulwich.repo import Repo
from dulwich.server import DictBackend, UploadPackHandler
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .._auth import repo_from_path, state
from .._body import spool_body
from .._errors import HubError

ORDER = 50
SERVICE = "git-upload-pack"
_NO_CACHE = {"Cache-Control": "no-cache, max-age=0, must-revalidate", "Expires": "Fri, 01 Jan 1980 00:00:00 GMT"}


def _run_upload_pack(repo_path: Path, tmp: Path, body: IO[bytes] | None) -> IO[bytes]:
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b", dir=str(tmp))  # noqa: SIM115 (returned open)

    def write(data: bytes) -> int:
        out.write(data)
        return len(data)

    git = Repo(str(repo_path))
    try:
        proto = ReceivableProtocol((body or BytesIO()).read, write)
        handler = UploadPackHandler(
            DictBackend(cast(Any, {"/": git})), ["/"], proto, stateless_rpc=True, advertise_refs=body is None
        )
        if body is None:
            handler.proto.write_pkt_line(f"# service={SERVICE}\n".encode())
            handler.proto.write_pkt_line(None)
        handler.handle()
    except (GitProtocolError, HangupException, ValueError, KeyError) as err:
        out.close()
        raise HubError(400, f"Malformed git request: {err}") from None
    finally:
        git.close()
    out.seek(0)
    return out


def _stream(fh: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := fh.read(64 * 1024):
            yield chunk
    finally:
        fh.close()


def _git_request(request: Request) -> Path:
    request.scope["gmm_hub_git"] = True  # 401s carry WWW-Authenticate
    return repo_from_path(request).path


async def info_refs(request: Request) -> Response:
    repo_path = _git_request(request)
    service = request.query_params.get("service")
    if service == "git-receive-pack":
        raise HubError(403, "git push is not supported by the local Hub: push with huggingface_hub instead.")
    if service != SERVICE:
        raise HubError(403, "Only the smart HTTP protocol (?service=git-upload-pack) is served.")
    out = await run_in_threadpool(_run_upload_pack, repo_path, Path(state(request).root) / "tmp", None)
    media = f"application/x-{SERVICE}-advertisement"
    return StreamingResponse(_stream(out), media_type=media, headers=_NO_CACHE)


async def upload_pack(request: Request) -> Response:
    repo_path = _git_request(request)
    if request.headers.get("content-type") != f"application/x-{SERVICE}-request":
        raise HubError(403, f"Invalid Content-Type: expected application/x-{SERVICE}-request.")
    async with spool_body(request) as fh:
        body = cast(IO[bytes], gzip.GzipFile(fileobj=fh)) if request.headers.get("content-encoding") == "gzip" else fh
        try:
            out = await run_in_threadpool(_run_upload_pack, repo_path, Path(state(request).root) / "tmp", body)
        except (OSError, EOFError) as err:  # a corrupt gzip body
            raise HubError(400, f"Malformed git request body: {err}") from None
    return StreamingResponse(_stream(out), media_type=f"application/x-{SERVICE}-result", headers=_NO_CACHE)


async def receive_pack(request: Request) -> Response:
    _git_request(request)
    raise HubError(403, "git push is not supported by the local Hub: push with huggingface_hub instead.")


routes = [
    Route(f"{prefix}{{namespace}}/{{name}}{suffix}/{path}", endpoint, methods=[method])
    for prefix in ("/{repo_type:repo_type}/", "/")
    for suffix in (".git", "")
    for path, endpoint, method in (
        ("info/refs", info_refs, "GET"),
        (SERVICE, upload_pack, "POST"),
        ("git-receive-pack", receive_pack, "POST"),
    )
]
