"""Who is calling, and which repo: the lookups every route shares, written once.

Routes call these instead of reading headers or the store themselves:

- :func:`caller` -- the user behind ``Authorization`` (``Bearer <token>``, or HTTP
  basic auth with the token as password, as git sends it), None if anonymous;
  a token no user has is refused with 401 at once.
- :func:`repo_from_path` -- the repo named by the route's path parameters
  ``repo_type`` (optional), ``namespace`` and ``name``, checked for visibility
  (a private repo is "not found" to anyone but its owner) and, with ``write=True``,
  for write rights (only a namespace's own user writes to it).
- :func:`param` -- a path parameter, percent-decoded (routes match the raw path,
  so ``feature%2Fx`` stays one segment).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.convertors import Convertor, register_url_convertor

from ._access import Token, find_token, namespaces_of, token_table, write_refusal
from ._errors import HubError, repo_not_found

if TYPE_CHECKING:
    from starlette.requests import Request

    from ._git import HubRepo

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


class RepoTypeConvertor(Convertor[str]):
    """``{repo_type:repo_type}`` in a route: ``models`` or ``datasets`` (the URL's plural)."""

    regex = "models|datasets"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("repo_type", RepoTypeConvertor())


def state(request: Request) -> Any:
    """The :class:`~gmm_hub.localhub.LocalHub` serving this request (``request.app.state.hub``)."""
    return request.app.state.hub


def param(request: Request, key: str, default: str | None = None) -> str:
    """Path parameter ``key``, percent-decoded (a missing optional one gives ``default``)."""
    raw = request.path_params.get(key)
    if raw is None:
        if default is None:
            raise HubError(404, f"Not found: {request.url.path}")
        return default
    return unquote(raw, errors="strict")


def _token(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def caller(request: Request) -> str | None:
    """The user making ``request``, None if anonymous; 401 for a token no user has.

    The result is cached on the request, so routes may call it freely.
    """
    found = token_of(request)
    return None if found is None else found.user


def token_of(request: Request) -> Token | None:
    """The token of ``request`` (user and role, :mod:`gmm_hub.localhub._access`), None if anonymous."""
    if "gmm_hub_token" in request.scope:
        return request.scope["gmm_hub_token"]
    header = request.headers.get("authorization")
    found = None
    if header:
        secret = _token(header)
        found = find_token(token_table(state(request).tokens), secret) if secret else None
        if found is None:
            raise HubError(401, INVALID_CREDENTIALS, headers=_challenge(request))
    request.scope["gmm_hub_token"] = found
    return found


def may_see(request: Request, repo: HubRepo) -> bool:
    """Whether the caller sees ``repo``: public, or private in one of the caller's namespaces."""
    return not repo.private or repo.namespace in namespaces_of(caller(request), state(request).orgs)


def _challenge(request: Request) -> dict[str, str]:
    # git asks for credentials (and sends them) only after a 401 with WWW-Authenticate
    return {"WWW-Authenticate": 'Basic realm="local Hub"'} if request.scope.get("gmm_hub_git") else {}


def require_user(request: Request, what: str = "do this") -> str:
    """The authenticated user, or 401."""
    user = caller(request)
    if user is None:
        raise HubError(401, f"You must be authenticated (Authorization: Bearer <token>) to {what}.")
    return user


def check_write(request: Request | str | None, namespace: str) -> None:
    """401 for anonymous, 403 for a read token or a namespace that is neither the caller's nor their org's.

    Pass the request. A user name (``check_write(caller(request), ns)``, the form routes
    used before read tokens existed) still works but checks the namespace only: it
    cannot tell a read token from a write token.
    """
    if isinstance(request, str) or request is None:
        token = None if request is None else Token(request, "", "write")
        refusal = write_refusal(token, namespace, {})
    else:
        refusal = write_refusal(token_of(request), namespace, state(request).orgs)
    if refusal is not None:
        raise HubError(*refusal)


def repo_type_of(request: Request) -> str:
    """``model`` or ``dataset`` from the ``repo_type`` path parameter (``models``/``datasets``); default model."""
    raw = request.path_params.get("repo_type", "models")
    if raw not in ("models", "datasets"):
        raise HubError(404, f"Not found: {request.url.path}")
    return str(raw)[:-1]


def repo_from_path(request: Request, *, write: bool = False) -> HubRepo:
    """The repo the route names, if the caller may see it (and write to it, with ``write=True``).

    A private repo the caller may not see answers as a missing one: 401 for an
    anonymous caller (with ``WWW-Authenticate`` on git routes), 404 otherwise.
    """
    user = caller(request)
    repo_type = repo_type_of(request)
    namespace, name = param(request, "namespace"), param(request, "name")
    repo = state(request).store.get(repo_type, namespace, name)
    if repo is None or not may_see(request, repo):
        if user is None:
            raise HubError(401, "Repository not found", "RepoNotFound", headers=_challenge(request))
        raise repo_not_found()
    if write:
        check_write(request, repo.namespace)
    return repo
