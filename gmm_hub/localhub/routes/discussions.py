"""Discussions and pull requests: open, list, details, comment, rename, merge, close and reopen.

``get_repo_discussions``, ``get_discussion_details``, ``comment_discussion``,
``edit_discussion_comment``, ``hide_discussion_comment``, ``rename_discussion``,
``change_discussion_status`` and ``merge_pull_request`` see the discussions that
``create_discussion`` opens and the pull requests that ``create_pull_request`` (empty,
from ``main``, for commits to ``refs/pr/<n>`` to fill) and ``create_commit(create_pr=True)``
open (``gmm_hub/localhub/_pulls.py``). Anyone signed in with a write token who may see the
repo opens discussions and comments; a comment is edited by its author only and hidden by
its author or the repo's writers; the author of a discussion or the repo's writers rename,
close and reopen it; merging is for the writers.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _pulls as pulls
from .._access import write_refusal
from .._auth import check_write, param, repo_from_path, require_user, state, token_of
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
        "isPullRequest": pr.pull_request,
        "author": {"name": pr.author},
        "repo": {"name": repo.repo_id, "type": repo.repo_type},
        "pinned": False,
        "numComments": len(pr.comments),
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
    """The discussion's comments, title and status changes and, for a pull request, its commits, in order.

    Each recorded event follows the commits the pull request had when it was made
    (git dates have whole seconds only, so time alone cannot order a commit among
    the events of its second); records from before events kept that, by time.
    """
    commits: list[dict[str, Any]] = [
        {
            "id": pulls.event_id(pr.ref, info.id),
            "type": "commit",
            "createdAt": info.date,
            "author": {"name": info.author},
            "data": {"subject": info.title, "oid": info.id},
        }
        for info in (reversed(pulls.commits(repo, pr)) if pr.pull_request else ())
    ]
    after = {pr.start: 0, **{c["data"]["oid"]: i + 1 for i, c in enumerate(commits)}}
    recorded = sorted(
        [*pr.events, *({**_status_event(pr, i), "head": c.get("head")} for i, c in enumerate(pr.changes))],
        key=lambda event: event["createdAt"],
    )

    def place(event: dict[str, Any]) -> tuple[int, int]:
        if event.get("head") in after:
            return after[event["head"]], 1
        return sum(c["createdAt"] <= event["createdAt"] for c in commits), 1

    ordered = [((i + 1, 0), c) for i, c in enumerate(commits)] + [(place(e), pulls.public(e)) for e in recorded]
    return [event for _, event in sorted(ordered, key=lambda pair: pair[0])]  # stable: recorded order kept


def _writer(request: Request, repo: HubRepo) -> bool:
    """Whether the caller may write to ``repo`` (moderate its discussions)."""
    return write_refusal(token_of(request), repo.namespace, state(request).orgs) is None


def _participant(request: Request, what: str) -> str:
    """The caller, who must hold a write token (a read token cannot post, as on the Hub)."""
    user = require_user(request, what)
    token = token_of(request)
    if token is not None and not token.can_write:
        raise HubError(403, f"This token of {user!r} is a read token: it cannot {what}. Use a write token.")
    return user


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
    if kind not in (None, "all", "discussion", "pull_request"):
        raise HubError(400, f"Invalid type {kind!r}: expected 'all', 'discussion' or 'pull_request'.")
    wanted = {None: None, "all": None, "discussion": False, "pull_request": True}[kind]
    found = [
        pr
        for pr in pulls.every(repo)
        if wanted in (None, pr.pull_request) and status in (None, "all", pr.status) and author in (None, pr.author)
    ]
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
    details = {**_summary(repo, pr), "events": _events(repo, pr)}
    if pr.pull_request:
        merged = pr.merge_commit is not None
        details["changes"] = {"base": f"refs/heads/{pr.base}", **({"mergeCommitId": pr.merge_commit} if merged else {})}
        details["filesWithConflicts"] = [] if pr.status != "open" else pulls.conflicts(repo, pr)
        if request.query_params.get("diff") in ("1", "true"):  # what get_discussion_details asks for
            details["diff"] = pulls.diff(repo, pr)
    return JSONResponse(details)


def _title(body: dict) -> str:
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise HubError(400, "A discussion needs a title (a non-empty string).")
    return title.strip()[:200]


def _optional_text(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return pulls.check_text(value, key)


async def open_discussion(request: Request) -> Response:
    """``create_discussion`` / ``create_pull_request``: a discussion, or an empty ``refs/pr/<n>`` from ``main``."""
    repo = repo_from_path(request)
    user = _participant(request, "open a discussion")
    body = expect_dict(await read_json(request), "the body")
    title, description = _title(body), _optional_text(body, "description")
    if body.get("pullRequest") is True:
        pr = await run_in_threadpool(pulls.open_pull, repo, "main", user, title, description)
    else:
        pr = await run_in_threadpool(pulls.open_discussion, repo, user, title, description)
    url = f"{repo_url(request, repo.repo_type, repo.repo_id)}/discussions/{pr.num}"
    return JSONResponse({"num": pr.num, "url": url, "pullRequest": pr.pull_request})


async def comment(request: Request) -> Response:
    repo = repo_from_path(request)
    user = _participant(request, "comment")
    body = expect_dict(await read_json(request), "the body")
    text = pulls.check_text(body.get("comment"), "comment")
    event = await run_in_threadpool(pulls.add_comment, repo, _number(request), user, text)
    return JSONResponse({"newMessage": event})


async def edit_comment(request: Request) -> Response:
    repo = repo_from_path(request)
    user = _participant(request, "edit a comment")
    body = expect_dict(await read_json(request), "the body")
    num, comment_id = _number(request), param(request, "comment_id")
    text = pulls.check_text(body.get("content"), "comment")
    event = await run_in_threadpool(pulls.edit_comment, repo, num, comment_id, user, text)
    return JSONResponse({"updatedComment": event})


async def hide_comment(request: Request) -> Response:
    repo = repo_from_path(request)
    user = _participant(request, "hide a comment")
    num, comment_id = _number(request), param(request, "comment_id")
    event = await run_in_threadpool(pulls.hide_comment, repo, num, comment_id, user, _writer(request, repo))
    return JSONResponse({"updatedComment": event})


def _may_manage(request: Request, repo: HubRepo, pr: pulls.PullRequest, user: str) -> None:
    """The discussion's author or the repo's writers (403 for anyone else)."""
    if user != pr.author:
        check_write(request, repo.namespace)


async def rename(request: Request) -> Response:
    repo = repo_from_path(request)
    user = _participant(request, "rename a discussion")
    num = _number(request)
    _may_manage(request, repo, pulls.load(repo, num), user)
    title = _title(expect_dict(await read_json(request), "the body"))
    event = await run_in_threadpool(pulls.rename, repo, num, user, title)
    return JSONResponse({"newTitle": event})


async def merge(request: Request) -> Response:
    repo = repo_from_path(request)
    user = require_user(request, "merge a pull request")
    check_write(request, repo.namespace)
    num = _number(request)
    note = _optional_text(expect_dict(await read_json(request, default={}), "the body"), "comment")
    sha = await run_in_threadpool(pulls.merge, repo, num, user, note)
    return JSONResponse({"mergeCommitId": sha})


async def status(request: Request) -> Response:
    repo = repo_from_path(request)
    user = _participant(request, "change a discussion's status")
    num = _number(request)
    _may_manage(request, repo, pulls.load(repo, num), user)
    body = expect_dict(await read_json(request), "the body")
    new = body.get("status")
    if new not in ("open", "closed"):
        raise HubError(400, f"Invalid status {new!r}: expected 'open' or 'closed'.")
    pr = await run_in_threadpool(pulls.set_status, repo, num, new, user, _optional_text(body, "comment"))
    return JSONResponse({"newStatus": _status_event(pr, len(pr.changes) - 1)})


_REPO = "/api/{repo_type:repo_type}/{namespace}/{name}/discussions"
routes = [
    Route(_REPO, list_discussions, methods=["GET"]),
    Route(_REPO, open_discussion, methods=["POST"]),
    Route(_REPO + "/{num}", discussion_details, methods=["GET"]),
    Route(_REPO + "/{num}/comment", comment, methods=["POST"]),
    Route(_REPO + "/{num}/comment/{comment_id}/edit", edit_comment, methods=["POST"]),
    Route(_REPO + "/{num}/comment/{comment_id}/hide", hide_comment, methods=["POST"]),
    Route(_REPO + "/{num}/title", rename, methods=["POST"]),
    Route(_REPO + "/{num}/merge", merge, methods=["POST"]),
    Route(_REPO + "/{num}/status", status, methods=["POST"]),
]

__all__ = ["ORDER", "routes"]
