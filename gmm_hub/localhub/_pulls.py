"""Discussions and pull requests: a record each, and for a pull request a ``refs/pr/<n>`` ref in the repo's git.

A pull request's commits are git's (``refs/pr/<n>``, made at a branch's head by
:meth:`~gmm_hub.localhub._git.HubRepo.add_pull_request`); the record,
``<repo>/pulls/<n>.json``, keeps what git does not hold: the branch it targets,
the commit it started from, its status and status changes, and, for plain
discussions as for pull requests, the comments and title changes (the Hub's
events, in order). Discussions and pull requests share one numbering: a number
is taken by linking its record into place, which fails when another writer
took it first. A record is written to a temporary file, then renamed, so a
reader never sees half of one, and every change is made under the record's
lock, so two comments at once are both kept. Merging squashes the pull
request's changes since its start into one commit on its branch; a path the
branch has changed too, to other content, is a conflict, and nothing merges.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ._errors import HubError
from ._git import PR_REF, Addition, CommitInfo, Deletion, Entry, HubRepo
from ._pages import render_comment

PULLS_DIR = "pulls"
#: Longest comment or description kept, in characters.
MAX_COMMENT = 65_536
#: What a hidden comment reads as (its content is dropped, as on the Hub).
HIDDEN = "This comment has been hidden"
_ATTEMPTS = 50  # numbers tried when other writers keep taking them


@dataclass
class PullRequest:
    """A discussion or pull request beyond its commits: branch, start, author, title, status, events.

    A plain discussion (``pull_request`` False) has no branch, start or commits.
    """

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
    #: comments and title changes, oldest first, as the Hub's events (records before them have none)
    events: list[dict] = field(default_factory=list)
    pull_request: bool = True

    @property
    def ref(self) -> str:
        return f"refs/pr/{self.num}"

    @property
    def comments(self) -> list[dict]:
        return [e for e in self.events if e["type"] == "comment"]


def now() -> str:
    """The time in the Hub's ISO-8601 format, to the millisecond (so one second's events keep their order)."""
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _path(repo: HubRepo, num: int) -> Path:
    return repo.path / PULLS_DIR / f"{num}.json"


def _written(repo: HubRepo, pr: PullRequest) -> str:
    """``pr``'s record in a new temporary file beside the records; its name."""
    folder = repo.path / PULLS_DIR
    folder.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=".pull-")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(pr), fh)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return name


def save(repo: HubRepo, pr: PullRequest) -> None:
    """Write ``pr``'s record whole (temporary file, then rename)."""
    name = _written(repo, pr)
    try:
        os.replace(name, _path(repo, pr.num))
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _claim(repo: HubRepo, pr: PullRequest) -> bool:
    """Put ``pr``'s record in place if its number is free (a hard link fails on an existing name)."""
    name = _written(repo, pr)
    try:
        os.link(name, _path(repo, pr.num))
        return True
    except FileExistsError:
        return False
    finally:
        Path(name).unlink(missing_ok=True)


def load(repo: HubRepo, num: int) -> PullRequest:
    """The discussion or pull request ``num``; 404 when there is none."""
    try:
        return PullRequest(**json.loads(_path(repo, num).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        raise HubError(404, f"Discussion #{num} not found in {repo.repo_id}.") from None


def _numbers(repo: HubRepo) -> list[int]:
    folder = repo.path / PULLS_DIR
    return [int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()] if folder.is_dir() else []


def every(repo: HubRepo) -> list[PullRequest]:
    """Every discussion and pull request of ``repo``, newest first (as the Hub lists them)."""
    return [load(repo, n) for n in sorted(_numbers(repo), reverse=True)]


def _next_number(repo: HubRepo) -> int:
    taken = _numbers(repo) + [int(ref.rsplit("/", 1)[1]) for ref in repo.pull_requests()]
    return 1 + max(taken, default=0)


def _description(author: str, text: str | None, head: str | None) -> list[dict]:
    """The comment opening a discussion (none without text), at the pull request's ``head``."""
    return [{**comment_event(author, text), "head": head}] if text and text.strip() else []


def _head(repo: HubRepo, pr: PullRequest) -> str | None:
    """The pull request's commit now (None for a discussion): an event made now follows the commits up to it."""
    return repo.resolve(pr.ref) if pr.pull_request else None


def _record(repo: HubRepo, pr: PullRequest, event: dict) -> dict:
    """Append ``event`` to ``pr``'s, placed after the pull request's commits so far."""
    pr.events.append({**event, "head": _head(repo, pr)})
    return event


def open_pull(repo: HubRepo, base: str, author: str, title: str, description: str | None = None) -> PullRequest:
    """Open ``refs/pr/<n>`` at ``base``'s head and record it (nothing is committed yet)."""
    start, opened = repo.resolve(base), now()  # opened before its description was written
    events = _description(author, description, start)
    for _ in range(_ATTEMPTS):
        num = _next_number(repo)
        if not repo.add_pull_request(num, start):
            continue  # another pull request took the number
        pr = PullRequest(num, base, start, author, title, opened, events=events)
        if _claim(repo, pr):
            return pr
        repo.close_pull_request(pr.ref)  # a discussion took the number
    raise HubError(503, "The repo is busy: too many discussions opened at once, try again.")


def open_discussion(repo: HubRepo, author: str, title: str, description: str | None = None) -> PullRequest:
    """Record a discussion without code (no ref: there are no commits to hold)."""
    opened = now()
    events = _description(author, description, None)
    for _ in range(_ATTEMPTS):
        pr = PullRequest(_next_number(repo), "", "", author, title, opened, events=events, pull_request=False)
        if _claim(repo, pr):
            return pr
    raise HubError(503, "The repo is busy: too many discussions opened at once, try again.")


@contextlib.contextmanager
def _locked(repo: HubRepo, num: int) -> Iterator[PullRequest]:
    """The record ``num``, loaded under its lock and saved when the block ends without an error."""
    load(repo, num)  # 404 before any lock file is made for a number that does not exist
    with open(repo.path / PULLS_DIR / f".{num}.lock", "a") as lock:  # flock: threads and processes alike wait
        fcntl.flock(lock, fcntl.LOCK_EX)
        pr = load(repo, num)
        yield pr
        save(repo, pr)


def author_of(repo: HubRepo, revision: str) -> str | None:
    """The author of the pull request ``revision`` names (``refs/pr/<n>``), None for any other revision."""
    if not PR_REF.fullmatch(revision):
        return None
    return load(repo, int(revision.rsplit("/", 1)[1])).author


def discard(repo: HubRepo, pr: PullRequest) -> None:
    """Remove a pull request whose first commit was refused: ref and record."""
    repo.close_pull_request(pr.ref)
    _path(repo, pr.num).unlink(missing_ok=True)


def _status_change(repo: HubRepo, pr: PullRequest, status: str, author: str) -> None:
    pr.status = status
    pr.changes.append({"status": status, "author": author, "createdAt": now(), "head": _head(repo, pr)})


def set_status(repo: HubRepo, num: int, status: str, author: str, comment: str | None = None) -> PullRequest:
    """Close or reopen discussion ``num``, recording the change (and ``comment``, posted first)."""
    with _locked(repo, num) as pr:
        if pr.status == "merged":
            raise HubError(400, f"Pull request #{pr.num} is merged: its status cannot change.")
        if comment:
            _record(repo, pr, comment_event(author, comment))
        _status_change(repo, pr, status, author)
    return pr


def check_text(text: object, what: str) -> str:
    """``text`` if it is a non-empty string of at most :data:`MAX_COMMENT` characters, else 400."""
    if not isinstance(text, str) or not text.strip():
        raise HubError(400, f"A {what} must be a non-empty string.")
    if len(text) > MAX_COMMENT:
        raise HubError(400, f"A {what} may be at most {MAX_COMMENT} characters long, this one has {len(text)}.")
    return text


def _version(author: str, text: str, stamp: str) -> dict:
    return {"raw": text, "updatedAt": stamp, "author": {"name": author}}


def comment_event(author: str, text: str) -> dict:
    """A new comment, as the Hub's event: ``data.latest`` its text, ``data.history`` earlier ones (see ``public``)."""
    stamp = now()
    return {
        "id": secrets.token_hex(12),
        "type": "comment",
        "createdAt": stamp,
        "author": {"name": author},
        "data": {
            "edited": False,
            "hidden": False,
            "latest": _version(author, check_text(text, "comment"), stamp),
            "numEdits": 0,
            "history": [],
        },
    }


def add_comment(repo: HubRepo, num: int, author: str, text: str) -> dict:
    """Post ``text`` on discussion ``num`` (open or not, as on the Hub); the new event."""
    event = comment_event(author, text)
    with _locked(repo, num) as pr:
        _record(repo, pr, event)
    return public(event)


def public(event: dict) -> dict:
    """``event`` as the API shows it: without the commit it was made at, a comment's versions with their HTML.

    The HTML (sanitised Markdown, :func:`~gmm_hub.localhub._pages.render_comment`) is made
    from the raw text each time, not stored: what is served never depends on stored markup.
    """
    out = {key: value for key, value in event.items() if key != "head"}
    if out["type"] == "comment":
        data = out["data"]
        html = [{**version, "html": render_comment(version["raw"])} for version in [data["latest"], *data["history"]]]
        out["data"] = {**data, "latest": html[0], "history": html[1:]}
    return out


def _find_comment(pr: PullRequest, comment_id: str) -> dict:
    for event in pr.comments:
        if event["id"] == comment_id:
            return event
    raise HubError(404, f"Comment {comment_id!r} not found in discussion #{pr.num}.")


def edit_comment(repo: HubRepo, num: int, comment_id: str, author: str, text: str) -> dict:
    """Replace comment ``comment_id``'s text (its author only); the earlier text goes to its history."""
    check_text(text, "comment")
    with _locked(repo, num) as pr:
        event = _find_comment(pr, comment_id)
        if event["author"]["name"] != author:
            raise HubError(403, f"Only {event['author']['name']!r}, who wrote comment {comment_id!r}, may edit it.")
        data = event["data"]
        if data["hidden"]:
            raise HubError(400, f"Comment {comment_id!r} is hidden: it cannot be edited.")
        data["history"].insert(0, data["latest"])
        data["latest"] = _version(author, text, now())
        data["edited"], data["numEdits"] = True, data["numEdits"] + 1
    return public(event)


def hide_comment(repo: HubRepo, num: int, comment_id: str, author: str, may_moderate: bool) -> dict:
    """Hide comment ``comment_id`` for good (its author, or a writer of the repo): its text and history are dropped."""
    with _locked(repo, num) as pr:
        event = _find_comment(pr, comment_id)
        if event["author"]["name"] != author and not may_moderate:
            raise HubError(403, f"Only the author of comment {comment_id!r} or the repo's writers may hide it.")
        data = event["data"]
        data["hidden"], data["history"] = True, []
        data["latest"] = _version(author, HIDDEN, now())
    return public(event)


def rename(repo: HubRepo, num: int, author: str, title: str) -> dict:
    """Change discussion ``num``'s title; the title-change event."""
    with _locked(repo, num) as pr:
        event = {
            "id": secrets.token_hex(12),
            "type": "title-change",
            "createdAt": now(),
            "author": {"name": author},
            "data": {"from": pr.title, "to": title},
        }
        pr.title = title
        _record(repo, pr, event)
    return event


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


#: Largest diff served with a pull request's details, in characters (the rest is cut, and says so).
MAX_DIFF = 1_000_000
#: Files larger than this are summarised in the diff, not compared line by line.
MAX_DIFF_FILE = 256 * 1024


def diff(repo: HubRepo, pr: PullRequest) -> str:
    """The pull request's changes since it was opened, as ``git diff`` prints them (LFS files as their pointers).

    Text files get unified hunks (three lines of context); binary files and files
    over :data:`MAX_DIFF_FILE` bytes a ``Binary files ... differ`` line, as git
    writes for binaries. The whole is cut at :data:`MAX_DIFF` characters.
    """
    before, after = repo.files(pr.start), repo.files(repo.resolve(pr.ref))
    text = "".join(
        _file_diff(repo, path, before.get(path), after.get(path)) for path in sorted(_changed(before, after))
    )
    return text if len(text) <= MAX_DIFF else text[:MAX_DIFF] + f"\n[diff cut at {MAX_DIFF} characters]\n"


def _file_diff(repo: HubRepo, path: str, old: Entry | None, new: Entry | None) -> str:
    """One file's part of :func:`diff`."""
    head = f"diff --git a/{path} b/{path}\n"
    if old is None and new is not None:
        head += f"new file mode {new.mode:o}\n"
    elif new is None and old is not None:
        head += f"deleted file mode {old.mode:o}\n"
    same_mode = f" {old.mode:o}" if old is not None and new is not None and old.mode == new.mode else ""
    head += f"index {old.oid[:7] if old else '0000000'}..{new.oid[:7] if new else '0000000'}{same_mode}\n"
    a, b = (f"a/{path}" if old else "/dev/null"), (f"b/{path}" if new else "/dev/null")
    texts = [_text(repo, old), _text(repo, new)]
    if texts[0] is None or texts[1] is None:
        return head + f"Binary files {a} and {b} differ\n"
    hunks = difflib.unified_diff(texts[0].splitlines(keepends=True), texts[1].splitlines(keepends=True), a, b)
    return head + "".join(line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in hunks)


def _text(repo: HubRepo, entry: Entry | None) -> str | None:
    """A blob's text ("" for no file), None when it is binary or too large to compare line by line."""
    if entry is None:
        return ""
    if entry.size > MAX_DIFF_FILE:
        return None
    data = repo.read_blob(entry.oid)
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def conflicts(repo: HubRepo, pr: PullRequest) -> list[str]:
    """Paths that both the pull request and its branch changed since its start, to different content."""
    start, ours, theirs = (repo.files(sha) for sha in (pr.start, repo.resolve(pr.base), repo.resolve(pr.ref)))
    changed_here = _changed(start, theirs)
    changed_there = _changed(start, ours)
    return sorted(p for p in changed_here & changed_there if _oid(ours, p) != _oid(theirs, p))


def merge(repo: HubRepo, num: int, author: str, comment: str | None = None) -> str:
    """Squash pull request ``num``'s changes onto its branch; the merge commit id. 409 on conflicts."""
    with _locked(repo, num) as pr:
        if not pr.pull_request:
            raise HubError(400, f"Discussion #{pr.num} is not a pull request: there is nothing to merge.")
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
        if comment:
            _record(repo, pr, comment_event(author, comment))
        pr.merge_commit = sha
        _status_change(repo, pr, "merged", author)
    return sha


def event_id(*parts: str) -> str:
    """A stable 24-hex-digit id, the shape of the Hub's event ids."""
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:24]


def _changed(before: dict, after: dict) -> set[str]:
    return {p for p in before.keys() | after.keys() if _oid(before, p) != _oid(after, p)}


def _oid(files: dict, path: str) -> str | None:
    entry = files.get(path)
    return None if entry is None else entry.oid
