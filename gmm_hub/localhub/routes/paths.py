"""``paths-info`` (``get_paths_info``, ``CommitOperationCopy``, ``HfFileSystem.info``) and last commits.

``POST /api/{type}s/{id}/paths-info/{revision}`` takes the client's form body
(``paths=a&paths=b&expand=False``; a JSON body ``{"paths": [...], "expand": bool}``
is accepted too) and answers one tree entry per path that exists -- a file or a
folder, missing paths are left out, as on the Hub. With ``expand`` each entry
carries ``lastCommit`` (``{id, title, date}``: the newest commit on the revision's
first-parent history that changed it), which is also what ``list_repo_tree(expand=True)``
adds (:func:`add_last_commits`). The Hub's ``securityFileStatus`` (its malware and
pickle scans) is not reported: the local Hub scans nothing, and "safe" would be a lie.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._auth import param, repo_from_path, state
from .._body import spool_body
from .._errors import HubError
from .._git import check_path
from .files import tree_entries

ORDER = 41
_TRUE = ("1", "true", "True")


def _changed(before: dict[str, Any], after: dict[str, Any], path: str, folder: bool) -> bool:
    if not folder:
        a, b = before.get(path), after.get(path)
        return (a.oid if a else None) != (b.oid if b else None)
    prefix = f"{path}/"
    old = {p: e.oid for p, e in before.items() if p.startswith(prefix)}
    new = {p: e.oid for p, e in after.items() if p.startswith(prefix)}
    return old != new


def add_last_commits(repo: Any, sha: str, entries: list[dict]) -> list[dict]:
    """Give each tree entry its ``lastCommit`` on the first-parent history of ``sha`` (in place)."""
    pending = {e["path"]: e for e in entries}
    history = repo.history(sha)
    files = repo.files(sha)
    for i, commit in enumerate(history):
        if not pending:
            break
        parent = repo.files(history[i + 1].id) if i + 1 < len(history) else {}
        for path in [p for p, e in pending.items() if _changed(parent, files, p, e["type"] == "directory")]:
            pending.pop(path)["lastCommit"] = {"id": commit.id, "title": commit.title, "date": commit.date}
        files = parent
    return entries


def paths_entries(repo: Any, sha: str, paths: list[str], expand: bool) -> list[dict]:
    """The tree entries (files and folders) of ``paths`` at ``sha``; missing paths are skipped."""
    files = repo.files(sha)
    every = {e["path"]: e for e in tree_entries(files, "", recursive=True)}
    found = [every[p] for p in dict.fromkeys(p.strip("/") for p in paths) if p in every]
    return add_last_commits(repo, sha, found) if expand else found


async def _read_paths(request: Request) -> tuple[list[str], bool]:
    hub = state(request)
    async with spool_body(request) as fh:
        raw = fh.read(hub.max_json_bytes + 1)
    if len(raw) > hub.max_json_bytes:
        raise HubError(413, f"The paths-info body exceeds {hub.max_json_bytes} bytes: ask for fewer paths at once.")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            payload = json.loads(raw or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise HubError(400, f"Malformed JSON body: {err}.") from None
        if not isinstance(payload, dict):
            raise HubError(400, "The paths-info body must be an object with 'paths'.")
        paths, expand = payload.get("paths", []), payload.get("expand") is True
    else:
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        paths, expand = form.get("paths", []), form.get("expand", ["false"])[-1] in _TRUE
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise HubError(400, "'paths' must be a list of file or folder paths.")
    for path in paths:
        check_path(path.strip("/"))
    return paths, expand


async def paths_info(request: Request) -> Response:
    repo = repo_from_path(request)
    revision = param(request, "revision")
    paths, expand = await _read_paths(request)
    sha = await run_in_threadpool(repo.resolve, revision)
    return JSONResponse(await run_in_threadpool(paths_entries, repo, sha, paths, expand))


routes = [
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/paths-info/{revision:path}", paths_info, methods=["POST"]),
]

__all__ = ["ORDER", "add_last_commits", "paths_entries", "routes"]
