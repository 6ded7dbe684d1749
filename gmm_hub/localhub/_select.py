"""Selecting, sorting and shaping repo summaries as the Hub's ``/api/models`` and ``/api/datasets`` do.

Pure functions over summary dicts (the repo-info JSON of each repo, with the
fields :mod:`gmm_hub.localhub._metadata` derives), used by the listing routes and
by ``expand=`` on repo info:

- :func:`select_repos` -- ``author``, ``search``, ``filter`` (every tag must be
  present), ``library``, ``pipeline_tag``, ``gated``, visibility (a private repo
  is listed only to its owner and their organisations' members), ``sort`` with
  ``direction`` (descending unless ``direction=1``, as on the Hub) and ``limit``.
- :func:`list_fields` -- which keys a listing returns: the Hub's short default, more
  with ``full``, ``cardData``, or exactly ``expand``.
- :func:`check_expand` / :func:`project` -- ``expand=`` validated against the
  properties the client knows (``ExpandModelProperty_T``...), answered with only those keys.

Without ``sort`` repos come in id order (the Hub's default, trending, means nothing
offline); ties of a sort key are broken by id, so pages are stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..exceptions import InvalidInputError

SORT_KEYS = ("createdAt", "downloads", "lastModified", "likes", "trendingScore")
# The client sends these spellings (``sort="last_modified"`` becomes ``lastModified``); accept both.
_SORT_ALIASES = {"created_at": "createdAt", "last_modified": "lastModified", "trending_score": "trendingScore"}
MAX_LIMIT = 1000

DEFAULT_FIELDS = {
    "model": (
        "_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag", "library_name",
        "createdAt", "modelId",
    ),
    "dataset": (
        "_id", "id", "author", "sha", "lastModified", "private", "gated", "disabled", "likes", "trendingScore",
        "tags", "downloads", "createdAt", "description",
    ),
}  # fmt: skip
FULL_FIELDS = ("author", "sha", "lastModified", "gated", "disabled", "siblings")


class SelectionError(InvalidInputError):
    """A listing or expand parameter the Hub would refuse (400); the message says what is allowed."""


def expand_properties(repo_type: str) -> tuple[str, ...]:
    """The ``expand`` properties the client declares for ``repo_type`` (``ExpandModelProperty_T``...)."""
    from typing import get_args

    from huggingface_hub import hf_api

    literal = hf_api.ExpandModelProperty_T if repo_type == "model" else hf_api.ExpandDatasetProperty_T
    return tuple(get_args(literal))


def check_expand(values: Sequence[str], repo_type: str) -> list[str]:
    """Return ``values`` if each is an ``expand`` property of ``repo_type``, else raise :class:`SelectionError`."""
    allowed = expand_properties(repo_type)
    for i, value in enumerate(values):
        if value not in allowed:
            raise SelectionError(f'"expand[{i}]" must be one of [{", ".join(allowed)}]')
    return list(values)


def project(info: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``info`` reduced to ``_id``, ``id`` and ``keys`` (absent keys stay absent)."""
    wanted = ["_id", "id", *keys]
    return {key: info[key] for key in wanted if key in info}


def list_fields(
    repo_type: str, *, full: bool = False, card_data: bool = False, expand: Sequence[str] | None = None
) -> list[str]:
    """The keys a listing entry carries.

    Parameters
    ----------
    repo_type : {"model", "dataset"}
    full : bool, default=False
        Add ``author``, ``sha``, ``lastModified``, ``gated``, ``disabled`` and ``siblings``.
    card_data : bool, default=False
        Add ``cardData`` (``list_models(cardData=True)``).
    expand : sequence of str, optional
        Exactly these properties (checked with :func:`check_expand`); excludes ``full``.
    """
    if expand:
        if full or card_data:
            raise SelectionError("`expand` cannot be used together with `full`, `cardData` or `config`.")
        return check_expand(expand, repo_type)
    fields = list(DEFAULT_FIELDS[repo_type])
    if full:
        fields += [f for f in FULL_FIELDS if f not in fields]
        if repo_type == "dataset":
            fields.append("cardData")
    if card_data and "cardData" not in fields:
        fields.append("cardData")
    return fields


def _visible(info: Mapping[str, Any], namespaces: set[str]) -> bool:
    return not info.get("private") or str(info["id"]).split("/", 1)[0] in namespaces


def _sort_key(name: str | None) -> str | None:
    if name is None or name == "":
        return None
    key = _SORT_ALIASES.get(name, name)
    if key not in SORT_KEYS:
        raise SelectionError(f'"sort" must be one of [{", ".join(SORT_KEYS)}]')
    return key


def _direction(value: str | int | None) -> int:
    if value is None or value == "":
        return -1
    try:
        direction = int(value)
    except (TypeError, ValueError):
        direction = 0
    if direction not in (-1, 1):
        raise SelectionError('"direction" must be one of [-1, 1]')
    return direction


def _limit(value: str | int | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        limit = int(value)
    except (TypeError, ValueError):
        limit = -1
    if limit < 0:
        raise SelectionError(f'"limit" must be a non-negative integer, got {value!r}')
    return min(limit, MAX_LIMIT)


def _truthy(value: str | bool | None) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return value.lower() in ("1", "true")


def select_repos(
    summaries: Iterable[Mapping[str, Any]],
    *,
    viewer_namespaces: set[str] | frozenset[str] = frozenset(),
    author: str | None = None,
    search: Sequence[str] = (),
    filters: Sequence[str] = (),
    library: str | None = None,
    pipeline_tag: str | None = None,
    gated: str | bool | None = None,
    sort: str | None = None,
    direction: str | int | None = None,
    limit: str | int | None = None,
) -> list[Mapping[str, Any]]:
    """The summaries a listing returns, in order.

    Parameters
    ----------
    summaries : iterable of mapping
        One repo-info dict per repo (``id``, ``private``, ``tags``, sort keys...).
    viewer_namespaces : set of str
        Namespaces whose private repos the caller may see (:func:`~gmm_hub.localhub._access.namespaces_of`).
    author : str, optional
        Namespace, compared ignoring case (repo ids are case-insensitive on the Hub).
    search : sequence of str
        Each must occur in the repo id, ignoring case.
    filters : sequence of str
        Each must be one of the repo's tags (``license:mit``, ``tabular-classification``...).
    library, pipeline_tag : str, optional
        Equal to the repo's ``library_name`` (or a tag) / ``pipeline_tag``.
    gated : str or bool, optional
        ``true``: only gated repos; ``false``: only non-gated ones.
    sort : str, optional
        One of :data:`SORT_KEYS` (or the client's snake-case spelling).
    direction : {-1, 1}, optional
        -1 (default) descending, 1 ascending.
    limit : int, optional
        At most this many (capped at :data:`MAX_LIMIT`).

    Raises
    ------
    SelectionError
        For an unknown ``sort``, a ``direction`` other than -1/1 or a negative ``limit``.
    """
    key, order, cap, want_gated = _sort_key(sort), _direction(direction), _limit(limit), _truthy(gated)
    namespaces = set(viewer_namespaces)
    needles = [s.casefold() for s in search if s]
    out = []
    for info in summaries:
        repo_id = str(info["id"])
        tags = info.get("tags") or []
        if not _visible(info, namespaces):
            continue
        if author and repo_id.split("/", 1)[0].casefold() != author.casefold():
            continue
        if any(needle not in repo_id.casefold() for needle in needles):
            continue
        if any(f not in tags for f in filters if f):
            continue
        if library and info.get("library_name") != library and library not in tags:
            continue
        if pipeline_tag and info.get("pipeline_tag") != pipeline_tag:
            continue
        if want_gated is not None and bool(info.get("gated")) != want_gated:
            continue
        out.append(info)
    out.sort(key=lambda info: str(info["id"]).casefold())
    if key is not None:
        # stable sort: equal keys stay in id order whichever the direction
        empty: Any = 0 if key in ("downloads", "likes", "trendingScore") else ""
        out.sort(key=lambda info: info.get(key) or empty, reverse=order == -1)
    return out if cap is None else out[:cap]


__all__ = [
    "MAX_LIMIT",
    "SORT_KEYS",
    "SelectionError",
    "check_expand",
    "expand_properties",
    "list_fields",
    "project",
    "select_repos",
]
