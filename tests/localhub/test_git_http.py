"""git smart HTTP on the local Hub: Debian's git clones and fetches what the API committed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="git is not installed")


def _git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd or Path.cwd()),
        "GIT_LFS_SKIP_SMUDGE": "1",
    }
    out = subprocess.run([GIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def _push_history(api, repo_id: str = "alice/demo", **create) -> list[str]:
    api.create_repo(repo_id, **create)
    api.upload_file(path_or_fileobj=b"v1\n", path_in_repo="w.txt", repo_id=repo_id, commit_message="first")
    api.create_tag(repo_id, tag="v1", tag_message="release one")
    api.upload_file(path_or_fileobj=b"v2\n", path_in_repo="w.txt", repo_id=repo_id, commit_message="second")
    api.upload_file(path_or_fileobj=b"cfg", path_in_repo="sub/config.json", repo_id=repo_id)
    api.create_tag(repo_id, tag="light")
    return [c.commit_id for c in api.list_repo_commits(repo_id)]


@pytest.mark.parametrize("suffix", ["", ".git"])
def test_git_clone_gets_the_api_commits_in_order(local_hub, tmp_path, suffix):
    api = local_hub.api("alice")
    commits = _push_history(api)
    _git("clone", "-q", f"{local_hub.url}/alice/demo{suffix}", str(tmp_path / "clone"), cwd=tmp_path)
    log = _git("log", "--format=%H", "--first-parent", cwd=tmp_path / "clone").stdout.split()
    assert log == commits
    assert (tmp_path / "clone" / "w.txt").read_bytes() == b"v2\n"
    assert (tmp_path / "clone" / "sub" / "config.json").read_bytes() == b"cfg"
    assert _git("log", "-1", "--format=%s%n%an", cwd=tmp_path / "clone").stdout.split("\n")[:2] == [
        "Upload sub/config.json with huggingface_hub",
        "alice",
    ]
    _git("fetch", "-q", "--tags", cwd=tmp_path / "clone")
    tags = _git("tag", "-l", "-n1", cwd=tmp_path / "clone").stdout
    assert "release one" in tags and "light" in tags
    assert _git("cat-file", "-t", "v1", cwd=tmp_path / "clone").stdout.strip() == "tag"  # annotated
    assert _git("rev-parse", "v1^{commit}", cwd=tmp_path / "clone").stdout.strip() == commits[2]
    assert _git("show", "v1:w.txt", cwd=tmp_path / "clone").stdout == "v1\n"


def test_git_clone_of_a_private_repo_needs_the_token(local_hub, tmp_path):
    _push_history(local_hub.api("alice"), private=True)
    host = local_hub.url.removeprefix("http://")
    refused = _git("clone", "-q", f"{local_hub.url}/alice/demo", str(tmp_path / "anon"), cwd=tmp_path, check=False)
    assert refused.returncode != 0 and not (tmp_path / "anon" / "w.txt").exists()
    bob = local_hub.tokens["bob"]
    wrong = _git("clone", "-q", f"http://bob:{bob}@{host}/alice/demo", str(tmp_path / "bob"), cwd=tmp_path, check=False)
    assert wrong.returncode != 0 and not (tmp_path / "bob" / "w.txt").exists()
    alice = local_hub.tokens["alice"]
    _git("clone", "-q", f"http://anyname:{alice}@{host}/alice/demo", str(tmp_path / "ok"), cwd=tmp_path)
    assert (tmp_path / "ok" / "w.txt").read_bytes() == b"v2\n"
    assert not any(token in r.path for r in local_hub.server.requests for token in (alice, bob))


def test_git_clone_shows_lfs_files_as_pointers(local_hub, tmp_path):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    blob = bytes(range(256)) * 64
    api.upload_file(path_or_fileobj=blob, path_in_repo="model.skops", repo_id="alice/demo")
    _git("clone", "-q", f"{local_hub.url}/alice/demo", str(tmp_path / "c"), cwd=tmp_path)
    pointer = (tmp_path / "c" / "model.skops").read_text()
    assert pointer.startswith("version https://git-lfs.github.com/spec/v1\noid sha256:")
    assert f"size {len(blob)}" in pointer
    assert "model.skops filter=lfs" in (tmp_path / "c" / ".gitattributes").read_text()


def test_git_push_needs_the_owner_token_and_the_api_sees_it(local_hub, tmp_path):
    api = local_hub.api("alice")
    _push_history(api)
    host = local_hub.url.removeprefix("http://")
    clone = tmp_path / "c"
    _git("clone", "-q", f"{local_hub.url}/alice/demo", str(clone), cwd=tmp_path)
    (clone / "new.txt").write_text("pushed\n")
    _git("add", "new.txt", cwd=clone)
    _git("-c", "user.name=alice", "-c", "user.email=a@b", "commit", "-q", "-m", "by git", cwd=clone)
    head = _git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    for url in (f"{local_hub.url}/alice/demo", f"http://bob:{local_hub.tokens['bob']}@{host}/alice/demo"):
        refused = _git("push", "-q", url, "main", cwd=clone, check=False)
        assert refused.returncode != 0
        assert api.model_info("alice/demo").sha != head
    _git("push", "-q", f"http://x:{local_hub.tokens['alice']}@{host}/alice/demo", "main", cwd=clone)
    assert api.model_info("alice/demo").sha == head
    assert api.list_repo_commits("alice/demo")[0].title == "by git"
    assert local_hub.api().list_repo_files("alice/demo").count("new.txt") == 1
