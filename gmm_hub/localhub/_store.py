"""Every repo of a root: creation (built aside, renamed into place), lookup, listing and deletion."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from dulwich.errors import NotGitRepository
from dulwich.object_store import commit_tree_changes
from dulwich.objects import ZERO_SHA, Blob, Tree
from dulwich.repo import Repo

from ._errors import HubError, repo_not_found
from ._git import GRANTS_DIR, REPO_TYPES, HubRepo
from ._lfs import HUB_GITATTRIBUTES
from ._names import check_name, check_path, find_casefold, iso
from ._pulls import PULLS_DIR


def init_bare(path: Path, *, private: bool, created_at: str) -> Repo:
    """A new bare repository at ``path`` (an empty directory) whose HEAD is ``main``.

    The same files as ``git init --bare`` writes, without one fsync per file
    (``Repo.init_bare`` syncs each): the repository is not visible until it is
    renamed into place, and its first ref update is synced.
    """
    for folder in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "info"):
        (path / folder).mkdir(parents=True, exist_ok=True)
    (path / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    (path / "description").write_bytes(b"Unnamed repository; edit this file 'description' to name the repository.\n")
    write_config(path, private=private, created_at=created_at)
    return Repo(str(path))


def write_config(path: Path, *, private: bool, created_at: str) -> None:
    """A bare repository's git config with the Hub's settings of a new repo (visibility, creation time)."""
    (path / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
        f"[hub]\n\tprivate = {'true' if private else 'false'}\n\tcreatedAt = {created_at}\n"
    )


def _copy_repo(source: Path, target: Path) -> None:
    """Copy a bare repo's branches, tags, objects and LFS grants into ``target`` (refs first; no pull requests)."""
    locks = shutil.ignore_patterns("*.lock")
    shutil.copytree(source / "refs", target / "refs", ignore=shutil.ignore_patterns("*.lock", "pr"), dirs_exist_ok=True)
    if (source / "packed-refs").is_file():
        lines = (source / "packed-refs").read_bytes().splitlines(keepends=True)
        kept, dropping = [], False
        for line in lines:  # a peeled line (^...) belongs to the ref above it
            dropping = (line.startswith(b"^") and dropping) or b" refs/pr/" in line
            if not dropping:
                kept.append(line)
        (target / "packed-refs").write_bytes(b"".join(kept))
    for entry in sorted(source.iterdir()):
        if entry.name in ("refs", "packed-refs", "config", PULLS_DIR) or entry.name.endswith(".lock"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name, ignore=locks, dirs_exist_ok=True)
        else:
            shutil.copy2(entry, target / entry.name)


#: Repos kept open between requests (opening one parses its config: about 1 ms).
OPEN_REPOS = 256


class RepoStore:
    """Every repo under ``<root>/repos``.

    Open repos are reused between requests while their directory is the same one
    (same inode, same ``HEAD`` file) and no pack was added: a repo deleted, moved,
    re-created or pushed to, by this server or another on the same root, is opened
    afresh. Refs are read from disk every time; objects never change.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.repos = self.root / "repos"
        self.repos.mkdir(parents=True, exist_ok=True)
        self._open: OrderedDict[Path, tuple[tuple[int, ...], HubRepo]] = OrderedDict()
        self._lock = threading.Lock()

    def _open_repo(self, path: Path, repo_type: str, namespace: str, name: str) -> HubRepo | None:
        """The repo at ``path`` (kept open while its directory stays the same one), None if there is none."""
        try:
            head, folder = os.stat(path / "HEAD"), os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(head.st_mode):
            return None
        try:  # a new pack (git push, git gc): a fresh object store, so no thread sees its pack list change
            packs = os.stat(path / "objects" / "pack").st_mtime_ns
        except FileNotFoundError:
            packs = 0
        key = (folder.st_dev, folder.st_ino, head.st_ino, head.st_ctime_ns, packs)
        with self._lock:
            cached = self._open.get(path)
            if cached is not None and cached[0] == key:
                self._open.move_to_end(path)
                return cached[1]
        try:
            repo = HubRepo(path, repo_type, namespace, name)
        except NotGitRepository:
            return None
        with self._lock:
            self._open[path] = (key, repo)
            if len(self._open) > OPEN_REPOS:
                self._open.popitem(last=False)
        return repo

    def path(self, repo_type: str, namespace: str, name: str) -> Path:
        if repo_type not in REPO_TYPES:
            raise HubError(400, f"Unsupported repo type {repo_type!r}: expected one of {REPO_TYPES}.")
        return self.repos / f"{repo_type}s" / check_name(namespace, "namespace") / f"{check_name(name)}.git"

    def get(self, repo_type: str, namespace: str, name: str) -> HubRepo | None:
        """The repo, or None when it does not exist; ids match ignoring case, as on the Hub.

        The repo keeps the spelling it was created with (``alice/PUB`` asked as ``alice/pub``).
        """
        repo = self._open_repo(self.path(repo_type, namespace, name), repo_type, namespace, name)
        if repo is not None:
            return repo
        stored = find_casefold(self._named(repo_type, namespace), namespace, name)
        if stored is None:
            return None
        namespace, name = stored
        return self._open_repo(self.path(repo_type, namespace, name), repo_type, namespace, name)

    def _named(self, repo_type: str, namespace: str) -> Iterator[tuple[str, str]]:
        """``(namespace, name)`` of the repos of namespaces equal to ``namespace`` ignoring case."""
        base = self.repos / f"{repo_type}s"
        wanted = namespace.casefold()
        for folder in sorted(base.iterdir()) if base.is_dir() else ():
            if folder.name.casefold() != wanted or not folder.is_dir():
                continue
            for git_dir in sorted(folder.glob("*.git")):
                if (git_dir / "HEAD").is_file():
                    yield folder.name, git_dir.name.removesuffix(".git")

    def by_key(self, key: str) -> HubRepo | None:
        """The repo :attr:`HubRepo.key` names (None if it is gone or the key is malformed)."""
        repo_type, _, repo_id = key.partition("/")
        namespace, _, name = repo_id.partition("/")
        return self.get(repo_type, namespace, name) if repo_type in REPO_TYPES and namespace and name else None

    def require(self, repo_type: str, namespace: str, name: str) -> HubRepo:
        repo = self.get(repo_type, namespace, name)
        if repo is None:
            raise repo_not_found()
        return repo

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        """``(repo_type, namespace, name)`` of every repo."""
        for repo_type in REPO_TYPES:
            base = self.repos / f"{repo_type}s"
            for git_dir in sorted(base.glob("*/*.git")) if base.is_dir() else ():
                if (git_dir / "HEAD").is_file():
                    yield repo_type, git_dir.parent.name, git_dir.name.removesuffix(".git")

    @contextlib.contextmanager
    def _built_aside(self, repo_type: str, namespace: str, name: str) -> Iterator[Path]:
        """A temporary directory to build a new repo in, renamed into place after the block (409 if taken).

        A reader never sees half a repo, and two creators cannot both win.
        """
        final = self.path(repo_type, namespace, name)
        existing = self.get(repo_type, namespace, name)
        if existing is not None:
            raise HubError(409, f"You already created this {repo_type} repo: {existing.repo_id}.")
        if (final / "HEAD").is_file():
            raise HubError(409, f"You already created this {repo_type} repo: {namespace}/{name}.")
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".new-{name}-"))
        try:
            yield tmp
            try:
                os.rename(tmp, final)
            except OSError:
                raise HubError(409, f"You already created this {repo_type} repo: {namespace}/{name}.") from None
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _opened(self, repo_type: str, namespace: str, name: str) -> HubRepo:
        final = self.path(repo_type, namespace, name)
        return self._open_repo(final, repo_type, namespace, name) or HubRepo(final, repo_type, namespace, name)

    def create(
        self,
        repo_type: str,
        namespace: str,
        name: str,
        *,
        private: bool,
        author: str,
        files: dict[str, bytes] | None = None,
        created_at: str | None = None,
    ) -> HubRepo:
        """Create a repo whose ``main`` holds one commit with ``.gitattributes`` (409 if it exists), built aside."""
        with self._built_aside(repo_type, namespace, name) as tmp:
            git: Any = init_bare(tmp, private=private, created_at=created_at or iso(int(time.time())))
            repo = HubRepo(tmp, repo_type, namespace, name, git=git)
            changes: list[tuple[bytes, int | None, bytes | None]] = []
            for path, content in sorted((files or {".gitattributes": HUB_GITATTRIBUTES}).items()):
                blob = Blob.from_string(content)
                repo._objects.add_object(blob)
                changes.append((check_path(path).encode(), stat.S_IFREG | 0o644, blob.id))
            tree = commit_tree_changes(git.object_store, Tree(), cast(Any, changes))
            first = repo._make_commit(tree, [], "initial commit", "", author)
            git.refs.set_if_equals(b"refs/heads/main", ZERO_SHA, first)
            git.close()
            (tmp / GRANTS_DIR).mkdir()  # a new repo has no LFS object yet: nothing to backfill
        return self._opened(repo_type, namespace, name)

    def duplicate(self, source: HubRepo, namespace: str, name: str, *, private: bool, created_at: str) -> HubRepo:
        """A new repo holding ``source``'s branches and tags, history included (409 if the name is taken).

        Its pull requests and discussions stay behind. The copy is built aside and
        renamed into place, like a new repo. Refs are copied before objects: every
        object a ref needs was written before the ref moved to it, so the copy is
        whole even while ``source`` takes new commits. The LFS grants are copied too,
        and the content stays in the shared store.
        """
        with self._built_aside(source.repo_type, namespace, name) as tmp:
            _copy_repo(source.path, tmp)
            write_config(tmp, private=private, created_at=created_at)
        return self._opened(source.repo_type, namespace, name)

    def delete(self, repo: HubRepo) -> None:
        """Remove a repo at once (renamed away, then deleted); LFS content stays in the shared store."""
        trash = repo.path.with_name(f".deleted-{repo.name}-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(repo.path, trash)
        with self._lock:
            self._open.pop(repo.path, None)
        shutil.rmtree(trash, ignore_errors=True)
