"""Listing: ``/api/models`` and ``/api/datasets`` (``list_models``, ``list_datasets``, ``hf models ls``),
and a namespace's repos with their storage (``list_user_repos``, ``hf repos ls``).

Each repo is summarised by its info on ``main`` (:func:`~gmm_hub.localhub.routes.repos.info_json`,
with the card-derived ``tags``, ``library_name``, ``pipeline_tag``, ``cardData``), then
selected, sorted and shaped by :mod:`gmm_hub.localhub._select`. A private repo is listed
only to its owner (and their organisations' members). Without ``limit`` the answer
is paged (``Link: <...&cursor=N>; rel="next"``, :data:`~gmm_hub.localhub._select.MAX_LIMIT`
per page), which the client follows.

``/api/settings/repositories`` lists every repo of the caller's own namespace, private ones
included, and ``/api/organizations/{org}/settings/repositories`` an organisation's, for its
members only (403 otherwise): id, type, last commit date, visibility and storage (the bytes of
the files on ``main``, LFS content at its own size, as ``usedStorage`` counts them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._access import namespaces_of
from .._auth import caller, param, require_user, state
from .._errors import HubError
from .._select import MAX_LIMIT, SelectionError, list_fields, project, select_repos
from .repos import base_url, info_json

ORDER = 15


def summaries(hub: Any, repo_type: str) -> list[dict]:
    """The info on ``main`` of every ``repo_type`` repo of the store (repos without ``main`` are skipped)."""
    out = []
    for kind, namespace, name in hub.store:
        if kind != repo_type:
            continue
        repo = hub.store.get(kind, namespace, name)
        if repo is None:  # deleted meanwhile
            continue
        try:
            sha = repo.resolve("main")
        except HubError:
            continue
        info = info_json(repo, sha, hub.lfs)
        if repo_type == "model":
            info["modelId"] = info["id"]
        out.append(info)
    return out


def _flag(request: Request, key: str) -> bool:
    return request.query_params.get(key, "").lower() in ("1", "true")


def _listing(repo_type: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        hub = state(request)
        query = request.query_params
        viewer = namespaces_of(caller(request), hub.orgs)
        if _flag(request, "config"):
            raise HubError(400, "`config` (fetch_config=True) is not served by the local Hub: it has no model configs.")
        try:
            fields = list_fields(
                repo_type,
                full=_flag(request, "full"),
                card_data=_flag(request, "cardData"),
                expand=query.getlist("expand") or query.getlist("expand[]"),
            )
            found = select_repos(
                await run_in_threadpool(summaries, hub, repo_type),
                viewer_namespaces=viewer,
                author=query.get("author"),
                search=query.getlist("search"),
                filters=query.getlist("filter"),
                library=query.get("library"),
                pipeline_tag=query.get("pipeline_tag"),
                gated=query.get("gated"),
                sort=query.get("sort"),
                direction=query.get("direction"),
                limit=query.get("limit"),
            )
        except SelectionError as err:
            raise HubError(400, str(err)) from None
        try:
            start = max(int(query.get("cursor", "0")), 0)
        except ValueError:
            raise HubError(400, "Invalid cursor.") from None
        page_size = int(getattr(hub, "list_page_size", MAX_LIMIT))
        page = found[start : start + page_size]
        headers = {}
        if start + page_size < len(found):
            params = [(k, v) for k, v in query.multi_items() if k != "cursor"] + [("cursor", str(start + page_size))]
            headers["Link"] = f'<{base_url(request)}{request.scope["path"]}?{urlencode(params)}>; rel="next"'
        entries = [project(info, fields) for info in page]
        for entry in entries:  # a listing's siblings carry names only, as on the Hub
            if "siblings" in entry:
                entry["siblings"] = [{"rfilename": s["rfilename"]} for s in entry["siblings"]]
        return JSONResponse(entries, headers=headers)

    return endpoint


def _storage(hub: Any, namespace: str) -> list[dict]:
    """Each repo of ``namespace``: what ``RepoStorageInfo`` reads, newest commit first."""
    repos = [
        info | {"type": repo_type}
        for repo_type in ("model", "dataset")
        for info in summaries(hub, repo_type)
        if info["author"] == namespace
    ]
    total = sum(info["usedStorage"] for info in repos) or 1
    repos.sort(key=lambda info: info["lastModified"], reverse=True)
    return [
        {
            "id": info["id"],
            "type": info["type"],
            "updatedAt": info["lastModified"],
            "visibility": "private" if info["private"] else "public",
            "storage": info["usedStorage"],
            "storagePercent": 100.0 * info["usedStorage"] / total,
        }
        for info in repos
    ]


async def user_repositories(request: Request) -> Response:
    namespace = param(request, "namespace", "") or require_user(request, "list your repos")
    if namespace not in namespaces_of(caller(request), state(request).orgs):
        require_user(request, "list an organisation's repos")
        raise HubError(403, f"You are not a member of {namespace!r}: only its members see its repos' settings.")
    return JSONResponse(await run_in_threadpool(_storage, state(request), namespace))


routes = [
    Route("/api/models", _listing("model"), methods=["GET"]),
    Route("/api/datasets", _listing("dataset"), methods=["GET"]),
    Route("/api/settings/repositories", user_repositories, methods=["GET"]),
    Route("/api/organizations/{namespace}/settings/repositories", user_repositories, methods=["GET"]),
]

__all__ = ["ORDER", "routes", "summaries"]
