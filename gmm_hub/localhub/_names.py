"""Names the local Hub accepts (namespaces, repos, refs, paths) and how it writes git identities."""

from __future__ import annotations

import re
from datetime import datetime, timezone

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
