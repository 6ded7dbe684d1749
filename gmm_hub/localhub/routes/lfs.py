"""LFS: the batch API with the ``basic`` transfer (upload, verify, download), as huggingface.co serves it.

The client is the specification: ``huggingface_hub/lfs.py`` (``post_lfs_batch_info``,
``lfs_upload``) for uploads and git-lfs (``docs/api/batch.md``) for ``git clone``.

- ``POST /{repo_id}.git/info/lfs/objects/batch`` (``/datasets/...`` for datasets):
  ``{"operation": "upload" | "download", "objects": [{"oid", "size"}], ...}``. The
  caller must be allowed to see the repo, and to upload be signed in: a writer, or anyone
  opening a pull request (the batch does not say which). Each object
  gets its actions, or none when an upload is already stored, or an error (404
  unknown object, 422 invalid oid or size).
- The ``href`` of each action is signed (an HMAC of method, oid, size and expiry,
  valid one hour, with a key kept in ``<root>/lfs/link-key``, so links survive a
  restart and work on every server of the root), as the Hub's S3 links are:
  huggingface_hub sends the ``PUT`` without the token, so the link itself is the
  authorisation.
- ``PUT /api/lfs/objects/{oid}``: the content, streamed into the store
  (:meth:`gmm_hub.localhub._lfs.LfsStore.store_stream`), kept only if its size and
  sha256 match. ``POST /api/lfs/verify/{oid}``: 200 once it is stored.
  ``GET /api/lfs/objects/{oid}``: the content (ranges supported).
- A client with ``hf_xet`` installed uploads through Xet instead (``routes/xet.py``),
  unless ``HF_HUB_DISABLE_XET=1``; both end in this store.
- ``GET /api/{type}s/{id}/lfs-files`` lists the repo's LFS objects (``list_lfs_files``), for
  who may write to it; ``POST .../lfs-files/batch`` (``permanently_delete_lfs_files``) takes
  them from the repo, and from the store once no repo holds them. The history is not rewritten
  (``rewriteHistory``): its pointers stay, and their files answer 404 as missing content.

A commit then refers to the stored content by ``lfsFile`` (``routes/commits.py``);
the tree holds the pointer file, ``.gitattributes`` tracks the path.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._auth import caller, param, repo_from_path, state
from .._body import _chunks, expect_dict, read_json
from .._errors import HubError
from .._lfs import check_oid
from .._stream import FileReply
from .repos import base_url

ORDER = 45
LFS_MEDIA_TYPE = "application/vnd.git-lfs+json"
EXPIRES_IN = 3600
_KEY_FILE = "link-key"  # under <root>/lfs: one key per root, so links survive a restart and serve every process
_keys: dict[str, bytes] = {}
Action = Callable[[str, str, int], dict[str, Any]]


# ----------------------------------------------------------------------------- signed links


def link_key(lfs_root: Path) -> bytes:
    """The root's key for signing links: created once (exclusively, mode 0600), then read back."""
    cached = _keys.get(str(lfs_root))
    if cached is not None:
        return cached
    path = lfs_root / _KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:  # written whole before anyone can read it: write to the open file, then it is complete
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_hex(32).encode())
    for _ in range(100):  # another process may be writing it right now
        key = path.read_bytes()
        if len(key) == 64:
            _keys[str(lfs_root)] = key
            return key
        time.sleep(0.01)
    raise HubError(500, f"The LFS link key {path} is damaged: delete it (open links become invalid).")


def sign(method: str, oid: str, size: int, expires: int, *, key: bytes, repo: str = "") -> str:
    """The signature of a link allowing ``method`` on ``oid`` of ``size`` bytes until ``expires`` (Unix time).

    ``repo`` (``type/namespace/name``) is the repo an upload link uploads to: the upload grants
    the object to that repo (see :meth:`~gmm_hub.localhub._git.HubRepo.grant_lfs`).
    """
    message = f"{method}\n{oid}\n{size}\n{expires}" + (f"\n{repo}" if repo else "")
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def check_signature(method: str, oid: str, query: dict[str, str], *, key: bytes, now: float | None = None) -> int:
    """The ``size`` a signed link allows for ``oid``; 403 when the link is forged, altered or expired."""
    try:
        size, expires, signature = int(query["size"]), int(query["expires"]), query["sig"]
    except (KeyError, ValueError):
        raise HubError(403, "This LFS link is not signed: ask the batch API for one.") from None
    if not hmac.compare_digest(sign(method, oid, size, expires, key=key, repo=query.get("repo", "")), signature):
        raise HubError(403, "This LFS link's signature does not match: ask the batch API for a new one.")
    if (time.time() if now is None else now) > expires:
        raise HubError(403, "This LFS link has expired: ask the batch API for a new one.")
    return size


def signed_href(
    base: str, kind: str, oid: str, size: int, *, key: bytes, now: float | None = None, repo: str = ""
) -> dict[str, Any]:
    """An action (``href``, ``header``, ``expires_in``) for ``kind`` in upload, verify or download.

    An upload link names ``repo``, the repo its content is granted to.
    """
    method, route = {"upload": ("PUT", "objects"), "download": ("GET", "objects"), "verify": ("POST", "verify")}[kind]
    expires = int(time.time() if now is None else now) + EXPIRES_IN
    scope = repo if kind == "upload" else ""
    fields: dict[str, Any] = {"size": size, "expires": expires}
    if scope:
        fields["repo"] = scope
    query = urlencode({**fields, "sig": sign(method, oid, size, expires, key=key, repo=scope)})
    return {"href": f"{base}/api/lfs/{route}/{oid}?{query}", "header": {}, "expires_in": EXPIRES_IN}


# ----------------------------------------------------------------------------- the batch answer


def _object_error(oid: Any, size: Any, code: int, message: str) -> dict[str, Any]:
    return {
        "oid": oid if isinstance(oid, str) else str(oid),
        "size": size if isinstance(size, int) and not isinstance(size, bool) else 0,
        "error": {"code": code, "message": message},
    }


def _is_oid(value: object) -> TypeGuard[str]:
    try:
        check_oid(value)
    except HubError:
        return False
    return True


def batch_reply(payload: Any, *, has: Callable[[str, int], bool], action: Action, max_size: int) -> dict[str, Any]:
    """Answer an LFS batch request (git-lfs batch API, ``basic`` transfer).

    Parameters
    ----------
    payload : object
        The decoded request body.
    has : callable
        ``has(oid, size)``: whether the repo holds that content (stored, and uploaded to it).
    action : callable
        ``action(kind, oid, size)`` -> the action dict for ``upload``, ``verify`` or ``download``.
    max_size : int
        Largest object accepted for upload (the server's body limit): a larger one
        refuses the whole request, so the client fails before uploading anything.

    Returns
    -------
    dict
        ``{"transfer": "basic", "objects": [...], "hash_algo": "sha256"}``.

    Raises
    ------
    HubError
        422 for a request that is not a batch request, 409 for a hash other than sha256,
        413 for an upload larger than ``max_size``.
    """
    payload = expect_dict(payload, "the LFS batch request")
    operation = payload.get("operation")
    if operation not in ("upload", "download"):
        raise HubError(422, f"Expected 'operation' to be 'upload' or 'download', got {operation!r}.")
    if payload.get("hash_algo", "sha256") != "sha256":
        raise HubError(409, f"Unsupported hash algorithm {payload.get('hash_algo')!r}: the local Hub uses sha256.")
    transfers = payload.get("transfers") or ["basic"]
    if not isinstance(transfers, list) or "basic" not in transfers:
        raise HubError(422, f"Unsupported transfers {transfers!r}: the local Hub serves the 'basic' transfer only.")
    objects = payload.get("objects")
    if not isinstance(objects, list):
        raise HubError(422, "Expected 'objects' to be a list of {oid, size}.")
    if operation == "upload":
        sizes = [o["size"] for o in objects if isinstance(o, dict) and isinstance(o.get("size"), int)]
        largest = max(sizes, default=0)
        if largest > max_size:  # as a commit over the body limit: 413, before any byte is sent
            raise HubError(413, f"Object of {largest} bytes exceeds the local Hub's limit of {max_size} bytes.")
    answers = []
    for item in objects:
        oid, size = (item.get("oid"), item.get("size")) if isinstance(item, dict) else (None, None)
        if not _is_oid(oid):
            answers.append(_object_error(oid, size, 422, "Invalid oid: expected 64 lowercase hex digits (sha256)."))
            continue
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            answers.append(_object_error(oid, size, 422, "Invalid size: expected a non-negative integer."))
            continue
        answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        if operation == "upload":
            if not has(oid, size):
                answer["actions"] = {"upload": action("upload", oid, size), "verify": action("verify", oid, size)}
        elif has(oid, size):
            answer["actions"] = {"download": action("download", oid, size)}
        else:
            answers.append(_object_error(oid, size, 404, "Object does not exist on the local Hub."))
            continue
        answers.append(answer)
    return {"transfer": "basic", "objects": answers, "hash_algo": "sha256"}


# ----------------------------------------------------------------------------- endpoints


async def batch(request: Request) -> Response:
    request.scope["gmm_hub_git"] = True  # git-lfs sends credentials only after a 401 with WWW-Authenticate
    repo = repo_from_path(request)  # the caller and the repo's visibility first, the body after
    payload = await read_json(request)
    if isinstance(payload, dict) and payload.get("operation") == "upload" and caller(request) is None:
        # an upload needs a token: the repo's writers', or anyone's who may see it, for a pull
        # request (the batch does not say which; an object is granted only once its content came)
        repo_from_path(request, write=True)
    hub = state(request)
    base, key, scope = base_url(request), link_key(hub.lfs.root), repo.key
    reply = batch_reply(
        payload,
        # an object is this repo's only once uploaded to it: anyone else must upload (so have) it first
        has=lambda oid, size: hub.lfs.has(oid, size) and repo.lfs_granted(oid),
        action=lambda kind, oid, size: signed_href(base, kind, oid, size, key=key, repo=scope),
        max_size=hub.max_body_bytes,
    )
    return JSONResponse(reply, media_type=LFS_MEDIA_TYPE)


def _oid(request: Request) -> str:
    oid = param(request, "oid")
    if not _is_oid(oid):
        raise HubError(404, "Invalid LFS oid: expected 64 lowercase hex digits (sha256).")
    return oid


async def upload(request: Request) -> Response:
    oid = _oid(request)
    size = check_signature("PUT", oid, dict(request.query_params), key=link_key(state(request).lfs.root))
    declared = request.headers.get("content-length")
    if declared is not None and declared != str(size):
        raise HubError(400, f"Expected {size} bytes of LFS content for {oid}, the request declares {declared}.")
    hub = state(request)
    length = None if declared is None else size
    await hub.lfs.store_stream(_chunks(request, length, size), oid=oid, size=size)
    repo = hub.store.by_key(request.query_params.get("repo", ""))
    if repo is not None:  # the signed link named it: the content now belongs to it too
        repo.grant_lfs(oid)
    return Response(status_code=200)


async def verify(request: Request) -> Response:
    oid = _oid(request)
    size = check_signature("POST", oid, dict(request.query_params), key=link_key(state(request).lfs.root))
    body = expect_dict(await read_json(request, default={}), "the LFS verify request")
    if body.get("oid", oid) != oid or body.get("size", size) != size:
        raise HubError(422, "The verify request names another object than its link.")
    if not state(request).lfs.has(oid, size):
        raise HubError(404, f"Object {oid} ({size} bytes) was not uploaded.")
    return JSONResponse({"oid": oid, "size": size}, media_type=LFS_MEDIA_TYPE)


def download(request: Request) -> Response:
    oid = _oid(request)
    size = check_signature("GET", oid, dict(request.query_params), key=link_key(state(request).lfs.root))
    store = state(request).lfs
    if not store.has(oid, size):
        raise HubError(404, "Object does not exist on the local Hub.")
    return FileReply(store.path(oid), media_type="application/octet-stream", headers={"ETag": f'"{oid}"'})


def _lfs_files(repo: Any, store: Any) -> list[dict[str, Any]]:
    """The repo's LFS objects as ``list_lfs_files`` reads them, with a path each appears at (newest first)."""
    granted = repo.granted_lfs()
    names: dict[str, str] = {}
    for path, pointer in repo.lfs_pointers() if granted else ():
        if pointer.oid in granted:
            names.setdefault(pointer.oid, path)
            if len(names) == len(granted):
                break
    out = []
    for oid, when in sorted(granted.items(), key=lambda item: -item[1]):
        if store.has(oid):
            pushed = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(when))
            size = store.path(oid).stat().st_size
            out.append({"fileOid": oid, "oid": oid, "filename": names.get(oid, oid), "pushedAt": pushed, "size": size})
    return out


async def list_lfs_files(request: Request) -> Response:
    repo = repo_from_path(request, write=True)  # storage is managed by the repo's writers, as on the Hub
    return JSONResponse(await run_in_threadpool(_lfs_files, repo, state(request).lfs))


async def delete_lfs_files(request: Request) -> Response:
    repo = repo_from_path(request, write=True)
    deletions = expect_dict(expect_dict(await read_json(request), "the body").get("deletions"), "deletions")
    shas = deletions.get("sha")
    if not isinstance(shas, list) or not all(_is_oid(sha) for sha in shas):
        raise HubError(400, '"deletions.sha" must be a list of sha256 oids (64 lowercase hex digits).')
    hub = state(request)

    def delete() -> None:
        for oid in shas:
            repo.revoke_lfs(oid)
            holders = (hub.store.get(*key) for key in hub.store)
            if not any(other is not None and other.lfs_granted(oid) for other in holders):
                hub.lfs.remove(oid)  # no repo holds it any more

    await run_in_threadpool(delete)
    return JSONResponse({})


routes = [
    *(
        Route(f"{prefix}{{namespace}}/{{name}}.git/info/lfs/objects/batch", batch, methods=["POST"], name=name)
        for prefix, name in (("/", "lfs_batch"), ("/{repo_type:repo_type}/", "lfs_batch_typed"))
    ),
    Route("/api/lfs/objects/{oid}", upload, methods=["PUT"]),
    Route("/api/lfs/objects/{oid}", download, methods=["GET", "HEAD"]),
    Route("/api/lfs/verify/{oid}", verify, methods=["POST"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/lfs-files", list_lfs_files, methods=["GET"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/lfs-files/batch", delete_lfs_files, methods=["POST"]),
]
