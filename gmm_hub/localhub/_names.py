"""Repo ids and ref names as the Hub treats them: case-insensitive ids, git-valid refs.

- Repo ids are case-insensitive on the Hub: ``alice/PUB`` and ``alice/pub`` are one
  repo, reported under the case it was created with. :func:`find_casefold` finds
  that spelling among the stored names.
- Branch and tag names must be names git accepts (``git check-ref-format``, through
  dulwich's :func:`~dulwich.refs.check_ref_format`) and must not be full ref names
  themselves (a branch called ``refs/heads/x`` would be ``refs/heads/refs/heads/x``).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..exceptions import InvalidInputError

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


__all__ = ["InvalidRefName", "check_ref_name", "find_casefold"]
