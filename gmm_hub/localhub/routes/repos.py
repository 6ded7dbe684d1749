"""Repos: whoami, create, delete, and the repo's info (``model_info`` / ``dataset_info``)."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import struct
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .._access import whoami_payload
from .._auth import caller, check_write, may_see, param, repo_from_path, require_user, state, token_of
from .._body import expect_dict, expect_str, read_json
from .._errors import HubError
from .._git import REPO_TYPES, Entry, HubRepo, Memo, check_name
from .._metadata import card_fields, validation_report
from .._select import SelectionError, check_expand, project

ORDER = 10


def base_url(request: Request) -> str:
    """``http://host:port`` as the client addressed the server."""
    host = request.headers.get("host")
    return f"http://{host}" if host and "\r" not in host and "\n" not in host else state(request).url


def repo_url(request: Request, repo_type: str, repo_id: str) -> str:
    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    return f"{base_url(request)}/{prefix}{repo_id}"


def whoami(request: Request) -> Response:
    token = token_of(request)
    if token is None:
        raise HubError(401, "Invalid credentials in Authorization header")
    return JSONResponse(whoami_payload(token, state(request).orgs))


async def validate_yaml(request: Request) -> Response:
    """Validate a README's metadata as the Hub does (:func:`~gmm_hub.localhub._metadata.validation_report`).

    400 with ``{"errors": [{"message": ...}], "warnings": [...]}``, or, for a client
    asking ``Accept: text/plain`` (``ModelCard.validate``), one ``- Error: ...`` line per error.
    """
    payload = expect_dict(await read_json(request), "the body")
    content = expect_str(payload, "content", "the body") or ""
    repo_type = payload.get("repoType") or "model"
    if repo_type not in ("model", "dataset", "space"):
        raise HubError(400, '"repoType" must be one of [model, dataset, space]')
    errors, warnings = validation_report(content, repo_type)
    status = 400 if errors else 200
    if "text/plain" in request.headers.get("accept", ""):
        return PlainTextResponse("\n".join(f"- Error: {e}" for e in errors), status)
    report = {"errors": [{"message": e} for e in errors], "warnings": [{"message": w} for w in warnings]}
    return JSONResponse(report, status)


def _repo_target(request: Request, payload: dict) -> tuple[str, str, str]:
    repo_type = payload.get("type") or "model"
    if repo_type not in REPO_TYPES:
        raise HubError(400, f"Unsupported repo type {repo_type!r}: expected one of {REPO_TYPES}.")
    name = check_name(expect_str(payload, "name", "the body"))
    namespace = payload.get("organization") or caller(request)
    if namespace is None:
        raise HubError(401, "You must be authenticated to create or delete a repo.")
    return repo_type, check_name(namespace, "namespace"), name


async def create_repo(request: Request) -> Response:
    user = require_user(request, "create a repo")
    payload = expect_dict(await read_json(request), "the body")
    repo_type, namespace, name = _repo_target(request, payload)
    check_write(request, namespace)
    private = payload.get("private") is True or payload.get("visibility") == "private"
    url = repo_url(request, repo_type, f"{namespace}/{name}")
    try:
        await run_in_threadpool(state(request).store.create, repo_type, namespace, name, private=private, author=user)
    except HubError as err:
        if err.status == 409:
            return JSONResponse({"error": err.message, "url": url}, 409)
        raise
    return JSONResponse({"url": url, "name": f"{namespace}/{name}", "id": f"{namespace}/{name}"})


async def delete_repo(request: Request) -> Response:
    require_user(request, "delete a repo")
    payload = expect_dict(await read_json(request), "the body")
    repo_type, namespace, name = _repo_target(request, payload)
    store = state(request).store
    repo = store.get(repo_type, namespace, name)
    if repo is None or not may_see(request, repo):
        raise HubError(404, "Repository not found", "RepoNotFound")
    check_write(request, repo.namespace)
    await run_in_threadpool(store.delete, repo)
    return JSONResponse({})


_CARDS = Memo(1_000)  # (README blob id, repo type) -> card_fields: a blob id names one content


def _card_fields(repo: HubRepo, readme: Entry | None) -> dict:
    if readme is None or readme.lfs:
        return card_fields(None, repo.repo_type)
    key = (readme.oid, repo.repo_type)
    fields = _CARDS.get(key)
    if fields is None:
        fields = card_fields(repo.read_blob(readme.oid).decode("utf-8", "replace"), repo.repo_type)
        _CARDS.put(key, fields)
    return copy.deepcopy(fields)  # each answer its own: nothing downstream may change the cached one


_TENSORS = Memo(1_000)  # blob id or LFS oid -> {dtype: parameters} of a safetensors file (None: unreadable)
#: The largest safetensors header read (huggingface_hub's own limit, SAFETENSORS_MAX_HEADER_LENGTH).
MAX_SAFETENSORS_HEADER = 25_000_000


def _tensor_counts(repo: HubRepo, entry: Entry, lfs: Any) -> dict[str, int] | None:
    """Parameters per dtype of one ``.safetensors`` file, from its header (None if it is not one)."""
    if entry.lfs and (lfs is None or not lfs.has(entry.lfs.oid, entry.lfs.size) or not repo.lfs_granted(entry.lfs.oid)):
        return None  # content not uploaded to this repo: nothing to read (not even from the cache)
    key = entry.lfs.oid if entry.lfs else entry.oid
    cached = _TENSORS.get(key)
    if cached is not None:
        return cached or None
    counts: dict[str, int] = {}
    try:
        if entry.lfs:
            with open(lfs.path(entry.lfs.oid), "rb") as handle:
                head = handle.read(8 + MAX_SAFETENSORS_HEADER)
        else:
            head = repo.read_blob(entry.oid)
        (length,) = struct.unpack("<Q", head[:8])
        if not 2 <= length <= MAX_SAFETENSORS_HEADER or len(head) < 8 + length:
            raise ValueError("bad header length")
        header = json.loads(head[8 : 8 + length])
        for name, tensor in header.items():
            if name != "__metadata__":
                dtype, shape = str(tensor["dtype"]), [int(n) for n in tensor["shape"]]
                counts[dtype] = counts.get(dtype, 0) + math.prod(shape)
    except (ValueError, TypeError, KeyError, AttributeError, struct.error, OSError):
        counts = {}  # not a safetensors file after all: no parameters to report
    _TENSORS.put(key, counts)
    return counts or None


def _safetensors(repo: HubRepo, files: dict[str, Entry], lfs: Any) -> dict[str, Any]:
    """``{"safetensors": {"parameters": {dtype: n}, "total": n}}`` over the top-level safetensors files, or ``{}``.

    The top level holds the weights (``model.safetensors``, or the shards of
    ``model.safetensors.index.json``), the files ``get_safetensors_metadata``
    counts; a sub-folder's (an adapter, a checkpoint) are other models.
    """
    parameters: dict[str, int] = {}
    for entry in files.values():
        if entry.path.endswith(".safetensors") and "/" not in entry.path:
            for dtype, n in (_tensor_counts(repo, entry, lfs) or {}).items():
                parameters[dtype] = parameters.get(dtype, 0) + n
    return {"safetensors": {"parameters": parameters, "total": sum(parameters.values())}} if parameters else {}


def info_json(repo: HubRepo, sha: str, lfs: Any = None) -> dict:
    """The repo's info at commit ``sha``, as ``/api/models/{repo_id}`` answers.

    ``lfs`` (the server's :class:`~gmm_hub.localhub._lfs.LfsStore`) lets the
    headers of ``.safetensors`` files stored in LFS be read for ``safetensors``
    (parameters per dtype, as the Hub reports them).
    """
    commit = repo.commit_info(sha)
    files = repo.files(sha)
    siblings = []
    for entry in files.values():
        sibling: dict = {"rfilename": entry.path, "size": entry.content_size, "blobId": entry.oid}
        if entry.lfs:
            sibling["lfs"] = {"sha256": entry.lfs.oid, "size": entry.lfs.size, "pointerSize": entry.size}
        siblings.append(sibling)
    gated = repo.setting("gated", "false")
    return {
        "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": commit.id,
        "lastModified": commit.date,
        "createdAt": repo.created_at,
        "private": repo.private,
        "gated": False if gated == "false" else gated,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        **_card_fields(repo, files.get("README.md")),
        "siblings": siblings,
        "usedStorage": sum(e.content_size for e in files.values()),
        **(_safetensors(repo, files, lfs) if repo.repo_type == "model" else {}),
    }


def repo_info(request: Request) -> Response:
    repo = repo_from_path(request)
    expand = request.query_params.getlist("expand")
    try:
        keys = check_expand(expand, repo.repo_type) if expand else None
    except SelectionError as err:
        raise HubError(400, str(err)) from None
    info = info_json(repo, repo.resolve(param(request, "revision", "main")), state(request).lfs)
    if request.query_params.get("securityStatus", "").lower() in ("1", "true"):
        info["securityRepoStatus"] = {"scansDone": False, "filesWithIssues": []}  # the local Hub scans nothing
    return JSONResponse(info if keys is None else project(info, keys))


routes = [
    Route("/api/whoami-v2", whoami, methods=["GET"]),
    Route("/api/validate-yaml", validate_yaml, methods=["POST"]),
    Route("/api/repos/create", create_repo, methods=["POST"]),
    Route("/api/repos/delete", delete_repo, methods=["DELETE"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}", repo_info, methods=["GET"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/revision/{revision:path}", repo_info, methods=["GET"]),
]
