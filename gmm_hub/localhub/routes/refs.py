"""Refs: list branches and tags, create and delete them (a tag with a message is an annotated tag),
and squash a branch's history into one commit (``super_squash_history``; tags keep theirs)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._auth import caller, param, repo_from_path
from .._body import expect_dict, expect_str, read_json
from .._errors import HubError
from .._names import InvalidRefName, check_ref_name

ORDER = 30


def list_refs(request: Request) -> Response:
    """Branches, tags and (with ``include_prs=1``, as the client asks) pull requests."""
    repo = repo_from_path(request)

    def fmt(refs: dict[str, str], prefix: str) -> list[dict]:
        return [{"name": n, "ref": f"{prefix}{n}", "targetCommit": sha} for n, sha in refs.items()]

    refs = {"branches": fmt(repo.branches(), "refs/heads/"), "converts": [], "tags": fmt(repo.tags(), "refs/tags/")}
    if request.query_params.get("include_prs", "0") in ("1", "true", "True"):
        refs["pullRequests"] = [{"name": r, "ref": r, "targetCommit": sha} for r, sha in repo.pull_requests().items()]
    return JSONResponse(refs)


def _new_ref_name(name: str, kind: str) -> str:
    """``name`` if git accepts it as a new branch or tag name, else 400 saying why."""
    try:
        return check_ref_name(name, kind)
    except InvalidRefName as err:
        raise HubError(400, str(err)) from None


async def tag(request: Request) -> Response:
    repo = repo_from_path(request, write=True)
    revision = param(request, "revision")
    if request.method == "DELETE":
        await run_in_threadpool(repo.delete_tag, revision)
        return JSONResponse({})
    payload = expect_dict(await read_json(request), "the body")
    name = _new_ref_name(expect_str(payload, "tag", "the body") or "", "tag")
    message = expect_str(payload, "message", "the body", optional=True)
    target = await run_in_threadpool(repo.resolve, revision)
    await run_in_threadpool(repo.create_tag, name, target, message=message, tagger=caller(request) or repo.namespace)
    return JSONResponse({})


async def branch(request: Request) -> Response:
    repo = repo_from_path(request, write=True)
    name = param(request, "revision")
    if request.method == "DELETE":
        await run_in_threadpool(repo.delete_branch, name)
        return JSONResponse({})
    payload = expect_dict(await read_json(request, default={}), "the body")
    if payload.get("emptyBranch"):
        raise HubError(400, "Empty branches are not supported by the local Hub.")
    _new_ref_name(name, "branch")
    start = expect_str(payload, "startingPoint", "the body", optional=True) or "main"
    target = await run_in_threadpool(repo.resolve, start)
    await run_in_threadpool(repo.create_branch, name, target)
    return JSONResponse({})


async def super_squash(request: Request) -> Response:
    repo = repo_from_path(request, write=True)
    branch_name = param(request, "revision")
    payload = expect_dict(await read_json(request, default={}), "the body")
    title = expect_str(payload, "message", "the body", optional=True) or f"Super-squash branch '{branch_name}'"
    sha = await run_in_threadpool(repo.squash, branch_name, title=title, author=caller(request) or repo.namespace)
    return JSONResponse({"commitOid": sha})


routes = [
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/refs", list_refs, methods=["GET"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/tag/{revision:path}", tag, methods=["POST", "DELETE"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/branch/{revision:path}", branch, methods=["POST", "DELETE"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/super-squash/{revision:path}", super_squash, methods=["POST"]),
]
