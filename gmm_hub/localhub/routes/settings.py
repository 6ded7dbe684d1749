"""Repo settings: visibility and gating (``update_repo_settings``), ``move_repo``, ``duplicate_repo``, ``auth_check``.

- ``PUT /api/{type}s/{id}/settings`` takes ``{"visibility": "public"|"private"}`` (or the
  older ``{"private": bool}``) and ``{"gated": "auto"|"manual"|false}``; only someone who
  may write to the repo's namespace changes them. "Publish private, then make public"
  works as on the Hub: the repo appears to everyone, in listings too.
- ``POST /api/repos/move`` renames ``fromRepo`` to ``toRepo`` (another name, another
  namespace the caller may write to, or the same id in another case). The Hub keeps a
  redirect from the old id; the local Hub does not, so the old id is gone at once.
- ``POST /api/{type}s/{id}/duplicate`` copies a repo the caller may see to ``repository``
  (``NAMESPACE/NAME`` in a namespace they may write to): its branches and tags, history
  included, not its pull requests and discussions; ``visibility`` ("public"/"private") is
  the source's unless given.
- ``GET /api/{type}s/{id}/auth-check`` answers 200 when the caller may read the repo (and
  its files: a gated repo refuses outsiders with ``GatedRepo``, as downloads do), and
  ``.../auth-check/write`` when the caller may also write to it (``auth_check(write=True)``).
- A gated repo's files are refused (``GatedRepo``, 401/403) to anyone outside its namespace
  (:func:`check_gate`, called by ``resolve``).
"""

from __future__ import annotations

import os
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._access import namespaces_of
from .._auth import caller, check_write, may_see, repo_from_path, require_user, state
from .._body import expect_dict, expect_str, read_json
from .._errors import HubError, error_headers, repo_not_found
from .._git import REPO_TYPES, HubRepo, check_name
from .._names import iso
from .repos import base_url, repo_url

ORDER = 25
GATED = ("auto", "manual")


def check_gate(request: Request, repo: HubRepo) -> None:
    """Refuse a download from a gated repo to anyone outside its namespace, as the Hub does (``GatedRepoError``).

    The local Hub has no access requests (they answer 501), so nobody else is ever
    granted access: a gated repo's files are for its owner (and their organisation).
    Its info, tree and card stay visible, as on the Hub.
    """
    if repo.setting("gated", "false") in ("false", "") or repo.namespace in namespaces_of(
        caller(request), state(request).orgs
    ):
        return
    kind = repo.repo_type
    if caller(request) is None:
        message = (
            f"Access to {kind} {repo.repo_id} is restricted. You must have access to it and be authenticated "
            "to access it. Please log in."
        )
        raise HubError(401, message, "GatedRepo")
    message = (
        f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized list. "
        f"Visit {base_url(request)}/{repo.repo_id} to ask for access."
    )
    raise HubError(403, message, "GatedRepo")


async def update_settings(request: Request) -> Response:
    repo = repo_from_path(request, write=True)
    payload = expect_dict(await read_json(request), "the body")
    changes: dict[str, str] = {}
    if "gated" in payload:
        gated = payload["gated"]
        if gated not in (*GATED, False):
            raise HubError(400, '"gated" must be one of [auto, manual, false]')
        changes["gated"] = "false" if gated is False else str(gated)
    if "visibility" in payload:
        visibility = payload["visibility"]
        if visibility not in ("public", "private"):
            raise HubError(400, '"visibility" must be one of [public, private]')
        changes["private"] = "true" if visibility == "private" else "false"
    elif "private" in payload:
        if not isinstance(payload["private"], bool):
            raise HubError(400, '"private" must be a boolean')
        changes["private"] = "true" if payload["private"] else "false"
    if not changes:
        raise HubError(400, "Nothing to update: give 'visibility' (public or private) and/or 'gated'.")

    def apply() -> None:
        for key, value in changes.items():
            repo.set_setting(key, value)

    await run_in_threadpool(apply)
    return JSONResponse({})


def _split_id(value: str, what: str) -> tuple[str, str]:
    namespace, sep, name = value.partition("/")
    if not sep or "/" in name:
        raise HubError(400, f"Invalid {what} {value!r}: expected NAMESPACE/NAME.")
    return check_name(namespace, "namespace"), check_name(name)


async def move_repo(request: Request) -> Response:
    require_user(request, "move a repo")
    payload = expect_dict(await read_json(request), "the body")
    repo_type = payload.get("type") or "model"
    if repo_type not in REPO_TYPES:
        raise HubError(400, f"Unsupported repo type {repo_type!r}: expected one of {REPO_TYPES}.")
    src_ns, src_name = _split_id(expect_str(payload, "fromRepo", "the body") or "", "fromRepo")
    dst_ns, dst_name = _split_id(expect_str(payload, "toRepo", "the body") or "", "toRepo")
    hub = state(request)
    repo = hub.store.get(repo_type, src_ns, src_name)
    if repo is None or not may_see(request, repo):
        raise repo_not_found()
    check_write(request, repo.namespace)
    check_write(request, dst_ns)
    existing = hub.store.get(repo_type, dst_ns, dst_name)
    if existing is not None and existing.path != repo.path:
        raise HubError(409, f"You already created this {repo_type} repo: {existing.repo_id}.")
    target = hub.store.path(repo_type, dst_ns, dst_name)

    def rename() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        repo.git.close()
        try:
            os.rename(repo.path, target)
        except OSError as err:
            raise HubError(409, f"Cannot move {repo.repo_id} to {dst_ns}/{dst_name}: {err.strerror}.") from None

    await run_in_threadpool(rename)
    return JSONResponse({})


def auth_check(request: Request) -> Response:
    check_gate(request, repo_from_path(request))
    return JSONResponse({})


def auth_check_write(request: Request) -> Response:
    repo_from_path(request, write=True)  # a writer is in the repo's namespace, so past any gate
    return JSONResponse({})


async def duplicate_repo(request: Request) -> Response:
    repo = repo_from_path(request)
    require_user(request, "duplicate a repo")
    payload = expect_dict(await read_json(request), "the body")
    namespace, name = _split_id(expect_str(payload, "repository", "the body") or "", "repository")
    check_write(request, namespace)
    visibility = payload.get("visibility")
    if visibility not in (None, "public", "private"):
        raise HubError(400, f"Invalid visibility {visibility!r}: expected 'public' or 'private'.")
    private = repo.private if visibility is None else visibility == "private"
    url = repo_url(request, repo.repo_type, f"{namespace}/{name}")
    try:
        await run_in_threadpool(
            state(request).store.duplicate, repo, namespace, name, private=private, created_at=iso(int(time.time()))
        )
    except HubError as err:
        if err.status != 409:
            raise
        # the Hub names the repo that is in the way, which duplicate_repo(exist_ok=True) returns
        return JSONResponse({"error": err.message, "url": url}, 409, headers=error_headers(err))
    return JSONResponse({"url": url, "filesCopyPending": False})


routes = [
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/settings", update_settings, methods=["PUT"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/duplicate", duplicate_repo, methods=["POST"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/auth-check", auth_check, methods=["GET"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/auth-check/write", auth_check_write, methods=["GET"]),
    Route("/api/repos/move", move_repo, methods=["POST"]),
]

__all__ = ["ORDER", "routes"]
