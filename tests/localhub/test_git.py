"""Storage of the local Hub: bare git repositories (dulwich) and the LFS content store."""

from __future__ import annotations

import asyncio
import hashlib
import threading

import pytest
from dulwich.objects import Tag
from dulwich.repo import Repo

from gmm_hub.localhub._errors import HubError
from gmm_hub.localhub._git import Addition, Deletion, check_ref
from gmm_hub.localhub._lfs import (
    HUB_GITATTRIBUTES,
    LfsPointer,
    LfsStore,
    goes_to_lfs,
    is_binary,
    lfs_patterns,
    matches,
    parse_pointer,
)
from gmm_hub.localhub._store import RepoStore


@pytest.fixture
def repo(tmp_path):
    return RepoStore(tmp_path).create("model", "alice", "demo", private=False, author="alice")


def test_git_create_is_a_bare_repo_with_main_and_the_hub_gitattributes(repo, tmp_path):
    git = Repo(str(tmp_path / "repos" / "models" / "alice" / "demo.git"))
    assert git.bare and git.refs.read_ref(b"HEAD") == b"ref: refs/heads/main"
    head = repo.resolve("main")
    assert repo.files(head)[".gitattributes"].size == len(HUB_GITATTRIBUTES)
    assert repo.commit_info(head).title == "initial commit" and repo.commit_info(head).author == "alice"
    with pytest.raises(HubError, match="already created") as err:
        RepoStore(tmp_path).create("model", "alice", "demo", private=True, author="alice")
    assert err.value.status == 409
    assert list(RepoStore(tmp_path)) == [("model", "alice", "demo")]


def test_git_commit_keeps_title_message_and_author_and_resolves_prefixes(repo):
    sha = repo.commit(
        "main",
        [Addition("a/b.txt", b"x"), Addition("c.txt", b"y")],
        [],
        title="add",
        message="two lines\nof text",
        author="bob",
    )
    info = repo.commit_info(sha)
    assert (info.title, info.message, info.author) == ("add", "two lines\nof text", "bob")
    assert repo.resolve(sha[:7]) == repo.resolve("refs/heads/main") == sha
    assert repo.read_blob(repo.files(sha)["a/b.txt"].oid) == b"x"
    later = repo.commit("main", [], [Deletion("a", folder=True)], title="rm", message="", author="bob")
    assert set(repo.files(later)) == {".gitattributes", "c.txt"}
    assert [c.id for c in repo.history(later)][:2] == [later, sha]
    with pytest.raises(HubError) as err:
        repo.commit("main", [], [Deletion("nope.txt")], title="rm", message="", author="bob")
    assert err.value.code == "EntryNotFound" and repo.resolve("main") == later
    with pytest.raises(HubError) as err:
        repo.commit("main", [Addition("x", b"")], [], title="t", message="", author="b", parent_commit=sha)
    assert err.value.status == 412 and repo.resolve("main") == later
    for bad in ("nope", "0" * 40, "../main"):
        with pytest.raises(HubError) as err:
            repo.resolve(bad)
        assert err.value.code == "RevisionNotFound"


def test_git_concurrent_commits_from_threads_are_all_kept(repo, tmp_path):
    oids: list[str] = []

    def work(i: int) -> None:
        # each thread opens the repo itself, as each request does
        mine = RepoStore(tmp_path).require("model", "alice", "demo")
        oids.append(
            mine.commit("main", [Addition(f"f{i}", str(i).encode())], [], title=f"c{i}", message="", author="a")
        )

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = [c.id for c in repo.history(repo.resolve("main"))]
    assert set(oids) <= set(history) and len(history) == 21
    assert {f"f{i}" for i in range(20)} <= set(repo.files(history[0]))


def test_git_tags_with_a_message_are_annotated(repo):
    head = repo.resolve("main")
    repo.create_tag("v1", head, message="first release", tagger="alice")
    repo.create_tag("light", head, message=None, tagger="alice")
    tag = repo.git.object_store[repo.git.refs[b"refs/tags/v1"]]
    assert isinstance(tag, Tag) and tag.message == b"first release\n" and tag.tagger.startswith(b"alice <")
    assert repo.git.refs[b"refs/tags/light"].decode() == head
    assert repo.tags() == {"light": head, "v1": head} and repo.resolve("v1") == head
    with pytest.raises(HubError, match="already exists"):
        repo.create_tag("v1", head, message=None, tagger="alice")
    repo.delete_tag("v1")
    assert "v1" not in repo.tags()
    with pytest.raises(HubError, match="main branch cannot be deleted"):
        repo.delete_branch("main")


@pytest.mark.parametrize("bad", ["", "a..b", "/x", "x/", "a/.lock", "-x", "a b", "a\nb", "x" * 300])
def test_git_check_ref_refuses_unsafe_names(bad):
    with pytest.raises(HubError, match="Invalid revision"):
        check_ref(bad)


def test_lfs_store_writes_once_dedups_and_verifies(tmp_path):
    store = LfsStore(tmp_path)
    content = b"\0binary" * 1000
    pointer = store.store_bytes(content)
    assert pointer == LfsPointer(hashlib.sha256(content).hexdigest(), len(content))
    path = store.path(pointer.oid)
    assert path.read_bytes() == content and path.parent.parent.parent.name == "objects"
    inode = path.stat().st_ino
    assert store.store_bytes(content) == pointer and path.stat().st_ino == inode  # written once

    async def chunks(data: bytes):
        for i in range(0, len(data), 100):
            yield data[i : i + 100]

    assert asyncio.run(store.store_stream(chunks(content), oid=pointer.oid, size=len(content))) == pointer
    with pytest.raises(HubError, match="sha256"):
        asyncio.run(store.store_stream(chunks(b"other"), oid=pointer.oid))
    with pytest.raises(HubError, match="longer"):
        asyncio.run(store.store_stream(chunks(b"other bytes"), size=3))
    assert not any(store.tmp.iterdir())  # nothing half-written is left
    assert parse_pointer(pointer.encode()) == pointer
    assert parse_pointer(pointer.encode() + b"x") is None and parse_pointer(b"hello") is None


def test_lfs_rules_follow_the_hub():
    patterns = lfs_patterns(HUB_GITATTRIBUTES + b"# comment\nmy\\ file.dat filter=lfs\n")
    assert matches(patterns, "weights/model.safetensors") and matches(patterns, "saved_model/a/b.pb")
    assert not matches(patterns, "README.md") and not matches(patterns, "config.json")
    assert is_binary(b"PK\x03\x04\0\0") and not is_binary("héllo".encode()) and not is_binary("é".encode()[:1] + b"")
    assert goes_to_lfs("big.txt", 11 * 1024 * 1024, b"text", b"")
    assert goes_to_lfs("model.skops", 10, b"PK\x03\x04\0", b"")
    assert not goes_to_lfs("notes.md", 10, b"# notes", HUB_GITATTRIBUTES)
