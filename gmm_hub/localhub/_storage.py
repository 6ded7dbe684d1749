"""On-disk storage of the local Hub server (:mod:`gmm_hub.localhub._server`).

Layout under ``root``::

    objects/ab/cdef...           file contents, keyed by their git blob sha1
    repos/<type>s/<ns>/<name>/
        repo.json                {"private": bool, "createdAt": iso, ...}
        refs.json                {"branches": {name: sha}, "tags": {name: sha}}
        commits/<sha>.json       {"id", "parents", "title", "message", "author",
                                  "date", "files": {path: {"oid", "size"}}}

A commit is a full snapshot (path -> blob), so reading a revision never walks
history. Every write goes to a temporary file in the same directory and is
moved into place with :func:`os.replace`, so a crash never leaves a torn file.
Everything is read from disk on each request: a new server on the same root
sees every commit of the previous one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO_TYPES = ("model", "dataset")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
GITATTRIBUTES = b"*.skops filter=lfs diff=lfs merge=lfs -text\n*.joblib filter=lfs diff=lfs merge=lfs -text\n"


class StorageError(Exception):
    """A request the storage refuses; ``status`` and ``code`` map it to HTTP."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def git_blob_sha1(content: bytes) -> str:
    """Return the git object id of ``content`` (what the Hub uses as ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def now_iso() -> str:
    """Current UTC time in the Hub's ISO-8601 format."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def check_name(value: str, what: str = "name") -> str:
    """Validate a namespace or repo name (no ``..``, no separators)."""
    if not isinstance(value, str) or not _NAME_RE.match(value) or ".." in value:
        raise StorageError(400, f"Invalid {what} {value!r}: expected letters, digits, '-', '_' or '.'.")
    return value


def check_ref(value: str) -> str:
    """Validate a branch or tag name."""
    if (
        not isinstance(value, str)
        or not _REF_RE.match(value)
        or any(part in ("", ".", "..") for part in value.split("/"))
    ):
        raise StorageError(400, f"Invalid revision name {value!r}.")
    return value


def check_path(value: str) -> str:
    """Validate a file path inside a repo: relative, no ``..``, ``.`` or empty parts."""
    if (
        not isinstance(value, str)
        or not value
        or value.startswith("/")
        or "\\" in value
        or "\0" in value
        or any(part in ("", ".", "..") for part in value.split("/"))
    ):
        raise StorageError(400, f"Invalid path {value!r}: paths must be relative and must not contain '..'.")
    return value


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, obj: Any) -> None:
    _atomic_write(path, json.dumps(obj, indent=1, sort_keys=True).encode())


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


class HubStorage:
    """Repositories, commits and blobs of the local Hub, stored under ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()  # serialises every write

    # -- repos ---------------------------------------------------------------
    def repo_dir(self, repo_type: str, namespace: str, name: str) -> Path:
        if repo_type not in REPO_TYPES:
            raise StorageError(400, f"Unsupported repo type {repo_type!r}: expected one of {REPO_TYPES}.")
        return self.root / "repos" / f"{repo_type}s" / check_name(namespace, "namespace") / check_name(name)

    def repo_meta(self, repo_type: str, namespace: str, name: str) -> dict | None:
        """Return the repo's metadata, or None when it does not exist."""
        path = self.repo_dir(repo_type, namespace, name) / "repo.json"
        return _read_json(path) if path.is_file() else None

    def create_repo(self, repo_type: str, namespace: str, name: str, *, private: bool, author: str) -> str:
        """Create a repo with an initial commit holding ``.gitattributes``; return that commit id."""
        with self.lock:
            rdir = self.repo_dir(repo_type, namespace, name)
            if (rdir / "repo.json").is_file():
                raise StorageError(409, f"You already created this {repo_type} repo: {namespace}/{name}.")
            _write_json(rdir / "refs.json", {"branches": {}, "tags": {}})
            sha = self._write_commit(
                rdir,
                parent=None,
                files={},
                additions={".gitattributes": GITATTRIBUTES},
                deletions=(),
                title="initial commit",
                message="",
                author=author,
            )
            _write_json(rdir / "refs.json", {"branches": {"main": sha}, "tags": {}})
            _write_json(rdir / "repo.json", {"private": bool(private), "createdAt": now_iso(), "author": namespace})
            return sha

    def delete_repo(self, repo_type: str, namespace: str, name: str) -> None:
        """Remove a repo (its blobs stay in the shared object store)."""
        with self.lock:
            rdir = self.repo_dir(repo_type, namespace, name)
            trash = rdir.with_name(f".deleted-{name}-{os.getpid()}-{threading.get_ident()}")
            os.replace(rdir, trash)  # atomic: the repo disappears at once
            for path in sorted(trash.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            trash.rmdir()

    # -- refs and commits ----------------------------------------------------
    def refs(self, rdir: Path) -> dict:
        return _read_json(rdir / "refs.json")

    def commit(self, rdir: Path, sha: str) -> dict:
        return _read_json(rdir / "commits" / f"{sha}.json")

    def resolve(self, rdir: Path, revision: str) -> str:
        """Map a branch, tag, ``refs/heads/x``, ``refs/tags/x`` or (prefix of a) commit id to a commit id."""
        refs = self.refs(rdir)
        for prefix, kind in (("refs/heads/", "branches"), ("refs/tags/", "tags")):
            if revision.startswith(prefix) and revision[len(prefix) :] in refs[kind]:
                return refs[kind][revision[len(prefix) :]]
        if revision in refs["branches"]:
            return refs["branches"][revision]
        if revision in refs["tags"]:
            return refs["tags"][revision]
        if re.fullmatch(r"[0-9a-f]{7,40}", revision):
            matches = [p.stem for p in (rdir / "commits").glob(f"{revision}*.json")]
            if len(matches) == 1:
                return matches[0]
        raise StorageError(404, f"Invalid rev id: {revision}", code="RevisionNotFound")

    def set_ref(self, rdir: Path, kind: str, name: str, sha: str | None, *, exist_ok: bool = False) -> None:
        """Create (``sha`` given) or delete (``sha=None``) a branch or tag."""
        with self.lock:
            refs = self.refs(rdir)
            if sha is None:
                if name not in refs[kind]:
                    raise StorageError(404, f"{kind[:-1].capitalize()} {name!r} not found.", code="RevisionNotFound")
                del refs[kind][name]
            else:
                check_ref(name)
                if name in refs[kind] and not exist_ok:
                    raise StorageError(409, f"{kind[:-1].capitalize()} {name!r} already exists.")
                refs[kind][name] = sha
            _write_json(rdir / "refs.json", refs)

    def commit_to_branch(
        self,
        rdir: Path,
        branch: str,
        *,
        additions: dict[str, bytes],
        deletions: list[tuple[str, bool]],
        title: str,
        message: str,
        author: str,
        parent_commit: str | None = None,
    ) -> str:
        """Apply ``additions`` and ``deletions`` ((path, is_folder)) on top of ``branch``; return the new commit id."""
        with self.lock:
            refs = self.refs(rdir)
            if branch not in refs["branches"]:
                if branch in refs["tags"] or _SHA_RE.match(branch):
                    raise StorageError(400, f"Cannot commit to {branch!r}: it is not a branch.")
                raise StorageError(404, f"Invalid rev id: {branch}", code="RevisionNotFound")
            head = refs["branches"][branch]
            if parent_commit is not None and not head.startswith(parent_commit):
                raise StorageError(412, f"A commit has happened since {parent_commit}. Please refresh and try again.")
            files = dict(self.commit(rdir, head)["files"])
            for path, is_folder in deletions:
                if is_folder:
                    prefix = path.rstrip("/") + "/"
                    gone = [p for p in files if p.startswith(prefix)]
                else:
                    gone = [path] if path in files else []
                if not gone:
                    raise StorageError(404, f"A file with this name doesn't exist: {path}", code="EntryNotFound")
                for p in gone:
                    del files[p]
            sha = self._write_commit(
                rdir,
                parent=head,
                files=files,
                additions=additions,
                deletions=(),
                title=title,
                message=message,
                author=author,
            )
            refs["branches"][branch] = sha
            _write_json(rdir / "refs.json", refs)
            return sha

    def _write_commit(self, rdir, *, parent, files, additions, deletions, title, message, author) -> str:
        files = dict(files)
        for path, content in additions.items():
            oid = git_blob_sha1(content)
            blob = self.blob_path(oid)
            if not blob.is_file():
                _atomic_write(blob, content)
            files[path] = {"oid": oid, "size": len(content)}
        record = {
            "parents": [parent] if parent else [],
            "title": title,
            "message": message,
            "author": author,
            "date": now_iso(),
            "files": dict(sorted(files.items())),
        }
        sha = hashlib.sha1(json.dumps(record, sort_keys=True).encode()).hexdigest()
        record["id"] = sha
        _write_json(rdir / "commits" / f"{sha}.json", record)
        return sha

    def history(self, rdir: Path, sha: str) -> list[dict]:
        """Commits reachable from ``sha`` by first parents, newest first."""
        out = []
        current: str | None = sha
        while current:
            record = self.commit(rdir, current)
            out.append(record)
            current = record["parents"][0] if record["parents"] else None
        return out

    # -- blobs ---------------------------------------------------------------
    def blob_path(self, oid: str) -> Path:
        if not _SHA_RE.match(oid):
            raise StorageError(400, f"Invalid object id {oid!r}.")
        return self.root / "objects" / oid[:2] / oid[2:]
