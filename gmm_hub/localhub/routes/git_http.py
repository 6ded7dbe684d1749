"""git smart HTTP: ``git clone http://HOST:PORT/USER/REPO`` (and ``git fetch --tags``), as on the Hub.

Served through dulwich's :class:`~dulwich.server.UploadPackHandler` in stateless-RPC
mode, as ``dulwich/web.py`` does, over the request and reply streams: the request
body is spooled to disk first (it was checked after the route and the caller), the
pack is written to a spooled temporary file in a worker thread, then streamed back.
Private repos need the token as on the Hub: HTTP basic auth, any user name, the token
as password; an anonymous request gets 401 with ``WWW-Authenticate`` so git asks for
it. ``git push`` (``git-receive-pack``) works with the owner's token: the API reads the
same git repository, so it sees the pushed commits at once (LFS content pushed by
git-lfs needs the LFS batch routes).
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
from dulwich.server import DictBackend, ReceivePackHandler, UploadPackHandler
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .._auth import caller, repo_from_path, state
from .._body import spool_body
from .._errors import HubError

ORDER = 50
SERVICE = "git-upload-pack"
PUSH = "git-receive-pack"
_NO_CACHE = {"Cache-Control": "no-cache, max-age=0, must-revalidate", "Expires": "Fri, 01 Jan 1980 00:00:00 GMT"}


def _run_service(service: str, repo_path: Path, tmp: Path, body: IO[bytes] | None) -> IO[bytes]:
    """Run ``git-upload-pack`` or ``git-receive-pack`` (stateless RPC); ``body=None`` advertises the refs."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b", dir=str(tmp))  # noqa: SIM115 (returned open)

    def write(data: bytes) -> int:
        out.write(data)
        return len(data)

    handler_cls = UploadPackHandler if service == SERVICE else ReceivePackHandler
    git = Repo(str(repo_path))
    try:
        proto = ReceivableProtocol((body or BytesIO()).read, write)
        handler = handler_cls(
            DictBackend(cast(Any, {"/": git})), ["/"], proto, stateless_rpc=True, advertise_refs=body is None
        )
        if body is None:
            handler.proto.write_pkt_line(f"# service={service}\n".encode())
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


def _git_request(request: Request, service: str | None) -> Path:
    request.scope["gmm_hub_git"] = True  # 401s carry WWW-Authenticate
    if service not in (SERVICE, PUSH):
        raise HubError(403, f"Only the smart HTTP protocol (?service={SERVICE} or {PUSH}) is served.")
    if service == PUSH and caller(request) is None:  # git sends credentials only when challenged
        raise HubError(401, "A push needs a write token.", headers={"WWW-Authenticate": 'Basic realm="local Hub"'})
    repo = repo_from_path(request, write=service == PUSH)  # a push needs the owner's token
    return repo.path


async def info_refs(request: Request) -> Response:
    service = request.query_params.get("service")
    repo_path = _git_request(request, service)
    assert service is not None
    out = await run_in_threadpool(_run_service, service, repo_path, Path(state(request).root) / "tmp", None)
    media = f"application/x-{service}-advertisement"
    return StreamingResponse(_stream(out), media_type=media, headers=_NO_CACHE)


async def rpc(request: Request) -> Response:
    service = request.url.path.rsplit("/", 1)[1]
    repo_path = _git_request(request, service)
    if request.headers.get("content-type") != f"application/x-{service}-request":
        raise HubError(403, f"Invalid Content-Type: expected application/x-{service}-request.")
    async with spool_body(request) as fh:
        body = cast(IO[bytes], gzip.GzipFile(fileobj=fh)) if request.headers.get("content-encoding") == "gzip" else fh
        try:
            out = await run_in_threadpool(_run_service, service, repo_path, Path(state(request).root) / "tmp", body)
        except (OSError, EOFError) as err:  # a corrupt gzip body
            raise HubError(400, f"Malformed git request body: {err}") from None
    return StreamingResponse(_stream(out), media_type=f"application/x-{service}-result", headers=_NO_CACHE)


routes = [
    Route(f"{prefix}{{namespace}}/{{name}}{suffix}/{path}", endpoint, methods=[method])
    for prefix in ("/{repo_type:repo_type}/", "/")
    for suffix in (".git", "")
    for path, endpoint, method in (("info/refs", info_refs, "GET"), (SERVICE, rpc, "POST"), (PUSH, rpc, "POST"))
]
