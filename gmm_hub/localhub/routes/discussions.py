"""Pull requests through the discussions API: open, list, details, merge, close and reopen.

``get_repo_discussions``, ``get_discussion_details``, ``merge_pull_request`` and
``change_discussion_status`` see the pull requests that ``create_commit(create_pr=True)``
opens (``gmm_hub/localhub/_pulls.py``); ``create_pull_request`` opens an empty one from
``main``, which commits to ``refs/pr/<n>`` then fill. Discussions without code and
comments stay 501 (``routes/not_implemented.py``, later in the table).
Merging is for the repo's writers; closing and reopening for them and the author.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _pulls as pulls
from .._auth import check_write, param, repo_from_path, require_user
from .._body import expect_dict, read_json
from .._errors import HubError
from .._git import HubRepo
from .repos import repo_url

ORDER = 35
PAGE = 50  # discussions per page, as the Hub's


def _summary(repo: HubRepo, pr: pulls.PullRequest) -> dict[str, Any]:
    return {
        "num": pr.num,
        "title": pr.title,
        "status": pr.status,
        "createdAt": pr.created_at,
        "isPullRequest": True,
        "author": {"name": pr.author},
        "repo": {"name": repo.repo_id, "type": repo.repo_type},
        "pinned": False,
        "numComments": 0,
    }


def _status_event(pr: pulls.PullRequest, i: int) -> dict[str, Any]:
    change = pr.changes[i]
    return {
        "id": pulls.event_id(pr.ref, str(i), change["status"]),
        "type": "status-change",
        "createdAt": change["createdAt"],
        "author": {"name": change["author"]},
        "data": {"status": change["status"]},
    }


def _events(repo: HubRepo, pr: pulls.PullRequest) -> list[dict[str, Any]]:
    """The pull request's commits since its start, then its status changes, each in order."""
    commits = [
        {
            "id": pulls.event_id(pr.ref, info.id),
            "type": "commit",
            "createdAt": info.date,
            "author": {"name": info.author},
            "data": {"subject": info.title, "oid": info.id},
        }
        for info in reversed(pulls.commits(repo, pr))
    ]
    return commits + [_status_event(pr, i) for i in range(len(pr.changes))]


def _number(request: Request) -> int:
    text = param(request, "num")
    if not text.isdigit() or not 0 < int(text) < 10**9:
        raise HubError(400, f"Invalid discussion number {text!r}: expected a positive integer.")
    return int(text)


def list_discussions(request: Request) -> Response:
    repo = repo_from_path(request)
    kind, status, author = (request.query_params.get(k) for k in ("type", "status", "author"))
    page = request.query_params.get("p", "0")
    if not page.isdigit():
        raise HubError(400, f"Invalid page {page!r}: expected a non-negative integer.")
    found = [] if kind == "discussion" else pulls.every(repo)  # there are no plain discussions
    found = [pr for pr in found if status in (None, "all", pr.status) and author in (None, pr.author)]
    start = int(page) * PAGE
    return JSONResponse(
        {
            "discussions": [_summary(repo, pr) for pr in found[start : start + PAGE]],
            "count": len(found),
            "start": start,
            "numClosedDiscussions": sum(pr.status != "open" for pr in found),
        }
    )


def discussion_details(request: Request) -> Response:
    repo = repo_from_path(request)
    pr = pulls.load(repo, _number(request))
    merged = pr.merge_commit is not None
    return JSONResponse(
        {
            **_summary(repo, pr),
            "events": _events(repo, pr),
            "changes": {"base": f"refs/heads/{pr.base}", **({"mergeCommitId": pr.merge_commit} if merged else {})},
            "filesWithConflicts": [] if pr.status != "open" else pulls.conflicts(repo, pr),
        }
    )


async def open_pull_request(request: Request) -> Response:
    """``create_pull_request``: an empty ``refs/pr/<n>`` from ``main``, for commits to come (plain discussions: 501)."""
    repo = repo_from_path(request)
    user = require_user(request, "open a pull request")
    body = expect_dict(await read_json(request), "the body")
    if body.get("pullRequest") is not True:
        raise HubError(501, "Discussions without code: not implemented by the local Hub (pull requests are).")
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise HubError(400, "A pull request needs a title (a non-empty string).")
    pr = await run_in_threadpool(pulls.open_pull, repo, "main", user, title.strip()[:200])
    url = f"{repo_url(request, repo.repo_type, repo.repo_id)}/discussions/{pr.num}"
    return JSONResponse({"num": pr.num, "url": url, "pullRequest": True})


async def merge(request: Request) -> Response:
    repo = repo_from_path(request)
    user = require_user(request, "merge a pull request")
    check_write(request, repo.namespace)
    pr = pulls.load(repo, _number(request))
    sha = await run_in_threadpool(pulls.merge, repo, pr, user)
    return JSONResponse({"mergeCommitId": sha})


async def status(request: Request) -> Response:
    repo = repo_from_path(request)
    user = require_user(request, "change a pull request's status")
    pr = pulls.load(repo, _number(request))
    if user != pr.author:
        check_write(request, repo.namespace)
    body = expect_dict(await read_json(request), "the body")
    new = body.get("status")
    if new not in ("open", "closed"):
        raise HubError(400, f"Invalid status {new!r}: expected 'open' or 'closed'.")
    await run_in_threadpool(pulls.set_status, repo, pr, new, user)
    return JSONResponse({"newStatus": _status_event(pr, len(pr.changes) - 1)})


_REPO = "/api/{repo_type:repo_type}/{namespace}/{name}/discussions"
routes = [
    Route(_REPO, list_discussions, methods=["GET"]),
    Route(_REPO, open_pull_request, methods=["POST"]),
    Route(_REPO + "/{num}", discussion_details, methods=["GET"]),
    Route(_REPO + "/{num}/merge", merge, methods=["POST"]),
    Route(_REPO + "/{num}/status", status, methods=["POST"]),
]

__all__ = ["ORDER", "routes"]
