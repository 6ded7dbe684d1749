"""Names the local Hub accepts (namespaces, repos, refs, paths) and how it writes git identities.

As on the Hub:

- repo ids are case-insensitive: ``alice/PUB`` and ``alice/pub`` are one repo, reported
  under the case it was created with; :func:`find_casefold` finds that spelling among
  the stored names;
- a new branch or tag must have a name git accepts (``git check-ref-format``, through
  dulwich's :func:`~dulwich.refs.check_ref_format`) and must not be a full ref name
  itself (a branch called ``refs/heads/x``): :func:`check_ref_name`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone

from ..exceptions import InvalidInputError
from ._errors import HubError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


def check_name(value: object, what: str = "name") -> str:
    """Validate a namespace or repo name (letters, digits, ``-_.``; no ``..``, no separators)."""
    if not isinstance(value, str) or not _NAME_RE.match(value) or ".." in value or value.endswith((".git", ".lock")):
        raise HubError(400, f"Invalid {what} {value!r}: expected letters, digits, '-', '_' or '.'.")
    return value


def check_ref(value: object) -> str:
    """Validate a branch or tag name (a safe subset of git's ref names)."""
    if (
        not isinstance(value, str)
        or not _REF_RE.match(value)
        or ".." in value
        or value.endswith(".")
        or any(part in ("", ".") or part.startswith(".") or part.endswith(".lock") for part in value.split("/"))
    ):
        raise HubError(400, f"Invalid revision name {value!r}.")
    return value


def check_path(value: object) -> str:
    """Validate a file path inside a repo: relative, no ``..``, ``.`` or empty parts, no ``.git``."""
    if (
        not isinstance(value, str)
        or not value
        or len(value.encode()) > 4096
        or value.startswith("/")
        or "\\" in value
        or any(ord(ch) < 32 for ch in value)
        or any(part in ("", ".", "..", ".git") for part in value.split("/"))
    ):
        raise HubError(400, f"Invalid path {value!r}: paths must be relative and must not contain '..'.")
    return value


def iso(timestamp: int) -> str:
    """A git timestamp in the Hub's ISO-8601 format."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def identity(user: str) -> bytes:
    """The git author line of a Hub user."""
    return f"{user} <{user}@users.noreply.localhost>".encode()


_REF_PREFIXES = ("refs/",)


class InvalidRefName(InvalidInputError):
    """A branch or tag name git refuses."""


def check_ref_name(name: object, kind: str = "branch") -> str:
    """Return ``name`` if git accepts it as a ``kind`` name, else raise :class:`InvalidRefName`.

    Parameters
    ----------
    name : object
        The proposed branch or tag name.
    kind : {"branch", "tag"}, default="branch"
        Checked as ``refs/heads/<name>`` or ``refs/tags/<name>``.

    Returns
    -------
    str
        ``name`` unchanged.

    Raises
    ------
    InvalidRefName
        For names git refuses (``a..b``, ``x.lock``, ``a b``, ``-x``, ``@``, ``x/``, ``a//b``),
        full ref names (``refs/heads/x``) and names longer than 255 bytes.
    """
    from dulwich.refs import Ref, check_ref_format

    if not isinstance(name, str) or not name:
        raise InvalidRefName(f"Invalid {kind} name {name!r}: expected a non-empty string.")
    prefix = "refs/heads/" if kind == "branch" else "refs/tags/"
    if name.startswith(_REF_PREFIXES):
        raise InvalidRefName(
            f"Invalid {kind} name {name!r}: give the short name (e.g. {name.rsplit('/', 1)[-1]!r}), not a full ref."
        )
    if kind == "branch" and name in ("@", "HEAD"):
        raise InvalidRefName(f"Invalid branch name {name!r}: git reserves it.")
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) > 255 or name.startswith("-") or not check_ref_format(Ref(prefix.encode() + encoded)):
        raise InvalidRefName(
            f"Invalid {kind} name {name!r}: git refuses it (see `git check-ref-format`: no '..', '~', '^', ':', "
            "'?', '*', '[', '\\\\', spaces, control characters, '@{', no component starting with '.' or "
            "ending with '.lock', no trailing '/' or '.')."
        )
    return name


def find_casefold(existing: Iterable[tuple[str, str]], namespace: str, name: str) -> tuple[str, str] | None:
    """The stored ``(namespace, name)`` that equals the requested one ignoring case, if any.

    Parameters
    ----------
    existing : iterable of (str, str)
        Stored ``(namespace, name)`` pairs, as created.
    namespace, name : str
        The requested id.

    Returns
    -------
    tuple of (str, str) or None
        The exact match if there is one, else the first case-insensitive match.
    """
    wanted = (namespace.casefold(), name.casefold())
    found = None
    for pair in existing:
        if pair == (namespace, name):
            return pair
        if found is None and (pair[0].casefold(), pair[1].casefold()) == wanted:
            found = pair
    return found


__all__ = [
    "InvalidRefName",
    "check_name",
    "check_path",
    "check_ref",
    "check_ref_name",
    "find_casefold",
    "identity",
    "iso",
]
