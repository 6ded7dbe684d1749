"""Repos: whoami, create, delete, and the repo's info (``model_info`` / ``dataset_info``)."""

from __future__ import annotations

import copy
import hashlib

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


def info_json(repo: HubRepo, sha: str) -> dict:
    """The repo's info at commit ``sha``, as ``/api/models/{repo_id}`` answers."""
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
    }


def repo_info(request: Request) -> Response:
    repo = repo_from_path(request)
    expand = request.query_params.getlist("expand")
    try:
        keys = check_expand(expand, repo.repo_type) if expand else None
    except SelectionError as err:
        raise HubError(400, str(err)) from None
    info = info_json(repo, repo.resolve(param(request, "revision", "main")))
    return JSONResponse(info if keys is None else project(info, keys))


routes = [
    Route("/api/whoami-v2", whoami, methods=["GET"]),
    Route("/api/validate-yaml", validate_yaml, methods=["POST"]),
    Route("/api/repos/create", create_repo, methods=["POST"]),
    Route("/api/repos/delete", delete_repo, methods=["DELETE"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}", repo_info, methods=["GET"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/revision/{revision:path}", repo_info, methods=["GET"]),
]
