"""Hub-shaped errors of the local Hub server.

A route raises :class:`HubError`; the one exception handler of the app
(:func:`gmm_hub.localhub._app.build_app`) turns it into the reply the
``huggingface_hub`` client expects: the status, ``X-Error-Code`` (which the
client maps to ``RepositoryNotFoundError``, ``RevisionNotFoundError``,
``RemoteEntryNotFoundError``...), ``X-Error-Message`` and ``{"error": message}``.
Untrusted text (paths, revisions) may appear in the message: :func:`header_safe`
keeps headers free of CR/LF and other control characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


class HubError(Exception):
    """A refused request: ``status``, ``message`` and optionally the Hub's ``X-Error-Code``.

    Parameters
    ----------
    status : int
        HTTP status of the reply.
    message : str
        Human-readable reason; sent in the body and (escaped) in ``X-Error-Message``.
    code : str, optional
        ``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound`` or ``GatedRepo``.
    headers : mapping of str to str, optional
        Extra reply headers (values are escaped too).
    """

    def __init__(
        self, status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


def header_safe(value: str, limit: int = 500) -> str:
    """Return ``value`` fit for an HTTP header: ASCII, control characters escaped, at most ``limit`` chars.

    Leading and trailing spaces are dropped too: h11 refuses them (``Invalid rev id: `` for an empty revision).
    """
    ascii_only = value.encode("ascii", "backslashreplace").decode("ascii")
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", ascii_only)[:limit].strip(" \t")


def error_headers(err: HubError) -> dict[str, str]:
    """The headers of the reply to ``err`` (every value passed through :func:`header_safe`)."""
    headers = {key: header_safe(value, 2000) for key, value in err.headers.items()}
    headers["X-Error-Message"] = header_safe(err.message)
    if err.code:
        headers["X-Error-Code"] = header_safe(err.code)
    return headers


def not_found(what: str) -> HubError:
    """404 for a URL no route serves."""
    return HubError(404, f"Not found: {what}")


def repo_not_found() -> HubError:
    """The Hub's answer for a missing repo or one the caller may not see (no existence leak)."""
    return HubError(404, "Repository not found", "RepoNotFound")


def revision_not_found(revision: str) -> HubError:
    return HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


def entry_not_found(path: str, revision: str, commit: str | None = None) -> HubError:
    headers = {"X-Repo-Commit": commit} if commit else None
    return HubError(404, f"{path} does not exist on {revision!r}", "EntryNotFound", headers)
