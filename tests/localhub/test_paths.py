"""paths-info on the local Hub through the unmodified client: get_paths_info, CommitOperationCopy, HfFileSystem."""

from __future__ import annotations

import pytest
from huggingface_hub import CommitOperationCopy, HfApi, HfFileSystem
from huggingface_hub.errors import RevisionNotFoundError
from huggingface_hub.hf_api import RepoFile, RepoFolder


@pytest.fixture
def repo(local_hub):
    api = HfApi(endpoint=local_hub.url, token=local_hub.tokens["alice"])
    api.create_repo("alice/paths")
    first = api.upload_file(path_or_fileobj=b"hello", path_in_repo="docs/a.txt", repo_id="alice/paths").oid
    second = api.upload_file(path_or_fileobj=b"weights", path_in_repo="model.bin", repo_id="alice/paths").oid
    return api, first, second


def test_get_paths_info_answers_files_and_folders_and_skips_missing_paths(repo):
    api, first, _ = repo
    found = api.get_paths_info("alice/paths", ["model.bin", "docs", "nope.txt", "docs/a.txt"])
    assert [(type(e), e.path) for e in found] == [
        (RepoFile, "model.bin"),
        (RepoFolder, "docs"),
        (RepoFile, "docs/a.txt"),
    ]
    by_path = {e.path: e for e in found}
    assert by_path["docs/a.txt"].size == 5 and by_path["docs/a.txt"].last_commit is None
    tree = {e.path: e for e in api.list_repo_tree("alice/paths", recursive=True)}
    assert by_path["docs/a.txt"].blob_id == tree["docs/a.txt"].blob_id
    assert api.get_paths_info("alice/paths", "docs/a.txt", revision=first)[0].path == "docs/a.txt"
    assert api.get_paths_info("alice/paths", "model.bin", revision=first) == []  # not there yet
    with pytest.raises(RevisionNotFoundError):
        api.get_paths_info("alice/paths", ["docs"], revision="no-such-branch")


def test_get_paths_info_expand_gives_last_commits(repo):
    api, first, second = repo
    found = {e.path: e for e in api.get_paths_info("alice/paths", ["docs", "docs/a.txt", "model.bin"], expand=True)}
    assert found["docs"].last_commit.oid == found["docs/a.txt"].last_commit.oid == first
    assert found["model.bin"].last_commit.oid == second
    assert found["model.bin"].last_commit.title == "Upload model.bin with huggingface_hub"


def test_commit_operation_copy_copies_within_the_repo(repo):
    api, _, _ = repo
    api.create_commit(
        "alice/paths",
        operations=[CommitOperationCopy(src_path_in_repo="docs/a.txt", path_in_repo="docs/copy.txt")],
        commit_message="copy",
    )
    assert api.hf_hub_download("alice/paths", "docs/copy.txt") and sorted(api.list_repo_files("alice/paths")) == [
        ".gitattributes",
        "docs/a.txt",
        "docs/copy.txt",
        "model.bin",
    ]


def test_hf_file_system_info_cp_and_mv(repo, local_hub):
    first = repo[1]
    fs = HfFileSystem(endpoint=local_hub.url, token=local_hub.tokens["alice"])
    info = fs.info("alice/paths/docs/a.txt", expand_info=True)
    assert info["size"] == 5 and info["type"] == "file" and info["last_commit"].oid == first
    fs.cp("alice/paths/docs/a.txt", "alice/paths/docs/b.txt")
    fs.mv("alice/paths/model.bin", "alice/paths/weights/model.bin")
    fs.invalidate_cache()
    assert fs.cat("alice/paths/docs/b.txt") == b"hello" and fs.cat("alice/paths/weights/model.bin") == b"weights"
    assert not fs.exists("alice/paths/model.bin")
    assert sorted(fs.ls("alice/paths", detail=False)) == [
        "alice/paths/.gitattributes",
        "alice/paths/docs",
        "alice/paths/weights",
    ]
