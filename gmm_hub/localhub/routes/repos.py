"""Repos: whoami, create, delete, and the repo's info (``model_info`` / ``dataset_info``)."""

from __future__ import annotations

import hashlib

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._auth import caller, check_write, param, repo_from_path, require_user, state
from .._body import expect_dict, expect_str, read_json
from .._errors import HubError
from .._git import REPO_TYPES, HubRepo, check_name

ORDER = 10


def base_url(request: Request) -> str:
    """``http://host:port`` as the client addressed the server."""
    host = request.headers.get("host")
    return f"http://{host}" if host and "\r" not in host and "\n" not in host else state(request).url


def repo_url(request: Request, repo_type: str, repo_id: str) -> str:
    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    return f"{base_url(request)}/{prefix}{repo_id}"


def whoami(request: Request) -> Response:
    user = caller(request)
    if user is None:
        raise HubError(401, "Invalid credentials in Authorization header")
    return JSONResponse(
        {
            "type": "user",
            "id": hashlib.sha1(user.encode()).hexdigest()[:24],
            "name": user,
            "fullname": user,
            "email": None,
            "emailVerified": False,
            "isPro": False,
            "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "local-hub", "role": "write"}},
        }
    )


async def validate_yaml(request: Request) -> Response:
    await read_json(request, default={})
    return JSONResponse({"errors": [], "warnings": []})


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
    check_write(user, namespace)
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
    user = require_user(request, "delete a repo")
    payload = expect_dict(await read_json(request), "the body")
    repo_type, namespace, name = _repo_target(request, payload)
    store = state(request).store
    repo = store.get(repo_type, namespace, name)
    if repo is None or (repo.private and user != namespace):
        raise HubError(404, "Repository not found", "RepoNotFound")
    check_write(user, namespace)
    await run_in_threadpool(store.delete, repo)
    return JSONResponse({})


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
    return {
        "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": commit.id,
        "lastModified": commit.date,
        "createdAt": repo.created_at,
        "private": repo.private,
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "siblings": siblings,
        "usedStorage": sum(e.content_size for e in files.values()),
    }


def repo_info(request: Request) -> Response:
    repo = repo_from_path(request)
    return JSONResponse(info_json(repo, repo.resolve(param(request, "revision", "main"))))


routes = [
    Route("/api/whoami-v2", whoami, methods=["GET"]),
    Route("/api/validate-yaml", validate_yaml, methods=["POST"]),
    Route("/api/repos/create", create_repo, methods=["POST"]),
    Route("/api/repos/delete", delete_repo, methods=["DELETE"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}", repo_info, methods=["GET"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/revision/{revision:path}", repo_info, methods=["GET"]),
]
