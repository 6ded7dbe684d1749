"""The human pages of the local Hub: a repo's card, its files and its commits, as HTML.

Pure functions from what the storage knows (a :class:`RepoView`, file
entries, the README text, commits) to a page, so the routes in
:mod:`gmm_hub.localhub.routes.pages` stay small and the rendering is tested
without a server. The card is rendered the way huggingface.co renders it:

- the YAML front matter is parsed by :class:`huggingface_hub.ModelCard` (or
  ``DatasetCard``) and never shown; license, pipeline tag, library, tags,
  datasets and languages become chips, and ``model-index`` becomes an
  evaluation-results panel;
- the body is Markdown rendered by markdown-it-py (CommonMark with tables and
  strikethrough; raw HTML allowed, as on the Hub), then sanitised by nh3
  (ammonia's allow-list: no ``<script>``, no event handler, no
  ``javascript:`` URL survives); relative image and link URLs are resolved
  against the repo at the page's revision;
- pages come from the Jinja2 templates in ``gmm_hub/localhub/templates/``
  (autoescaped: only the sanitised card body and comments are inserted as markup).

Pages are also sent with a ``Content-Security-Policy`` that runs no script at
all (:data:`PAGE_HEADERS`), a second wall behind the sanitiser.
"""

from __future__ import annotations

import functools
import logging
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "PAGE_HEADERS",
    "CardView",
    "CommitView",
    "FileEntry",
    "RepoView",
    "render_card",
    "render_commits_page",
    "render_error_page",
    "render_index_page",
    "render_repo_page",
    "render_tree_page",
    "repo_path",
]

logger = logging.getLogger(__name__)

#: Headers of every HTML page: no script runs, images and styles come from this server only.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_FRONT_MATTER_RE = re.compile(r"\A\s*---\s*\n.*?\n---\s*(?:\n|\Z)", re.DOTALL)
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# What huggingface.co shows for a pipeline tag (the common ones; others are title-cased).
_PIPELINE_NAMES = {
    "tabular-classification": "Tabular Classification",
    "tabular-regression": "Tabular Regression",
    "text-classification": "Text Classification",
    "image-classification": "Image Classification",
}


@dataclass(frozen=True)
class RepoView:
    """What a page shows about a repo.

    Parameters
    ----------
    repo_type : {"model", "dataset"}
    repo_id : str
        ``namespace/name``.
    revision : str
        The revision the page shows (a branch, tag or commit id), as in the URL.
    commit : str or None
        The commit that revision resolves to; None for a repo without commits.
    private : bool, default=False
    last_modified : str or None, default=None
        ISO date of that commit.
    branches : sequence of str, default=()
        Branch names, for the revision switcher.
    """

    repo_type: str
    repo_id: str
    revision: str
    commit: str | None
    private: bool = False
    last_modified: str | None = None
    branches: Sequence[str] = ()


@dataclass(frozen=True)
class FileEntry:
    """One entry of a tree listing: a file (with its LFS sha256, if stored in LFS) or a directory."""

    path: str
    size: int = 0
    kind: str = "file"  # "file" or "directory"
    lfs_sha256: str | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CommitView:
    """One commit of the history."""

    id: str
    title: str
    author: str
    date: str
    message: str = ""


@dataclass
class CommentView:
    """A discussion comment as its page shows it: who, when, and its sanitised HTML."""

    author: str
    created_at: str
    html: str
    edited: bool = False
    hidden: bool = False


@dataclass
class PullView:
    """A discussion or pull request as its page shows it: who, into what, its comments, commits and files."""

    num: int
    title: str
    author: str
    status: str
    created_at: str
    base: str
    head: str
    pull_request: bool = True
    comments: list[CommentView] = field(default_factory=list)
    commits: list[CommitView] = field(default_factory=list)
    #: ``(path, "added" | "modified" | "deleted")``, sorted by path
    files: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


@dataclass
class CardView:
    """A rendered card: the chips and evaluation rows from its metadata, and the sanitised body."""

    body_html: str
    chips: list[dict[str, str]] = field(default_factory=list)
    eval_rows: list[dict[str, str]] = field(default_factory=list)
    model_name: str | None = None
    metadata_error: str | None = None

    @property
    def eval_groups(self) -> list[tuple[str, list[dict[str, str]]]]:
        """The evaluation rows grouped by dataset and split, in order, as the Hub's panel shows them."""
        groups: dict[str, list[dict[str, str]]] = {}
        for row in self.eval_rows:
            title = row["dataset"] + (f" ({row['split']})" if row["split"] else "")
            groups.setdefault(title, []).append(row)
        return list(groups.items())


# ----------------------------------------------------------------------------- URLs


def repo_path(repo_type: str, repo_id: str) -> str:
    """Return the page path of a repo: ``/{repo_id}`` for a model, ``/datasets/{repo_id}`` for a dataset."""
    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    return f"/{prefix}{quote(repo_id)}"


def _resolve_url(repo: RepoView, target: str) -> str | None:
    """The URL of a file of ``repo`` that a card refers to by a relative path; None when it leaves the repo."""
    parts = urlsplit(target)
    path = posixpath.normpath(parts.path.lstrip("/")) if parts.path else ""
    if not path or path == "." or path.startswith("../") or path == "..":
        return None
    url = f"{repo_path(repo.repo_type, repo.repo_id)}/resolve/{quote(repo.revision, safe='')}/{quote(path)}"
    return url + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def _is_relative(value: str) -> bool:
    return not (_SCHEME_RE.match(value) or value.startswith(("//", "#", "/")))


# ----------------------------------------------------------------------------- card


def _markdown_to_html(text: str) -> str:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    return md.render(text)


def _sanitise(html: str, repo: RepoView) -> str:
    """Keep nh3's allow-list of tags and attributes; resolve relative ``src``/``href`` against the repo."""
    import nh3

    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    for tag in ("th", "td"):
        attributes[tag] = attributes.get(tag, set()) | {"style"}  # markdown-it's column alignment

    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        # nh3 has already dropped URLs with a scheme outside its allow-list (javascript:, data:, ...)
        if (tag, attr) in (("img", "src"), ("a", "href")) and _is_relative(value):
            return _resolve_url(repo, value)
        return value

    return nh3.clean(
        html,
        attributes=attributes,
        attribute_filter=attribute_filter,
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer nofollow",
    )


def render_comment(text: str) -> str:
    """A discussion comment's markdown as sanitised HTML (nh3's allow-list, as for cards)."""
    import nh3

    return nh3.clean(_markdown_to_html(text), link_rel="noopener noreferrer nofollow")


def _chips(data: dict[str, Any], repo_type: str) -> list[dict[str, str]]:
    chips: list[dict[str, str]] = []
    pipeline = data.get("pipeline_tag") or (data.get("task_categories") or [None])[0]
    if isinstance(pipeline, str):
        chips.append({"kind": "pipeline", "label": _PIPELINE_NAMES.get(pipeline, pipeline.replace("-", " ").title())})
    if isinstance(data.get("library_name"), str):
        chips.append({"kind": "library", "label": data["library_name"]})
    for dataset in _as_list(data.get("datasets")):
        chips.append({"kind": "dataset", "label": dataset, "href": repo_path("dataset", dataset)})
    for language in _as_list(data.get("language")):
        chips.append({"kind": "language", "label": language})
    shown = {data.get("library_name"), pipeline}
    for tag in _as_list(data.get("tags")):
        if tag not in shown:  # the library and the task already have their chip
            shown.add(tag)
            chips.append({"kind": "tag", "label": tag})
    license_id = data.get("license")
    if isinstance(license_id, str):
        chips.append({"kind": "license", "label": f"License: {license_id}"})
    return chips


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, (str, int, float))]
    return []


def _format_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _eval_rows(card_data: Any) -> list[dict[str, str]]:
    rows = []
    for result in getattr(card_data, "eval_results", None) or []:
        rows.append(
            {
                "metric": result.metric_name or result.metric_type,
                "value": _format_value(result.metric_value),
                "dataset": result.dataset_name or result.dataset_type,
                "split": result.dataset_split or "",
                "task": result.task_name or result.task_type,
                "verified": "verified" if result.verified else "self-reported",
            }
        )
    return rows


def render_card(readme: str, repo: RepoView) -> CardView:
    """Render a README (model or dataset card) as huggingface.co does: metadata as chips, body as safe HTML.

    Parameters
    ----------
    readme : str
        The README.md text, front matter included.
    repo : RepoView
        The repo and revision the README comes from (relative URLs resolve there).

    Returns
    -------
    CardView
        ``metadata_error`` is set (and no chips are shown) when the front matter
        is not valid YAML; the body is still rendered.
    """
    from huggingface_hub import DatasetCard, ModelCard

    card_class = ModelCard if repo.repo_type == "model" else DatasetCard
    data: dict[str, Any] = {}
    card_data: Any = None
    error = None
    try:
        if _FRONT_MATTER_RE.match(readme) is None:
            body = readme  # no metadata: nothing to parse (and no warning from the card parser)
        else:
            card = card_class(readme, ignore_metadata_errors=True)
            body, card_data = card.text, card.data
            data = card_data.to_dict()
    except Exception as err:  # bad YAML: the Hub shows the body and a metadata error
        logger.info("card of %s has invalid metadata: %s", repo.repo_id, err)
        error = f"The card's YAML metadata could not be parsed: {err}"
        body = _FRONT_MATTER_RE.sub("", readme, count=1)
    return CardView(
        body_html=_sanitise(_markdown_to_html(body), repo),
        chips=_chips(data, repo.repo_type),
        eval_rows=_eval_rows(card_data),
        model_name=data.get("model_name") if isinstance(data.get("model_name"), str) else None,
        metadata_error=error,
    )


# ----------------------------------------------------------------------------- pages


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gmm_hub.localhub", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["filesize"] = _filesize
    env.globals["repo_path"] = repo_path
    env.globals["quote"] = quote
    return env


def _filesize(size: int) -> str:
    """Decimal units, as huggingface.co shows them (``1.2 MB``)."""
    value = float(size)
    for unit in ("Bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "Bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def _repo_context(repo: RepoView, tab: str) -> dict[str, Any]:
    base = repo_path(repo.repo_type, repo.repo_id)
    rev = quote(repo.revision, safe="")
    return {
        "repo": repo,
        "tab": tab,
        "base": base,
        "rev_q": rev,
        "tabs": [
            ("card", "Model card" if repo.repo_type == "model" else "Dataset card", base),
            ("tree", "Files and versions", f"{base}/tree/{rev}"),
            ("commits", "Commits", f"{base}/commits/{rev}"),
            ("community", "Community", f"{base}/discussions"),
        ],
    }


def render_repo_page(repo: RepoView, readme: str | None) -> str:
    """The repo's main page: its card (or a note that it has none) and the evaluation panel."""
    card = render_card(readme, repo) if readme is not None else None
    return _render("repo.html", card=card, **_repo_context(repo, "card"))


def render_tree_page(repo: RepoView, path: str, entries: Iterable[FileEntry], last_commit: CommitView | None) -> str:
    """ "Files and versions" at ``repo.revision``, inside folder ``path`` ("" for the root)."""
    ordered = sorted(entries, key=lambda e: (e.kind != "directory", e.path.lower()))
    crumbs = []
    parts = [p for p in path.split("/") if p]
    for depth in range(len(parts)):
        crumbs.append((parts[depth], "/".join(parts[: depth + 1])))
    return _render(
        "tree.html", path=path, crumbs=crumbs, entries=ordered, last_commit=last_commit, **_repo_context(repo, "tree")
    )


def render_commits_page(repo: RepoView, commits: Iterable[CommitView]) -> str:
    """The commit history of ``repo.revision``, newest first."""
    return _render("commits.html", commits=list(commits), **_repo_context(repo, "commits"))


def render_discussions_page(repo: RepoView, pulls: Iterable[PullView]) -> str:
    """The "Community" tab: the repo's discussions and pull requests, newest first."""
    return _render("discussions.html", pulls=list(pulls), **_repo_context(repo, "community"))


def render_pull_page(repo: RepoView, pull: PullView) -> str:
    """One pull request: status, target branch, commits and changed files."""
    return _render("pull.html", pull=pull, **_repo_context(repo, "community"))


def render_index_page(repos: Iterable[tuple[str, str, bool]]) -> str:
    """The server's front page: ``(repo_type, repo_id, private)`` of the repos the visitor may see."""
    return _render("index.html", repos=list(repos))


def render_error_page(status: int, message: str) -> str:
    """A page for 404 and other errors (the message is escaped)."""
    return _render("error.html", status=status, message=message)
