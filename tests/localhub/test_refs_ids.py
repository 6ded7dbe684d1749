"""Repo ids and ref names on the local Hub: case-insensitive ids, refs git refuses, expand, formatted, tag messages."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RevisionNotFoundError

from gmm_hub.localhub._names import InvalidRefName, check_ref_name, find_casefold


@pytest.mark.parametrize("name", ["main", "v1.0", "feature/x", "release-2026.12", "ok-é"])
def test_check_ref_name_accepts_what_git_accepts(name):
    assert check_ref_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [("a..b", "git refuses"), ("x.lock", "git refuses"), ("a b", "git refuses"), ("x/", "git refuses"),
     ("a//b", "git refuses"), ("-x", "git refuses"), (".x", "git refuses"), ("a~1", "git refuses"),
     ("refs/heads/foo", "not a full ref"), ("@", "reserves"), ("HEAD", "reserves"), ("", "non-empty")],
)  # fmt: skip
def test_check_ref_name_refuses_what_git_refuses(name, why):
    with pytest.raises(InvalidRefName, match=why):
        check_ref_name(name)


def test_find_casefold_prefers_the_exact_spelling():
    stored = [("alice", "PUB"), ("alice", "other")]
    assert find_casefold(stored, "alice", "pub") == ("alice", "PUB")
    assert find_casefold(stored, "ALICE", "Pub") == ("alice", "PUB")
    assert find_casefold([("alice", "pub"), ("alice", "PUB")], "alice", "PUB") == ("alice", "PUB")
    assert find_casefold(stored, "alice", "nope") is None


# ----------------------------------------------------------------------------- through the client
@pytest.fixture
def api(local_hub):
    return HfApi(endpoint=local_hub.url, token=local_hub.tokens["alice"])


def test_repo_ids_are_case_insensitive_as_on_the_hub(api, local_hub, tmp_path):
    api.create_repo("alice/PUB")
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/pub")  # same repo
    assert api.model_info("ALICE/pub").id == "alice/PUB"
    assert api.list_repo_files("alice/Pub") == [".gitattributes", "x.txt"]
    with pytest.raises(HfHubHTTPError) as info:
        api.create_repo("alice/pub")
    assert info.value.response.status_code == 409
    assert api.create_repo("alice/pub", exist_ok=True).repo_id == "alice/pub"
    assert [m.id for m in api.list_models(author="alice")] == ["alice/PUB"]
    path = hf_hub_download("alice/pub", "x.txt", cache_dir=tmp_path / "cache", token=False)
    assert Path(path).read_bytes() == b"x"


@pytest.mark.parametrize("name", ["a..b", "x.lock", "refs/heads/foo", "has space", "trailing/", "-dash"])
def test_branch_and_tag_names_git_refuses_are_refused(api, name):
    api.create_repo("alice/refs")
    with pytest.raises(BadRequestError, match=r"Invalid branch name"):
        api.create_branch("alice/refs", branch=name)
    with pytest.raises(BadRequestError, match=r"Invalid tag name"):
        api.create_tag("alice/refs", tag=name)
    refs = api.list_repo_refs("alice/refs")
    assert [b.name for b in refs.branches] == ["main"] and refs.tags == []


def _git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60).stdout


def test_tag_message_makes_an_annotated_tag(api, local_hub, tmp_path):
    api.create_repo("alice/tagged")
    sha = api.upload_file(path_or_fileobj=b"v1", path_in_repo="w.txt", repo_id="alice/tagged").oid
    api.create_tag("alice/tagged", tag="v1", tag_message="First release\n\nTrained on Adult.")
    api.create_tag("alice/tagged", tag="light")
    assert {t.name: t.target_commit for t in api.list_repo_refs("alice/tagged").tags} == {"v1": sha, "light": sha}
    clone = tmp_path / "clone"
    _git("clone", "-q", f"{local_hub.url}/alice/tagged", str(clone))
    assert _git("cat-file", "-t", "v1", cwd=clone).strip() == "tag"
    assert _git("cat-file", "-t", "light", cwd=clone).strip() == "commit"
    body = _git("tag", "-l", "-n9", "v1", cwd=clone)
    assert "First release" in body and "Trained on Adult." in body


def test_model_info_expand_returns_only_the_asked_properties(api):
    api.create_repo("alice/expand")
    info = api.model_info("alice/expand", expand=["tags", "lastModified"])
    assert info.tags == ["region:us"] and info.last_modified is not None
    assert info.siblings is None and info.sha is None and info.private is None
    with pytest.raises(BadRequestError, match=r'"expand\[0\]" must be one of \[author, '):
        api.model_info("alice/expand", expand=["stars"])


def test_list_repo_commits_formatted_gives_html(api):
    api.create_repo("alice/formatted")
    api.upload_file(
        path_or_fileobj=b"x",
        path_in_repo="x.txt",
        repo_id="alice/formatted",
        commit_message="Use <b>bold</b> & more",
        commit_description="First paragraph.\n\nSecond <i>one</i>.",
    )
    newest = api.list_repo_commits("alice/formatted", formatted=True)[0]
    assert newest.formatted_title == "Use &lt;b&gt;bold&lt;/b&gt; &amp; more"
    assert newest.formatted_message == "<p>First paragraph.</p><p>Second &lt;i&gt;one&lt;/i&gt;.</p>"
    plain = api.list_repo_commits("alice/formatted")[0]
    assert plain.formatted_title is None and plain.title == "Use <b>bold</b> & more"


def test_list_repo_tree_expand_gives_each_entry_its_last_commit(api):
    api.create_repo("alice/tree")
    first = api.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id="alice/tree").oid
    second = api.upload_file(path_or_fileobj=b"b", path_in_repo="dir/b.txt", repo_id="alice/tree").oid
    entries = {e.path: e for e in api.list_repo_tree("alice/tree", expand=True)}
    assert entries["a.txt"].last_commit.oid == first and entries["dir"].last_commit.oid == second
    assert entries["a.txt"].last_commit.title == "Upload a.txt with huggingface_hub"
    assert all(e.last_commit is None for e in api.list_repo_tree("alice/tree"))


def test_super_squash_history_leaves_one_commit_with_the_same_files(api, local_hub, tmp_path):
    api.create_repo("alice/squash")
    for i in range(3):
        api.upload_file(path_or_fileobj=f"v{i}".encode(), path_in_repo=f"f{i}.txt", repo_id="alice/squash")
    api.create_tag("alice/squash", tag="before")
    api.create_branch("alice/squash", branch="feature/x")
    files = sorted(api.list_repo_files("alice/squash"))
    api.super_squash_history("alice/squash", commit_message="One commit")
    commits = api.list_repo_commits("alice/squash")
    assert [c.title for c in commits] == ["One commit"]
    assert sorted(api.list_repo_files("alice/squash")) == files
    assert len(api.list_repo_commits("alice/squash", revision="before")) == 4  # the tag keeps its history
    api.super_squash_history("alice/squash", branch="feature/x")  # a branch whose name has a slash
    assert [c.title for c in api.list_repo_commits("alice/squash", revision="feature/x")] == [
        "Super-squash branch 'feature/x' using huggingface_hub"
    ]
    with pytest.raises(HfHubHTTPError) as refused:
        api.super_squash_history("alice/squash", branch="before")
    assert refused.value.response.status_code == 400
    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(endpoint=local_hub.url, token=local_hub.tokens["bob"]).super_squash_history("alice/squash")
    assert refused.value.response.status_code == 403
    with pytest.raises(RevisionNotFoundError):
        api.super_squash_history("alice/squash", branch="missing")
    if shutil.which("git"):  # git sees the one commit too
        target = tmp_path / "c"
        clone = subprocess.run(["git", "clone", "-q", f"{local_hub.url}/alice/squash", str(target)], timeout=60)
        assert clone.returncode == 0
        log = subprocess.run(["git", "-C", str(target), "log", "--format=%s"], capture_output=True, text=True)
        assert log.stdout.splitlines() == ["One commit"]
