"""Xet uploads: what huggingface_hub does with every LFS file when ``hf_xet`` is installed.

huggingface_hub 1.x and 2.x upload through Xet whenever ``hf_xet`` is installed
(the default on x86-64 and arm64) and ``HF_HUB_DISABLE_XET`` is unset, without
asking the server, so a Hub that only speaks LFS fails those uploads. The local
Hub speaks the upload half of the Xet protocol (huggingface/xet-core ``spec/``):

- ``GET /api/{type}s/{id}/xet-{read|write}-token/{revision}`` gives a token for
  the CAS below (``accessToken``, ``exp``, ``casUrl``, in the body and in the
  ``X-Xet-*`` headers), to whoever may read (write) the repo, or open a pull request on it
  (``?create_pr=1``, anyone signed in who may see it) or add to their own. The token is an
  HMAC, with the root's link key (:func:`~gmm_hub.localhub.routes.lfs.link_key`),
  of its scope, repo and expiry (one hour), so it is never a Hub token.
- ``POST /xet/v1/xorbs/default/{hash}`` stores a xorb once its content has the
  hash it names (:func:`~gmm_hub.localhub._xet.xorb_hash`), so nobody can plant
  content under another xorb's name; ``was_inserted`` is false for one already stored.
- ``POST /xet/v1/shards`` rebuilds each file the shard lists from the stored
  xorbs and puts it in the LFS store, where its sha256 must be the one the shard
  declares. The commit that follows names the file by that sha256, as after an
  LFS upload (``routes/commits.py``), and downloads go through ``resolve`` as usual.
- ``GET /xet/v1/chunks/{prefix}/{hash}`` (global deduplication) answers 404: the
  local Hub keeps no chunk index, so the client uploads what it has. Newer routes
  the client tries first (``xorb-grants``, ``v2/shards``) are 404 too, and it falls
  back to these; the transfer telemetry it posts to ``/v1/telemetry`` is dropped (204).
- Bodies are spooled to disk and processed two at a time (decompressing and
  rebuilding files is CPU-bound), so concurrent uploads wait on disk, not in memory.
  Xorbs are kept after their files are rebuilt: the client remembers what it
  uploaded and may refer to it again in a later shard.

Downloads never use Xet: ``resolve`` sends no ``X-Xet-Hash``, so the client reads
files over plain HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._auth import caller, param, repo_from_path, state
from .._body import _check_size, spool_body
from .._errors import HubError
from .._xet import MAX_XORB_BYTES, XetFile, XetFormatError, hash_bytes, hash_hex, shard_files, xorb_chunks, xorb_hash
from .commits import may_commit_to_pull_request
from .lfs import EXPIRES_IN, link_key
from .repos import base_url
from .settings import check_gate

ORDER = 46
CAS_PREFIX = "/xet"
#: Largest shard accepted: its file and xorb sections are 48 bytes per entry.
MAX_SHARD_BYTES = 64 << 20
_TOKEN_PREFIX = "xet_"
_PROCESSING = threading.BoundedSemaphore(2)  # CPU-bound: bodies wait on disk, at most two in memory


# ----------------------------------------------------------------------------- tokens


def _sign(payload: bytes, key: bytes) -> str:
    return hmac.new(key, b"xet-token\n" + payload, hashlib.sha256).hexdigest()


def issue_token(scope: str, repo: str, expires: int, *, key: bytes) -> str:
    """A CAS token for ``scope`` (``read``/``write``) on ``repo`` (``type/namespace/name``) until ``expires``."""
    payload = json.dumps({"scope": scope, "repo": repo, "exp": expires}, separators=(",", ":")).encode()
    return f"{_TOKEN_PREFIX}{base64.urlsafe_b64encode(payload).decode()}.{_sign(payload, key)}"


def check_token(request: Request, *, write: bool) -> dict:
    """The claims of the request's CAS token; 401 if missing, forged or expired, 403 if read-only for a write."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    body, _, signature = token.removeprefix(_TOKEN_PREFIX).rpartition(".")
    try:
        payload = base64.urlsafe_b64decode(body.encode())
        claims = json.loads(payload)
        valid = token.startswith(_TOKEN_PREFIX) and hmac.compare_digest(
            _sign(payload, link_key(state(request).lfs.root)), signature
        )
    except (ValueError, TypeError):
        valid = False
    if not valid or not isinstance(claims, dict):
        raise HubError(401, "A Xet CAS token is required: ask /api/{type}s/{id}/xet-write-token/{revision} for one.")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        raise HubError(401, "This Xet CAS token has expired: ask for a new one.")
    if write and claims.get("scope") != "write":
        raise HubError(403, "This Xet CAS token is read-only: ask xet-write-token for one that may upload.")
    return claims


def _token_route(scope: str):
    def token(request: Request) -> Response:
        # a writer is in the namespace, past any gate; a pull request's files may come from anyone signed in
        opening = request.query_params.get("create_pr") == "1" and caller(request) is not None
        for_pr = scope == "write" and (opening or may_commit_to_pull_request(request))
        repo = repo_from_path(request, write=scope == "write" and not for_pr)
        if scope == "read":
            check_gate(request, repo)
        expires = int(time.time()) + EXPIRES_IN
        cas_url = base_url(request) + CAS_PREFIX
        access = issue_token(scope, repo.key, expires, key=link_key(state(request).lfs.root))
        headers = {"X-Xet-Cas-Url": cas_url, "X-Xet-Access-Token": access, "X-Xet-Token-Expiration": str(expires)}
        return JSONResponse({"accessToken": access, "exp": expires, "casUrl": cas_url}, headers=headers)

    return token


# ----------------------------------------------------------------------------- storage


def _xorb_dir(request: Request) -> Path:
    path = Path(state(request).root) / "xet" / "xorbs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _xorb_hash_param(request: Request) -> str:
    text = param(request, "hash")
    try:
        hash_bytes(text)
    except XetFormatError as err:
        raise HubError(400, str(err)) from None
    return text


async def _process(request: Request, limit: int, work: Callable[[bytes], Any]) -> Any:
    """``work(body)`` in a worker thread, the body spooled to disk first (413 beyond ``limit`` bytes)."""
    _check_size(request, limit)
    async with spool_body(request) as handle:

        def run() -> Any:
            with _PROCESSING:
                data = handle.read(limit + 1)
                if len(data) > limit:
                    raise HubError(413, f"Request body exceeds the limit of {limit} bytes.")
                return work(data)

        return await run_in_threadpool(run)


def _store_xorb(directory: Path, name: str, data: bytes) -> bool:
    """Check ``data`` is the xorb ``name`` and keep it (written whole, then renamed); False if already kept."""
    target = directory / name
    if target.exists():
        return False
    try:
        chunks = xorb_chunks(data)
    except XetFormatError as err:
        raise HubError(400, f"Malformed xorb {name}: {err}") from None
    if not chunks or hash_hex(xorb_hash(chunks)) != name:
        raise HubError(400, f"The xorb's content does not have the hash it was uploaded under ({name}).")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)
    return True


async def upload_xorb(request: Request) -> Response:
    check_token(request, write=True)
    if param(request, "prefix") != "default":
        raise HubError(400, "Xorbs are uploaded under the prefix 'default'.")
    name, directory = _xorb_hash_param(request), _xorb_dir(request)
    inserted = await _process(request, MAX_XORB_BYTES, lambda data: _store_xorb(directory, name, data))
    return JSONResponse({"was_inserted": inserted})


def _file_bytes(directory: Path, file: XetFile, unpacked: dict[str, list[bytes]]) -> Iterator[bytes]:
    """The bytes of ``file``, segment by segment, from the stored xorbs.

    ``unpacked`` keeps the last xorb unpacked for the shard's next file, so many small files
    cut from one xorb unpack it once, not once each.
    """
    for segment in file.segments:
        chunks = unpacked.get(segment.xorb)
        if chunks is None:
            unpacked.clear()  # one xorb in memory at a time
            try:
                chunks = unpacked[segment.xorb] = xorb_chunks((directory / segment.xorb).read_bytes())
            except FileNotFoundError:
                raise HubError(400, f"The shard refers to xorb {segment.xorb}, which was not uploaded.") from None
        if segment.end > len(chunks):
            raise HubError(
                400, f"The shard asks for chunks up to {segment.end} of xorb {segment.xorb}, which has {len(chunks)}."
            )
        yield from chunks[segment.start : segment.end]


def _store_files(directory: Path, lfs: Any, data: bytes, repo: Any) -> None:
    """Rebuild each file of the shard into the LFS store (400 if a xorb is missing or a sha256 differs).

    Each file is granted to ``repo``, the repo of the token: the xorbs it is made of name
    its content by hashes only its content gives.
    """
    try:
        files = shard_files(data)
    except XetFormatError as err:
        raise HubError(400, f"Malformed shard: {err}") from None
    unpacked: dict[str, list[bytes]] = {}
    for file in files:
        if lfs.has(file.sha256, file.size):
            if repo is not None:
                repo.grant_lfs(file.sha256)
            continue  # the same content uploaded before
        try:
            lfs.store_iter(_file_bytes(directory, file, unpacked), oid=file.sha256, size=file.size)
        except HubError as err:
            if not err.message.startswith("LFS content"):
                raise  # a xorb or chunk range that is not there
            raise HubError(400, f"A file's bytes do not match the shard, so nothing was kept: {err.message}") from None
        if repo is not None:
            repo.grant_lfs(file.sha256)


async def upload_shard(request: Request) -> Response:
    claims = check_token(request, write=True)
    hub = state(request)
    repo = hub.store.by_key(str(claims.get("repo", "")))
    directory = _xorb_dir(request)
    await _process(request, MAX_SHARD_BYTES, lambda data: _store_files(directory, hub.lfs, data, repo))
    return JSONResponse({"result": 1})


def query_chunk(request: Request) -> Response:
    check_token(request, write=False)
    _xorb_hash_param(request)
    raise HubError(404, "The local Hub keeps no global deduplication index: upload the chunk.")


def telemetry(request: Request) -> Response:
    return Response(status_code=204)


routes = [
    *(
        Route(
            f"/api/{{repo_type:repo_type}}/{{namespace}}/{{name}}/xet-{scope}-token/{{revision:path}}",
            _token_route(scope),
        )
        for scope in ("read", "write")
    ),
    Route(f"{CAS_PREFIX}/v1/xorbs/{{prefix}}/{{hash}}", upload_xorb, methods=["POST"]),
    Route(f"{CAS_PREFIX}/v1/shards", upload_shard, methods=["POST"]),
    Route(f"{CAS_PREFIX}/v1/chunks/{{prefix}}/{{hash}}", query_chunk, methods=["GET"]),
    Route("/v1/telemetry", telemetry, methods=["POST"]),
]

__all__ = ["ORDER", "check_token", "issue_token", "routes"]
