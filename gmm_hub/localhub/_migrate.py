"""Roots written by gmm_hub 0.1.0 become git repositories on first start.

The 0.1.0 layout (``gmm_hub/localhub/_storage.py`` of that release)::

    objects/ab/cdef...                    file contents by git blob sha1
    repos/<type>s/<ns>/<name>/repo.json   {"private", "createdAt", ...}
                             refs.json    {"branches": {name: id}, "tags": {name: id}}
                             commits/<id>.json  a full snapshot: files, parents, title...

Each such repo is rebuilt as a bare git repository: every commit reachable from a
branch or tag is replayed in order with its title, message, author and date; the
files go to the tree as the Hub stores them (binary and >10 MB files through the LFS
store). Commit ids change (they become git ids): each ``old -> new`` is logged. The
git repository is built in a temporary directory and renamed into place; only then
is the old directory moved to ``<root>/migrated-0.1.0/``, so an interrupted
migration is simply done again on the next start.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from dulwich.object_store import commit_tree_changes
from dulwich.objects import Blob, Commit, Tree

from ._errors import HubError
from ._git import REPO_TYPES
from ._lfs import HUB_GITATTRIBUTES, LfsStore, goes_to_lfs, lfs_patterns, matches
from ._names import check_name, check_path, check_ref, identity
from ._store import init_bare

logger = logging.getLogger(__name__)
BACKUP = "migrated-0.1.0"


class MigrationError(HubError, ValueError):
    """A 0.1.0 root that cannot be migrated."""


def old_repos(root: Path) -> list[tuple[str, str, str, Path]]:
    """``(repo_type, namespace, name, directory)`` of every 0.1.0 repo under ``root``."""
    found = []
    for repo_type in REPO_TYPES:
        for meta in sorted((root / "repos" / f"{repo_type}s").glob("*/*/repo.json")):
            folder = meta.parent
            if not folder.name.endswith(".git"):
                found.append((repo_type, folder.parent.name, folder.name, folder))
    return found


def _timestamp(date: str) -> int:
    try:
        return int(datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp())
    except (AttributeError, ValueError):
        return int(time.time())


def _migrate_repo(root: Path, lfs: LfsStore, repo_type: str, ns: str, name: str, folder: Path) -> dict[str, str]:
    check_name(ns, "namespace"), check_name(name)
    meta = json.loads((folder / "repo.json").read_text())
    refs = json.loads((folder / "refs.json").read_text())
    final = folder.with_name(f"{name}.git")
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".migrate-{name}-"))
    new_ids: dict[str, str] = {}
    try:
        git: Any = init_bare(tmp, private=bool(meta.get("private")), created_at=str(meta.get("createdAt", "")))

        def replay(old: str) -> str:
            chain = []
            current: str | None = old
            while current and current not in new_ids:
                record = json.loads((folder / "commits" / f"{current}.json").read_text())
                chain.append(record)
                current = record["parents"][0] if record["parents"] else None
            for record in reversed(chain):
                files = record["files"]
                attributes = b""
                if ".gitattributes" in files:
                    attributes = _read_old_blob(root, files[".gitattributes"]["oid"])
                patterns = lfs_patterns(attributes or HUB_GITATTRIBUTES)
                changes = []
                for path, info in sorted(files.items()):
                    content = _read_old_blob(root, info["oid"])
                    if path != ".gitattributes" and (
                        goes_to_lfs(path, len(content), content[:512], b"") or matches(patterns, path)
                    ):
                        content = lfs.store_bytes(content).encode()
                    blob = Blob.from_string(content)
                    git.object_store.add_object(blob)
                    changes.append((check_path(path).encode(), stat.S_IFREG | 0o644, blob.id))
                tree = commit_tree_changes(git.object_store, Tree(), cast(Any, changes))
                commit = Commit()
                commit.tree = tree
                commit.parents = cast(Any, [new_ids[p].encode() for p in record["parents"][:1]])
                commit.author = commit.committer = identity(str(record.get("author") or ns))
                commit.author_time = commit.commit_time = _timestamp(record.get("date", ""))
                commit.author_timezone = commit.commit_timezone = 0
                text = record["title"] if not record.get("message") else f"{record['title']}\n\n{record['message']}"
                commit.message = text.encode() + b"\n"
                git.object_store.add_object(commit)
                new_ids[record["id"]] = commit.id.decode()
            return new_ids[old]

        for kind, prefix in (("branches", "refs/heads/"), ("tags", "refs/tags/")):
            for ref, old in sorted(refs.get(kind, {}).items()):
                git.refs[f"{prefix}{check_ref(ref)}".encode()] = replay(old).encode()
        git.close()
        os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    backup = root / BACKUP / "repos" / f"{repo_type}s" / ns / name
    backup.parent.mkdir(parents=True, exist_ok=True)
    os.rename(folder, backup)
    return new_ids


def _read_old_blob(root: Path, oid: str) -> bytes:
    if len(oid) != 40 or not all(c in "0123456789abcdef" for c in oid):
        raise MigrationError(500, f"Invalid object id {oid!r} in a 0.1.0 commit.")
    return (root / "objects" / oid[:2] / oid[2:]).read_bytes()


def migrate_root(root: Path) -> int:
    """Migrate every 0.1.0 repo under ``root`` to git; return how many were migrated.

    Raises
    ------
    MigrationError
        When a 0.1.0 repo cannot be read (a missing commit or blob): the message
        names the repo and says what to do; nothing of it is changed.
    """
    repos = old_repos(root)
    if not repos:
        return 0
    lfs = LfsStore(root)
    for repo_type, ns, name, folder in repos:
        try:
            mapping = _migrate_repo(root, lfs, repo_type, ns, name, folder)
        except (OSError, KeyError, TypeError, ValueError, HubError) as err:
            raise MigrationError(
                500,
                f"Cannot migrate the gmm_hub 0.1.0 repo {ns}/{name} in {root}: {err}. "
                f"Serve it with gmm_hub 0.1.0, or move {folder} away to start without it.",
            ) from err
        logger.warning(
            "Migrated the gmm_hub 0.1.0 %s repo %s/%s to git (%d commits; new ids: %s); the old files are in %s.",
            repo_type,
            ns,
            name,
            len(mapping),
            ", ".join(f"{old[:12]} -> {new[:12]}" for old, new in mapping.items()),
            root / BACKUP,
        )
    objects = root / "objects"
    if objects.is_dir():
        os.rename(objects, root / BACKUP / "objects")
    return len(repos)
