"""Repositories of the local Hub: one bare git repository per repo, written through dulwich.

Layout under ``root``::

    repos/<type>s/<namespace>/<name>.git/   a bare git repository; its config's
                                            [hub] section holds private / createdAt
    lfs/objects/ab/cd/<sha256>              LFS content (:mod:`gmm_hub.localhub._lfs`)

A commit made through the API is a git commit, and its id is the id the client
sees. Branch updates are a compare-and-swap (:meth:`dulwich.refs.DiskRefsContainer.set_if_equals`)
under git's own ``.lock`` files, retried on top of the new head when another writer
won: two threads or two server processes on one root never lose an acknowledged
commit. Objects are content-addressed, so writing one twice is harmless.
The repos of a root are created, found and deleted by :class:`gmm_hub.localhub._store.RepoStore`.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from dulwich.file import FileLocked
from dulwich.object_store import commit_tree_changes, iter_tree_contents
from dulwich.objects import Blob, Commit, Tag
from dulwich.repo import Repo

from ._errors import HubError, revision_not_found
from ._lfs import LfsPointer, parse_pointer
from ._names import check_name, check_path, check_ref, identity, iso

__all__ = ["Addition", "Deletion", "Entry", "HubRepo", "Memo", "check_name", "check_path", "check_ref", "iso"]

REPO_TYPES = ("model", "dataset")
_HEX_RE = re.compile(r"^[0-9a-f]{7,40}$")
_CAS_ATTEMPTS = 200
#: A pull request's ref, as the Hub names them (``CommitInfo.pr_revision``).
PR_REF = re.compile(r"refs/pr/[1-9][0-9]{0,8}")
#: zlib level of new loose objects. Git's default (6) took about 5 ms per push of a card and a
#: config of 100 KB each; level 1 is about three times faster, any level reads the same, and
#: ``git gc`` recompresses into packs anyway.
LOOSE_COMPRESSION = 1


@dataclass(frozen=True)
class CommitInfo:
    """A commit as the API shows it."""

    id: str
    title: str
    message: str
    author: str
    date: str
    parents: tuple[str, ...]
    tree: str


@dataclass(frozen=True)
class Entry:
    """A file of a tree: git ``oid`` (blob sha1), ``size`` of the blob, and the LFS pointer if it is one."""

    path: str
    mode: int
    oid: str
    size: int
    lfs: LfsPointer | None = None

    @property
    def content_size(self) -> int:
        """Size of the file's content (the LFS object for a pointer)."""
        return self.lfs.size if self.lfs else self.size


@dataclass(frozen=True)
class Addition:
    """A file to write: ``blob`` is what goes in the tree (the pointer for LFS content)."""

    path: str
    blob: bytes


@dataclass(frozen=True)
class Deletion:
    path: str
    folder: bool = False


#: The directory of a repo (beside git's own) holding its LFS grants, one empty file per object.
GRANTS_DIR = "lfs-grants"


class Memo:
    """A bounded, thread-safe map for facts about git objects: an id never changes meaning,
    so what was read once is true in every repo and every process, and nothing is invalidated."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)


_FACTS = Memo(100_000)  # blob id -> (size, pointer)
_PEELED = Memo(100_000)  # commit or tag id -> the commit id it peels to ("" for neither)
_BLOBS = Memo(64)  # blob id -> content of blobs up to _BLOB_MEMO_BYTES (cards, configs): 16 MiB at most
_BLOB_MEMO_BYTES = 256 * 1024
_COMMITS = Memo(10_000)  # commit id -> CommitInfo
_TREES = Memo(1_000)  # tree id -> {path: Entry} of every file below it


def _blob_facts(objects: Any, oid: bytes) -> tuple[int, LfsPointer | None]:
    facts = _FACTS.get(oid)
    if facts is None:
        data = objects[oid].as_raw_string()
        facts = (len(data), parse_pointer(data))
        _FACTS.put(oid, facts)
    return facts


def _split_message(raw: bytes) -> tuple[str, str]:
    text = raw.decode("utf-8", "replace").removesuffix("\n")
    title, _, rest = text.partition("\n")
    return title, rest.removeprefix("\n")


class HubRepo:
    """One repo: a bare git repository plus the Hub's view of it (``private``, ``createdAt``)."""

    def __init__(self, path: Path, repo_type: str, namespace: str, name: str, *, git: Repo | None = None) -> None:
        self.path = path
        self.repo_type, self.namespace, self.name = repo_type, namespace, name
        self.git = Repo(str(path)) if git is None else git  # ``git``: the repository at ``path``, already open
        # dulwich types refs and ids as NewTypes of bytes; this module passes plain bytes
        self._refs: Any = self.git.refs
        self._objects: Any = self.git.object_store
        self._objects.loose_compression_level = LOOSE_COMPRESSION
        self._config: tuple[tuple[int, int, int], Any] | None = None

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def key(self) -> str:
        """``type/namespace/name``: how a signed link or a CAS token names the repo (:meth:`RepoStore.by_key`)."""
        return f"{self.repo_type}/{self.repo_id}"

    # -- LFS grants -------------------------------------------------------------
    # The LFS store is shared by every repo (content-addressed), so knowing an object's sha256 must
    # not be enough to read it: a repo may name (commit, serve, hand out) only the LFS objects that
    # were uploaded to it, which proves their content was had. The grants live in the repo's
    # directory, so they move and disappear with it.
    def _grant_path(self, oid: str) -> Path:
        return self.path / GRANTS_DIR / oid[:2] / oid

    def grant_lfs(self, oid: str) -> None:
        """Record that ``oid``'s content was uploaded to this repo."""
        path = self._grant_path(oid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def lfs_granted(self, oid: str) -> bool:
        """Whether ``oid`` was uploaded to this repo (or was in it before grants were kept)."""
        return self._grant_path(oid).is_file()

    def granted_lfs(self) -> dict[str, float]:
        """Every LFS object uploaded to this repo, with when (Unix time)."""
        base = self.path / GRANTS_DIR
        return {p.name: p.stat().st_mtime for p in base.glob("*/*") if p.is_file()} if base.is_dir() else {}

    def revoke_lfs(self, oid: str) -> None:
        """Forget that ``oid`` was uploaded to this repo (it can no longer name or serve it)."""
        self._grant_path(oid).unlink(missing_ok=True)

    def lfs_pointers(self) -> Iterator[tuple[str, LfsPointer]]:
        """``(path, pointer)`` of every LFS file of every commit reachable from a branch or tag, newest first."""
        heads = [sha.encode() for sha in {*self.branches().values(), *self.tags().values()}]
        for walked in self.git.get_walker(include=cast(Any, heads)) if heads else []:
            for entry in self.files(walked.commit.id.decode()).values():
                if entry.lfs is not None:
                    yield entry.path, entry.lfs

    def backfill_lfs_grants(self) -> None:
        """Grant every LFS object a commit of this repo names, once, for repos written before grants existed."""
        if (self.path / GRANTS_DIR).is_dir():
            return
        for _, pointer in self.lfs_pointers():
            self.grant_lfs(pointer.oid)
        (self.path / GRANTS_DIR).mkdir(exist_ok=True)

    # -- settings -------------------------------------------------------------
    def _read_config(self) -> Any:
        """The git config, parsed again only when the file changed (another server may write it).

        Every write replaces the file (lock file, then rename), so its inode changes.
        """
        info = os.stat(self.path / "config")
        key = (info.st_ino, info.st_mtime_ns, info.st_size)
        cached = self._config
        if cached is None or cached[0] != key:
            cached = self._config = (key, self.git.get_config())
        return cached[1]

    def setting(self, key: str, default: str = "") -> str:
        try:
            return self._read_config().get((b"hub",), key.encode()).decode()
        except KeyError:
            return default

    def set_setting(self, key: str, value: str) -> None:
        """Store a repo setting in the git config (written to a lock file, then renamed)."""
        config = self.git.get_config()
        config.set((b"hub",), key.encode(), value.encode())
        config.write_to_path()

    @property
    def private(self) -> bool:
        return self.setting("private", "false") == "true"

    @property
    def created_at(self) -> str:
        return self.setting("createdAt")

    # -- reading --------------------------------------------------------------
    def _peel(self, sha: bytes) -> bytes:
        peeled = _PEELED.get(sha)
        if peeled is None:
            obj = self._objects[sha]
            while isinstance(obj, Tag):
                obj = self._objects[obj.object[1]]
            peeled = obj.id if isinstance(obj, Commit) else b""
            _PEELED.put(sha, peeled)
        if not peeled:
            raise HubError(400, "The revision does not point to a commit.")
        return cast(bytes, peeled)

    def _is_commit(self, sha: bytes) -> bool:
        """Whether this repo holds the commit ``sha`` (a full id): a lookup, the object read once per process."""
        if sha not in self._objects:
            return False
        try:
            return self._peel(sha) == sha  # a tag object peels to another id: not a commit id
        except HubError:
            return False

    def resolve(self, revision: str) -> str:
        """Map a branch, tag, ``refs/heads/x``, ``refs/tags/x`` or (a prefix of) a commit id to a commit id."""
        if not isinstance(revision, str) or not revision or len(revision) > 255:
            raise revision_not_found(str(revision)[:255])
        refs = [revision] if revision.startswith("refs/") else [f"refs/heads/{revision}", f"refs/tags/{revision}"]
        for ref in refs:
            try:
                check_ref(ref)
                sha = self._refs[ref.encode()]
            except (HubError, KeyError, ValueError):
                continue
            return self._peel(sha).decode()
        if len(revision) == 40 and _HEX_RE.match(revision):
            if self._is_commit(revision.encode()):
                return revision
        elif _HEX_RE.match(revision):
            found = set()
            for sha in self._objects.iter_prefix(revision.encode()):
                if isinstance(self._objects[sha], Commit):
                    found.add(sha)
            if len(found) == 1:
                return found.pop().decode()
        raise revision_not_found(revision)

    def commit_info(self, sha: str) -> CommitInfo:
        cached = _COMMITS.get(sha)
        if cached is not None:
            return cast(CommitInfo, cached)
        obj = self._objects[sha.encode()]
        assert isinstance(obj, Commit)
        title, message = _split_message(obj.message)
        author = obj.author.decode("utf-8", "replace").split(" <", 1)[0]
        info = CommitInfo(
            obj.id.decode(),
            title,
            message,
            author,
            iso(obj.author_time),
            tuple(p.decode() for p in obj.parents),
            obj.tree.decode(),
        )
        _COMMITS.put(sha, info)
        return info

    def history(self, sha: str) -> list[CommitInfo]:
        """Commits reachable from ``sha`` by first parents, newest first."""
        out: list[CommitInfo] = []
        current: str | None = sha
        while current:
            info = self.commit_info(current)
            out.append(info)
            current = info.parents[0] if info.parents else None
        return out

    def files(self, sha: str) -> dict[str, Entry]:
        """Every file of the commit ``sha``: ``{path: Entry}``, sorted by path."""
        tree = self.commit_info(sha).tree.encode()
        cached = _TREES.get(tree)
        if cached is not None:
            return dict(cached)  # a copy: callers may change theirs
        out = {}
        for item in iter_tree_contents(self._objects, cast(Any, tree)):
            if item.path is None or item.mode is None or item.sha is None or stat.S_ISDIR(item.mode):
                continue
            if stat.S_ISLNK(item.mode) or not stat.S_ISREG(item.mode):
                continue  # submodules and symlinks: not Hub files
            size, pointer = _blob_facts(self._objects, item.sha)
            path = item.path.decode("utf-8", "replace")
            out[path] = Entry(path, item.mode, item.sha.decode(), size, pointer)
        files = dict(sorted(out.items()))
        _TREES.put(tree, files)
        return dict(files)

    def read_blob(self, oid: str) -> bytes:
        data = _BLOBS.get(oid)
        if data is None:
            data = self._objects[oid.encode()].as_raw_string()
            if len(data) <= _BLOB_MEMO_BYTES:
                _BLOBS.put(oid, data)
        return cast(bytes, data)

    def branches(self) -> dict[str, str]:
        refs = self._refs.as_dict(b"refs/heads")
        return {name.decode(): sha.decode() for name, sha in sorted(refs.items())}

    def pull_requests(self) -> dict[str, str]:
        """``{refs/pr/<n>: commit id}``, in the order they were opened."""
        refs = self._refs.as_dict(b"refs/pr")
        return {f"refs/pr/{int(n)}": refs[n].decode() for n in sorted(refs, key=int) if n.isdigit()}

    def add_pull_request(self, num: int, start: str) -> bool:
        """``refs/pr/<num>`` at commit ``start``, if no such ref exists yet (False if one does)."""
        return self._set_ref(f"refs/pr/{num}".encode(), None, start.encode())

    def close_pull_request(self, ref: str) -> None:
        """Remove ``ref`` (a pull request whose first commit failed: nothing is left half-opened)."""
        self._remove_ref(ref.encode(), f"Pull request {ref!r}")

    def tags(self) -> dict[str, str]:
        """``{tag: commit id}`` (annotated tags peeled to their commit)."""
        refs = self._refs.as_dict(b"refs/tags")
        return {name.decode(): self._peel(sha).decode() for name, sha in sorted(refs.items())}

    # -- writing --------------------------------------------------------------
    def _set_ref(self, ref: bytes, old: bytes | None, new: bytes) -> bool:
        """Compare-and-swap ``ref`` from ``old`` (None: must not exist) to ``new``; False if another writer won."""
        for _ in range(_CAS_ATTEMPTS):
            try:
                if old is None:
                    return bool(self._refs.add_if_new(ref, new))
                return bool(self._refs.set_if_equals(ref, old, new))
            except FileLocked:
                time.sleep(0.002)  # another thread or process holds ref.lock
        raise HubError(503, "The branch is busy: too many concurrent writers, try again.", headers={"Retry-After": "1"})

    def commit(
        self,
        branch: str,
        additions: list[Addition],
        deletions: list[Deletion],
        *,
        title: str,
        message: str,
        author: str,
        parent_commit: str | None = None,
    ) -> str:
        """Apply ``additions`` and ``deletions`` on top of ``branch`` (or a pull request's ``refs/pr/<n>``).

        Returns the new commit id.

        If another writer moves the branch meanwhile, the changes are applied again on
        top of the new head (unless ``parent_commit`` pins the head: then 412).
        """
        ref = (branch if PR_REF.fullmatch(branch) else f"refs/heads/{check_ref(branch)}").encode()
        store = self._objects
        blobs = {}
        for add in additions:
            blob = Blob.from_string(add.blob)
            store.add_object(blob)  # content-addressed: idempotent
            blobs[add.path] = blob.id
        for _ in range(_CAS_ATTEMPTS):
            try:
                head = self._refs[ref]
            except KeyError:
                if f"refs/tags/{branch}".encode() in self._refs or _HEX_RE.match(branch):
                    raise HubError(400, f"Cannot commit to {branch!r}: it is not a branch.") from None
                raise revision_not_found(branch) from None
            if parent_commit is not None and not head.decode().startswith(parent_commit):
                raise HubError(412, f"A commit has happened since {parent_commit}. Please refresh and try again.")
            head_commit = store[head]
            assert isinstance(head_commit, Commit)
            changes: list[tuple[bytes, int | None, bytes | None]] = []
            if deletions:
                present = self.files(head.decode())
                for gone in deletions:
                    prefix = gone.path.rstrip("/") + "/"
                    hit = [p for p in present if p.startswith(prefix)] if gone.folder else []
                    hit += [gone.path] if gone.path in present else []
                    if not hit:
                        raise HubError(404, f"A file with this name doesn't exist: {gone.path}", "EntryNotFound")
                    changes += [(p.encode(), None, None) for p in hit]
            changes += [(path.encode(), stat.S_IFREG | 0o644, sha) for path, sha in blobs.items()]
            tree = commit_tree_changes(store, head_commit.tree, cast(Any, changes)) if changes else head_commit.tree
            new = self._make_commit(tree, [head], title, message, author)
            if self._set_ref(ref, head, new):
                return new.decode()
        raise HubError(503, "The branch is busy: too many concurrent writers, try again.", headers={"Retry-After": "1"})

    def _make_commit(self, tree: bytes, parents: list[bytes], title: str, message: str, author: str) -> bytes:
        commit = Commit()
        commit.tree = tree
        commit.parents = cast(Any, parents)
        commit.author = commit.committer = identity(author)
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        text = title if not message else f"{title}\n\n{message}"
        commit.message = text.encode() + b"\n"
        self._objects.add_object(commit)
        return commit.id

    def squash(self, branch: str, *, title: str, author: str) -> str:
        """Replace ``branch``'s history by one commit of its head's tree (``super_squash_history``).

        Tags keep the commits they point to; the branch's old commits stay in the
        object store, as git leaves them, reachable from those tags only.
        """
        ref = f"refs/heads/{check_ref(branch)}".encode()
        for _ in range(_CAS_ATTEMPTS):
            try:
                head = self._refs[ref]
            except KeyError:
                if f"refs/tags/{branch}".encode() in self._refs:
                    raise HubError(400, f"Cannot squash {branch!r}: it is a tag, not a branch.") from None
                raise revision_not_found(branch) from None
            head_commit = self._objects[head]
            assert isinstance(head_commit, Commit)
            new = self._make_commit(head_commit.tree, [], title, "", author)
            if self._set_ref(ref, head, new):
                return new.decode()
        raise HubError(503, "The branch is busy: too many concurrent writers, try again.", headers={"Retry-After": "1"})

    def create_branch(self, name: str, start: str) -> None:
        if not self._set_ref(f"refs/heads/{check_ref(name)}".encode(), None, start.encode()):
            raise HubError(409, f"Branch {name!r} already exists.")

    def delete_branch(self, name: str) -> None:
        if name == "main":
            raise HubError(403, "The main branch cannot be deleted.")
        self._remove_ref(f"refs/heads/{check_ref(name)}".encode(), f"Branch {name!r}")

    def create_tag(self, name: str, target: str, *, message: str | None, tagger: str) -> None:
        """Tag ``target``: an annotated tag (a git ``Tag`` object) when ``message`` is given."""
        ref = f"refs/tags/{check_ref(name)}".encode()
        value = target.encode()
        if message:
            tag = Tag()
            tag.name = name.encode()
            tag.object = (Commit, value)
            tag.tagger = identity(tagger)
            tag.tag_time = int(time.time())
            tag.tag_timezone = 0
            tag.message = message.encode() + b"\n"
            self._objects.add_object(tag)
            value = tag.id
        if not self._set_ref(ref, None, value):
            raise HubError(409, f"Tag {name!r} already exists.")

    def delete_tag(self, name: str) -> None:
        self._remove_ref(f"refs/tags/{check_ref(name)}".encode(), f"Tag {name!r}")

    def _remove_ref(self, ref: bytes, what: str) -> None:
        for _ in range(_CAS_ATTEMPTS):
            try:
                old = self._refs[ref]
            except KeyError:
                raise HubError(404, f"{what} not found.", "RevisionNotFound") from None
            try:
                if self._refs.remove_if_equals(ref, old):
                    return
            except FileLocked:
                time.sleep(0.002)
        raise HubError(503, "The ref is busy, try again.", headers={"Retry-After": "1"})
