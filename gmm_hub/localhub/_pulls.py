"""Pull requests: a ``refs/pr/<n>`` ref in the repo's git, and a record of what git does not hold.

The commits are git's (``refs/pr/<n>``, opened from a branch by
:meth:`~gmm_hub.localhub._git.HubRepo.open_pull_request`); the record,
``<repo>/pulls/<n>.json``, keeps the branch it targets, the commit it started
from, its status and status changes. A record is written to a temporary file,
then renamed, so a reader never sees half of one. Merging squashes the pull
request's changes since its start into one commit on its branch; a path the
branch has changed too, to other content, is a conflict, and nothing merges.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ._errors import HubError
from ._git import PR_REF, Addition, CommitInfo, Deletion, HubRepo
from ._names import iso

PULLS_DIR = "pulls"


@dataclass
class PullRequest:
    """What a pull request is beyond its commits: branch, start, author, title, status."""

    num: int
    base: str
    start: str
    author: str
    title: str
    created_at: str
    status: str = "open"
    merge_commit: str | None = None
    #: status changes, oldest first: ``{"status", "author", "createdAt"}``
    changes: list[dict] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"refs/pr/{self.num}"


def _path(repo: HubRepo, num: int) -> Path:
    return repo.path / PULLS_DIR / f"{num}.json"


def save(repo: HubRepo, pr: PullRequest) -> None:
    """Write ``pr``'s record whole (temporary file, then rename)."""
    folder = repo.path / PULLS_DIR
    folder.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=".pull-")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(pr), fh)
        os.replace(name, _path(repo, pr.num))
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def load(repo: HubRepo, num: int) -> PullRequest:
    """The pull request ``num``; 404 when there is none."""
    try:
        return PullRequest(**json.loads(_path(repo, num).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        raise HubError(404, f"Discussion #{num} not found in {repo.repo_id}.") from None


def every(repo: HubRepo) -> list[PullRequest]:
    """Every pull request of ``repo``, newest first (as the Hub lists discussions)."""
    folder = repo.path / PULLS_DIR
    nums = [int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()] if folder.is_dir() else []
    return [load(repo, n) for n in sorted(nums, reverse=True)]


def open_pull(repo: HubRepo, base: str, author: str, title: str) -> PullRequest:
    """Open ``refs/pr/<n>`` at ``base``'s head and record it (nothing is committed yet)."""
    start = repo.resolve(base)
    ref = repo.open_pull_request(start)
    pr = PullRequest(int(ref.rsplit("/", 1)[1]), base, start, author, title, iso(int(time.time())))
    try:
        save(repo, pr)
    except BaseException:
        repo.close_pull_request(ref)
        raise
    return pr


def author_of(repo: HubRepo, revision: str) -> str | None:
    """The author of the pull request ``revision`` names (``refs/pr/<n>``), None for any other revision."""
    if not PR_REF.fullmatch(revision):
        return None
    return load(repo, int(revision.rsplit("/", 1)[1])).author


def discard(repo: HubRepo, pr: PullRequest) -> None:
    """Remove a pull request whose first commit was refused: ref and record."""
    repo.close_pull_request(pr.ref)
    _path(repo, pr.num).unlink(missing_ok=True)


def set_status(repo: HubRepo, pr: PullRequest, status: str, author: str) -> None:
    """Close or reopen ``pr``, recording the change."""
    if pr.status == "merged":
        raise HubError(400, f"Pull request #{pr.num} is merged: its status cannot change.")
    pr.status = status
    pr.changes.append({"status": status, "author": author, "createdAt": iso(int(time.time()))})
    save(repo, pr)


def commits(repo: HubRepo, pr: PullRequest) -> list[CommitInfo]:
    """The pull request's own commits (since it was opened), newest first."""
    out = []
    for info in repo.history(repo.resolve(pr.ref)):
        if info.id == pr.start:
            break
        out.append(info)
    return out


def changed_files(repo: HubRepo, pr: PullRequest) -> list[tuple[str, str]]:
    """``(path, "added" | "modified" | "deleted")`` of what the pull request changes, by path."""
    before, after = repo.files(pr.start), repo.files(repo.resolve(pr.ref))
    out = []
    for path in sorted(_changed(before, after)):
        out.append((path, "added" if path not in before else "deleted" if path not in after else "modified"))
    return out


def conflicts(repo: HubRepo, pr: PullRequest) -> list[str]:
    """Paths that both the pull request and its branch changed since its start, to different content."""
    start, ours, theirs = (repo.files(sha) for sha in (pr.start, repo.resolve(pr.base), repo.resolve(pr.ref)))
    changed_here = _changed(start, theirs)
    changed_there = _changed(start, ours)
    return sorted(p for p in changed_here & changed_there if _oid(ours, p) != _oid(theirs, p))


def merge(repo: HubRepo, pr: PullRequest, author: str) -> str:
    """Squash ``pr``'s changes onto its branch; the merge commit id. 409 on conflicts."""
    if pr.status != "open":
        raise HubError(400, f"Pull request #{pr.num} is {pr.status}: only an open one can be merged.")
    clash = conflicts(repo, pr)
    if clash:
        raise HubError(409, f"Pull request #{pr.num} conflicts with {pr.base!r} in: {', '.join(clash)}.")
    start, theirs = repo.files(pr.start), repo.files(repo.resolve(pr.ref))
    changed = sorted(_changed(start, theirs))
    additions = [Addition(p, repo.read_blob(theirs[p].oid)) for p in changed if p in theirs]
    deletions = [Deletion(p) for p in changed if p not in theirs]
    sha = repo.commit(pr.base, additions, deletions, title=f"{pr.title} (#{pr.num})", message="", author=author)
    pr.status, pr.merge_commit = "merged", sha
    pr.changes.append({"status": "merged", "author": author, "createdAt": iso(int(time.time()))})
    save(repo, pr)
    return sha


def event_id(*parts: str) -> str:
    """A stable 24-hex-digit id, the shape of the Hub's event ids."""
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:24]


def _changed(before: dict, after: dict) -> set[str]:
    return {p for p in before.keys() | after.keys() if _oid(before, p) != _oid(after, p)}


def _oid(files: dict, path: str) -> str | None:
    entry = files.get(path)
    return None if entry is None else entry.oid
