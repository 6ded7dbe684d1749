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
import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.convertors import Convertor, register_url_convertor

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


def user_for_token(tokens: dict[str, str], token: str) -> str | None:
    """The user whose token is ``token`` (constant-time comparison over all users)."""
    found = None
    for user, secret in tokens.items():
        if hmac.compare_digest(secret.encode(), token.encode()):
            found = user
    return found


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
    if "gmm_hub_user" in request.scope:
        return request.scope["gmm_hub_user"]
    header = request.headers.get("authorization")
    user = None
    if header:
        token = _token(header)
        user = user_for_token(state(request).tokens, token) if token else None
        if user is None:
            raise HubError(401, INVALID_CREDENTIALS, headers=_challenge(request))
    request.scope["gmm_hub_user"] = user
    return user


def _challenge(request: Request) -> dict[str, str]:
    # git asks for credentials (and sends them) only after a 401 with WWW-Authenticate
    return {"WWW-Authenticate": 'Basic realm="local Hub"'} if request.scope.get("gmm_hub_git") else {}


def require_user(request: Request, what: str = "do this") -> str:
    """The authenticated user, or 401."""
    user = caller(request)
    if user is None:
        raise HubError(401, f"You must be authenticated (Authorization: Bearer <token>) to {what}.")
    return user


def check_write(user: str | None, namespace: str) -> None:
    """401 for anonymous, 403 for a user writing outside their namespace."""
    if user is None:
        raise HubError(401, "You must be authenticated (Authorization: Bearer <token>) to write.")
    if user != namespace:
        raise HubError(403, f"You don't have the rights to write to the namespace {namespace!r}.")


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
    if repo is None or (repo.private and user != namespace):
        if user is None:
            raise HubError(401, "Repository not found", "RepoNotFound", headers=_challenge(request))
        raise repo_not_found()
    if write:
        check_write(user, namespace)
    return repo
