"""Pull requests: ``create_commit(create_pr=True)`` opens ``refs/pr/<n>`` from the branch, which stays where it was."""

from __future__ import annotations

import importlib.util
import os

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError


@pytest.fixture
def apis(local_hub):
    alice = HfApi(endpoint=local_hub.url, token=local_hub.tokens["alice"])
    bob = HfApi(endpoint=local_hub.url, token=local_hub.tokens["bob"])
    alice.create_repo("alice/demo")
    alice.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id="alice/demo")
    return alice, bob


def _propose(api, *operations, repo="alice/demo", **kwargs):
    return api.create_commit(repo, operations=list(operations), commit_message="proposal", create_pr=True, **kwargs)


def test_a_pull_request_holds_the_commit_and_main_stays(apis):
    alice, _ = apis
    main = alice.model_info("alice/demo").sha
    info = _propose(alice, CommitOperationAdd("a.txt", b"v2"), CommitOperationAdd("b.txt", b"new"))
    assert (info.pr_num, info.pr_revision) == (1, "refs/pr/1")
    assert info.pr_url.endswith("/alice/demo/discussions/1")
    assert alice.model_info("alice/demo").sha == main
    assert alice.list_repo_files("alice/demo") == [".gitattributes", "a.txt"]
    assert alice.list_repo_files("alice/demo", revision="refs/pr/1") == [".gitattributes", "a.txt", "b.txt"]
    with open(hf_hub_download("alice/demo", "a.txt", revision=info.pr_revision)) as fh:
        assert fh.read() == "v2"
    assert [c.commit_id for c in alice.list_repo_commits("alice/demo", revision="refs/pr/1")][1] == main
    refs = alice.list_repo_refs("alice/demo", include_pull_requests=True)
    assert [(r.name, r.ref, r.target_commit) for r in refs.pull_requests] == [("refs/pr/1", "refs/pr/1", info.oid)]
    assert [b.name for b in refs.branches] == ["main"]


def test_pull_requests_are_numbered_in_turn_and_take_more_commits(apis):
    alice, _ = apis
    first = _propose(alice, CommitOperationAdd("x.txt", b"1"))
    second = _propose(alice, CommitOperationAdd("y.txt", b"2"))
    assert (first.pr_num, second.pr_num) == (1, 2)
    assert "x.txt" not in alice.list_repo_files("alice/demo", revision="refs/pr/2")  # each starts from main
    more = alice.upload_file(path_or_fileobj=b"3", path_in_repo="z.txt", repo_id="alice/demo", revision="refs/pr/1")
    assert more.oid == alice.list_repo_refs("alice/demo", include_pull_requests=True).pull_requests[0].target_commit
    assert {"x.txt", "z.txt"} <= set(alice.list_repo_files("alice/demo", revision="refs/pr/1"))


def test_anyone_signed_in_may_propose_to_a_public_repo_with_lfs_content(apis):
    alice, bob = apis
    weights = os.urandom(50_000)  # binary: it goes through LFS (or Xet) as bob's upload
    info = _propose(bob, CommitOperationAdd("model.bin", weights))
    assert info.pr_revision == "refs/pr/1"
    with open(hf_hub_download("alice/demo", "model.bin", revision="refs/pr/1"), "rb") as fh:
        assert fh.read() == weights
    assert "model.bin" not in alice.list_repo_files("alice/demo")
    with pytest.raises(HfHubHTTPError) as err:  # bob still cannot commit to alice's branches
        bob.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/demo")
    assert err.value.response.status_code == 403


def test_a_pull_request_needs_a_token_and_a_repo_one_may_see(apis, local_hub):
    alice, bob = apis
    with pytest.raises(HfHubHTTPError) as err:
        _propose(HfApi(endpoint=local_hub.url, token=False), CommitOperationAdd("x.txt", b"x"))
    assert err.value.response.status_code == 401
    alice.create_repo("alice/secret", private=True)
    with pytest.raises(RepositoryNotFoundError):
        _propose(bob, CommitOperationAdd("x.txt", b"x"), repo="alice/secret")
    assert alice.list_repo_refs("alice/secret", include_pull_requests=True).pull_requests == []


def test_a_refused_pull_request_commit_leaves_no_pull_request(apis):
    alice, _ = apis
    with pytest.raises(HfHubHTTPError) as err:
        _propose(alice, CommitOperationDelete("missing.txt"))
    assert err.value.response.status_code == 404
    assert alice.list_repo_refs("alice/demo", include_pull_requests=True).pull_requests == []
    assert _propose(alice, CommitOperationAdd("x.txt", b"x")).pr_num == 1  # the number was not spent


@pytest.mark.skipif(importlib.util.find_spec("hf_xet") is None, reason="needs hf_xet (huggingface_hub's Xet)")
def test_a_pull_request_from_a_reader_uploads_through_xet(apis, local_hub, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", False)  # the client's default path
    monkeypatch.delenv("HF_HUB_DISABLE_XET", raising=False)
    _, bob = apis
    weights = os.urandom(200_000)
    assert _propose(bob, CommitOperationAdd("model.bin", weights)).pr_revision == "refs/pr/1"
    paths = [r.path for r in local_hub.server.requests]
    assert "/xet/v1/shards" in paths and not any(p.endswith("/info/lfs/objects/batch") for p in paths)
    with open(hf_hub_download("alice/demo", "model.bin", revision="refs/pr/1"), "rb") as fh:
        assert fh.read() == weights
    more = os.urandom(100_000)  # the author adds to their pull request, through Xet too
    bob.upload_file(path_or_fileobj=more, path_in_repo="more.bin", repo_id="alice/demo", revision="refs/pr/1")
    with open(hf_hub_download("alice/demo", "more.bin", revision="refs/pr/1"), "rb") as fh:
        assert fh.read() == more


def test_the_discussions_api_lists_details_and_merges_a_pull_request(apis):
    alice, bob = apis
    _propose(bob, CommitOperationAdd("a.txt", b"bob's"), CommitOperationAdd("b.txt", b"new"))
    listed = list(alice.get_repo_discussions("alice/demo"))
    assert [(d.num, d.title, d.author, d.status, d.is_pull_request) for d in listed] == [
        (1, "proposal", "bob", "open", True)
    ]
    assert list(alice.get_repo_discussions("alice/demo", discussion_type="discussion")) == []
    assert list(alice.get_repo_discussions("alice/demo", author="alice")) == []
    details = alice.get_discussion_details("alice/demo", 1)
    assert details.target_branch == "refs/heads/main" and details.conflicting_files == []
    assert [e.summary for e in details.events if e.type == "commit"] == ["proposal"]
    with pytest.raises(HfHubHTTPError) as err:  # only the repo's writers merge
        bob.merge_pull_request("alice/demo", 1)
    assert err.value.response.status_code == 403
    alice.merge_pull_request("alice/demo", 1)
    with open(hf_hub_download("alice/demo", "a.txt", force_download=True)) as fh:
        assert fh.read() == "bob's"
    assert set(alice.list_repo_files("alice/demo")) == {".gitattributes", "a.txt", "b.txt"}
    merged = alice.get_discussion_details("alice/demo", 1)
    assert merged.status == "merged" and merged.merge_commit_oid == alice.model_info("alice/demo").sha
    assert alice.list_repo_commits("alice/demo")[0].title == "proposal (#1)"
    with pytest.raises(HfHubHTTPError) as err:  # merged once
        alice.merge_pull_request("alice/demo", 1)
    assert err.value.response.status_code == 400
    with pytest.raises(HfHubHTTPError) as err:
        alice.get_discussion_details("alice/demo", 7)
    assert err.value.response.status_code == 404


def test_a_conflicting_pull_request_does_not_merge_and_can_be_closed_by_its_author(apis):
    alice, bob = apis
    _propose(bob, CommitOperationAdd("a.txt", b"bob's"))
    alice.upload_file(path_or_fileobj=b"alice's", path_in_repo="a.txt", repo_id="alice/demo")
    main = alice.model_info("alice/demo").sha
    assert alice.get_discussion_details("alice/demo", 1).conflicting_files == ["a.txt"]
    with pytest.raises(HfHubHTTPError) as err:
        alice.merge_pull_request("alice/demo", 1)
    assert err.value.response.status_code == 409 and "a.txt" in str(err.value)
    assert alice.model_info("alice/demo").sha == main
    event = bob.change_discussion_status("alice/demo", 1, "closed")
    assert (event.new_status, event.author) == ("closed", "bob")
    assert [d.status for d in alice.get_repo_discussions("alice/demo", discussion_status="closed")] == ["closed"]
    with pytest.raises(HfHubHTTPError) as err:  # closed: not mergeable until reopened
        alice.merge_pull_request("alice/demo", 1)
    assert err.value.response.status_code == 400
    alice.change_discussion_status("alice/demo", 1, "open")
    assert alice.get_discussion_details("alice/demo", 1).status == "open"


def test_create_pull_request_opens_an_empty_one_its_author_fills(apis):
    alice, bob = apis
    opened = bob.create_pull_request("alice/demo", title="new weights")
    assert (opened.num, opened.title, opened.author, opened.status) == (1, "new weights", "bob", "open")
    assert opened.target_branch == "refs/heads/main"
    assert [(e.type, e.author) for e in opened.events] == [("comment", "bob")]  # the client's default description
    weights = os.urandom(30_000)  # through LFS (or Xet) under bob's token
    bob.upload_file(path_or_fileobj=weights, path_in_repo="w.bin", repo_id="alice/demo", revision="refs/pr/1")
    assert "w.bin" in alice.list_repo_files("alice/demo", revision="refs/pr/1")
    assert [e.type for e in alice.get_discussion_details("alice/demo", 1).events] == ["comment", "commit"]
    alice.upload_file(path_or_fileobj=b"n", path_in_repo="notes.txt", repo_id="alice/demo", revision="refs/pr/1")
    assert alice.create_pull_request("alice/demo", title="alice's").num == 2
    with pytest.raises(HfHubHTTPError) as err:  # not bob's pull request
        bob.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/demo", revision="refs/pr/2")
    assert err.value.response.status_code == 403
