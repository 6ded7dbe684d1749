"""Tokens, roles and organisations of the local Hub.

A token acts as one user with one role, as a Hub access token does: ``write``
(the default) or ``read``. A read token sees what its user sees and cannot change
anything, so "a read token cannot push" can be rehearsed. An organisation is a
namespace its members may write to (with a write token) and whose private repos
they see. Specs (``LocalHub(tokens=...)``, ``gmm-hub hub serve --token``):

- ``{"alice": "SECRET"}`` -- a write token for alice;
- ``{"carol": "SECRET:read"}`` -- a read token (``:write`` is accepted too);
- ``{"alice": ["SECRET1", "SECRET2:read"]}`` -- several tokens for one user;
- ``"alice=SECRET[:read]"`` on the command line (:func:`parse_token_option`).

Secrets are compared in constant time and never appear in messages.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..exceptions import InvalidInputError

ROLES = ("read", "write")


class TokenSpecError(InvalidInputError):
    """A malformed token or organisation spec (the message never quotes the secret)."""


@dataclass(frozen=True)
class Token:
    """One access token: its ``user``, ``role`` and (never printed) ``secret``."""

    user: str
    secret: str = field(repr=False)
    role: str = "write"

    @property
    def can_write(self) -> bool:
        return self.role == "write"


def _split_role(value: str) -> tuple[str, str]:
    secret, sep, role = value.rpartition(":")
    if sep and role in ROLES and secret:
        return secret, role
    return value, "write"


def token_table(tokens: Mapping[str, str | Iterable[str]] | None) -> list[Token]:
    """Normalise a ``{user: secret-or-secrets}`` mapping into :class:`Token` objects.

    Parameters
    ----------
    tokens : mapping of str to (str or iterable of str), optional
        Each value is ``SECRET`` or ``SECRET:read`` / ``SECRET:write``, or a list of those.

    Returns
    -------
    list of Token

    Raises
    ------
    TokenSpecError
        For an empty secret or one given to two users.
    """
    out: list[Token] = []
    owners: dict[str, str] = {}
    for user, value in (tokens or {}).items():
        values = [value] if isinstance(value, str) else list(value)
        for item in values:
            if not isinstance(item, str):
                raise TokenSpecError(f"The token of user {user!r} must be a string.")
            secret, role = _split_role(item)
            if not secret:
                raise TokenSpecError(f"The token of user {user!r} is empty.")
            if owners.setdefault(secret, user) != user:
                raise TokenSpecError(f"Users {owners[secret]!r} and {user!r} were given the same token.")
            out.append(Token(user, secret, role))
    return out


def parse_token_option(value: str) -> tuple[str, str]:
    """Split ``USER=TOKEN[:read|:write]`` (the ``--token`` option) into ``(user, token spec)``.

    Raises
    ------
    TokenSpecError
        Without a ``=``, a user or a token; the message never repeats the value.
    """
    user, sep, spec = value.partition("=")
    if not sep or not user or not _split_role(spec)[0]:
        raise TokenSpecError("--token expects USER=TOKEN or USER=TOKEN:read (for example --token alice=<secret>).")
    return user, spec


def parse_org_option(value: str) -> tuple[str, list[str]]:
    """Split ``ORG=USER[,USER...]`` (the ``--org`` option) into ``(org, members)``."""
    org, sep, members = value.partition("=")
    names = [m.strip() for m in members.split(",") if m.strip()]
    if not sep or not org or not names:
        raise TokenSpecError(f"--org expects ORG=USER[,USER...] (for example --org acme=alice,bob), got {value!r}.")
    return org, names


def find_token(table: Iterable[Token], secret: str) -> Token | None:
    """The token whose secret is ``secret``; compares against every entry in constant time."""
    found = None
    for token in table:
        if hmac.compare_digest(token.secret.encode(), secret.encode()):
            found = token
    return found


def namespaces_of(user: str | None, orgs: Mapping[str, Iterable[str]]) -> set[str]:
    """The namespaces ``user`` owns: their own and their organisations'."""
    if user is None:
        return set()
    return {user, *(org for org, members in orgs.items() if user in members)}


def write_refusal(token: Token | None, namespace: str, orgs: Mapping[str, Iterable[str]]) -> tuple[int, str] | None:
    """Why ``token`` may not write to ``namespace``: ``(status, message)``, or None if it may.

    401 without a token, 403 for a read token or a namespace that is neither the
    user's nor one of their organisations'.
    """
    if token is None:
        return 401, "You must be authenticated (Authorization: Bearer <token>) to write."
    if namespace not in namespaces_of(token.user, orgs):
        return 403, f"You don't have the rights to write to the namespace {namespace!r}."
    if not token.can_write:
        return 403, (
            f"This token of {token.user!r} is a read token: it cannot write to {namespace!r}. "
            "Use a write token to create repos, push or change settings."
        )
    return None


def _id(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:24]


def whoami_payload(token: Token, orgs: Mapping[str, Iterable[str]]) -> dict:
    """The ``/api/whoami-v2`` answer for ``token``: the user, their organisations and the token's role."""
    user = token.user
    return {
        "type": "user",
        "id": _id(user),
        "name": user,
        "fullname": user,
        "email": None,
        "emailVerified": False,
        "canPay": False,
        "isPro": False,
        "periodEnd": None,
        "avatarUrl": "",
        "orgs": [
            {
                "type": "org",
                "id": _id(org),
                "name": org,
                "fullname": org,
                "email": None,
                "canPay": False,
                "periodEnd": None,
                "avatarUrl": "",
                "roleInOrg": "write",
                "isEnterprise": False,
            }
            for org, members in sorted(orgs.items())
            if user in members
        ],
        "auth": {"type": "access_token", "accessToken": {"displayName": "local-hub", "role": token.role}},
    }


__all__ = [
    "ROLES",
    "Token",
    "TokenSpecError",
    "find_token",
    "namespaces_of",
    "parse_org_option",
    "parse_token_option",
    "token_table",
    "whoami_payload",
    "write_refusal",
]
