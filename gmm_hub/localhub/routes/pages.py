"""The human pages a visitor sees on huggingface.co: a repo's card, "Files and versions", its commits.

- ``/`` -- the repos the visitor may see;
- ``/{repo_id}`` and ``/datasets/{repo_id}`` -- the card at ``main``;
- ``/{repo_id}/tree/{revision}[/{path}]`` -- the files at a revision;
- ``/{repo_id}/commits/{revision}`` -- the history;
- ``/{repo_id}/discussions[/{num}]`` -- the "Community" tab: discussions and pull requests, and one of them.

The HTML comes from :mod:`gmm_hub.localhub._pages`; these endpoints only look
the repo up (with the caller's visibility: a private repo is a 404 page to anyone
but its owner, whose browser must send the token in ``Authorization``) and read
the storage. The group comes last (``ORDER = 90``): ``/{namespace}/{name}`` would
otherwise shadow two-segment API paths, and the reserved first segments (``api``,
``datasets``...) answer the API's JSON 404 instead of a page.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .. import _pages
from .. import _pulls as pulls
from .._auth import may_see, param, repo_from_path, state
from .._errors import HubError
from .._git import HubRepo, check_path

ORDER = 90
RESERVED = ("api", "datasets", "models", "spaces", "static", "front", "settings", "new")
_NOT_VISIBLE = "This repository does not exist, or it is private and you are not its owner."


class NamespaceConvertor(Convertor[str]):
    """``{namespace:page_namespace}``: one segment that is not a reserved first segment such as ``api``.

    Refused in the pattern, not in the endpoint, so ``/api/models/`` matches no page
    (nor a redirect to one): it stays the API's JSON 404.
    """

    regex = "(?!(?:" + "|".join(RESERVED) + ")(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("page_namespace", NamespaceConvertor())


def _html(status: int, body: str) -> HTMLResponse:
    return HTMLResponse(body, status, headers=_pages.PAGE_HEADERS)


def page(endpoint: Callable[[Request], Awaitable[str]]) -> Callable[[Request], Awaitable[Response]]:
    """Serve ``endpoint``'s HTML; a refusal becomes an error page (a hidden repo: the same 404 as a missing one)."""

    @functools.wraps(endpoint)
    async def serve(request: Request) -> Response:
        try:
            return _html(200, await endpoint(request))
        except HubError as err:
            if err.status == 401 or err.code == "RepoNotFound":
                return _html(404, _pages.render_error_page(404, _NOT_VISIBLE))
            return _html(err.status, _pages.render_error_page(err.status, err.message))

    return serve


def _view(repo: HubRepo, revision: str, sha: str) -> _pages.RepoView:
    info = repo.commit_info(sha)
    return _pages.RepoView(
        repo.repo_type,
        repo.repo_id,
        revision,
        sha,
        private=repo.private,
        last_modified=info.date,
        branches=tuple(repo.branches()),
    )


def _commit_view(repo: HubRepo, sha: str) -> _pages.CommitView:
    info = repo.commit_info(sha)
    return _pages.CommitView(info.id, info.title, info.author, info.date, info.message)


@page
async def repo_page(request: Request) -> str:
    repo = repo_from_path(request)

    def build() -> str:
        sha = repo.resolve("main")
        entry = repo.files(sha).get("README.md")
        readme = None
        if entry is not None:
            data = state(request).lfs.path(entry.lfs.oid).read_bytes() if entry.lfs else repo.read_blob(entry.oid)
            readme = data.decode("utf-8", "replace")
        return _pages.render_repo_page(_view(repo, "main", sha), readme)

    return await run_in_threadpool(build)


@page
async def tree_page(request: Request) -> str:
    repo = repo_from_path(request)
    revision = param(request, "revision")
    path = param(request, "path", "").strip("/")
    if path:
        check_path(path)

    def build() -> str:
        sha = repo.resolve(revision)
        prefix = f"{path}/" if path else ""
        entries: dict[str, _pages.FileEntry] = {}
        for file_path, entry in repo.files(sha).items():
            if not file_path.startswith(prefix):
                continue
            head, sep, _ = file_path[len(prefix) :].partition("/")
            if sep:
                entries.setdefault(prefix + head, _pages.FileEntry(prefix + head, kind="directory"))
            else:
                lfs = entry.lfs.oid if entry.lfs else None
                entries[file_path] = _pages.FileEntry(file_path, entry.content_size, lfs_sha256=lfs)
        if path and not entries:
            raise HubError(404, f"{path} does not exist at {revision}.")
        return _pages.render_tree_page(_view(repo, revision, sha), path, entries.values(), _commit_view(repo, sha))

    return await run_in_threadpool(build)


@page
async def commits_page(request: Request) -> str:
    repo = repo_from_path(request)
    revision = param(request, "revision")

    def build() -> str:
        sha = repo.resolve(revision)
        commits = [_pages.CommitView(c.id, c.title, c.author, c.date, c.message) for c in repo.history(sha)]
        return _pages.render_commits_page(_view(repo, revision, sha), commits)

    return await run_in_threadpool(build)


def _pull_view(repo: HubRepo, pr: pulls.PullRequest, *, details: bool = False) -> _pages.PullView:
    head = repo.resolve(pr.ref) if pr.pull_request else ""
    view = _pages.PullView(pr.num, pr.title, pr.author, pr.status, pr.created_at, pr.base, head, pr.pull_request)
    if details:
        view.comments = [
            # rendered from the raw text, sanitised here: the page trusts no stored markup
            _pages.CommentView(
                c["author"]["name"],
                c["createdAt"],
                _pages.render_comment(c["data"]["latest"]["raw"]),
                c["data"]["edited"],
                c["data"]["hidden"],
            )
            for c in pr.comments
        ]
    if details and pr.pull_request:
        view.commits = [_pages.CommitView(c.id, c.title, c.author, c.date, c.message) for c in pulls.commits(repo, pr)]
        view.files = pulls.changed_files(repo, pr)
        view.conflicts = pulls.conflicts(repo, pr) if pr.status == "open" else []
    return view


@page
async def discussions_page(request: Request) -> str:
    repo = repo_from_path(request)

    def build() -> str:
        sha = repo.resolve("main")
        return _pages.render_discussions_page(
            _view(repo, "main", sha), [_pull_view(repo, p) for p in pulls.every(repo)]
        )

    return await run_in_threadpool(build)


@page
async def pull_page(request: Request) -> str:
    repo = repo_from_path(request)
    num = param(request, "num")
    if not num.isdigit():
        raise HubError(404, f"Discussion {num!r} not found.")

    def build() -> str:
        pr = pulls.load(repo, int(num))
        revision = pr.ref if pr.pull_request else "main"
        view = _view(repo, revision, repo.resolve(revision))
        return _pages.render_pull_page(view, _pull_view(repo, pr, details=True))

    return await run_in_threadpool(build)


@page
async def index_page(request: Request) -> str:
    store = state(request).store

    def build() -> str:
        visible = []
        for repo_type, namespace, name in store:
            repo = store.get(repo_type, namespace, name)
            if repo is not None and may_see(request, repo):
                visible.append((repo_type, repo.repo_id, repo.private))
        return _pages.render_index_page(visible)

    return await run_in_threadpool(build)


def _repo_routes(prefix: str) -> list[Route]:
    base = f"{prefix}{{namespace:page_namespace}}/{{name}}"
    return [
        Route(base, repo_page, methods=["GET"]),
        Route(f"{base}/tree/{{revision}}", tree_page, methods=["GET"]),
        Route(f"{base}/tree/{{revision}}/{{path:path}}", tree_page, methods=["GET"]),
        Route(f"{base}/commits/{{revision}}", commits_page, methods=["GET"]),
        Route(f"{base}/discussions", discussions_page, methods=["GET"]),
        Route(f"{base}/discussions/{{num}}", pull_page, methods=["GET"]),
    ]


routes = [
    Route("/", index_page, methods=["GET"]),
    *_repo_routes("/{repo_type:repo_type}/"),
    *_repo_routes("/"),
]
