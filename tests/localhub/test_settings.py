"""Repo settings through the unmodified client: visibility, gating, move_repo, duplicate_repo, auth_check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError


@pytest.fixture
def apis(local_hub):
    alice = HfApi(endpoint=local_hub.url, token=local_hub.tokens["alice"])
    bob = HfApi(endpoint=local_hub.url, token=local_hub.tokens["bob"])
    return alice, bob, HfApi(endpoint=local_hub.url, token=False)


def _add(api, repo_id, path="weights.txt", content=b"w1"):
    return api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id=repo_id).oid


def test_publish_private_then_make_public(apis, local_hub, tmp_path):
    alice, _, anonymous = apis
    alice.create_repo("alice/launch", private=True)
    _add(alice, "alice/launch")
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info("alice/launch")
    assert [m.id for m in anonymous.list_models(author="alice")] == []
    alice.update_repo_settings("alice/launch", private=False)
    info = anonymous.model_info("alice/launch")
    assert info.private is False and [m.id for m in anonymous.list_models(author="alice")] == ["alice/launch"]
    path = hf_hub_download("alice/launch", "weights.txt", token=False, cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == b"w1"
    alice.update_repo_settings("alice/launch", visibility="private")
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info("alice/launch")
    assert alice.model_info("alice/launch").private is True


def test_update_repo_settings_gates_and_ungates(apis):
    alice, _, anonymous = apis
    alice.create_repo("alice/gated")
    alice.update_repo_settings("alice/gated", gated="manual")
    assert anonymous.model_info("alice/gated").gated == "manual"
    assert [m.id for m in anonymous.list_models(gated=True)] == ["alice/gated"]
    alice.update_repo_settings("alice/gated", gated=False)
    assert anonymous.model_info("alice/gated").gated is False
    assert [m.id for m in anonymous.list_models(gated=True)] == []


def test_update_repo_settings_needs_write_rights(apis):
    alice, bob, anonymous = apis
    alice.create_repo("alice/mine")
    with pytest.raises(HfHubHTTPError, match="403 Forbidden: You don't have the rights to write to the namespace"):
        bob.update_repo_settings("alice/mine", private=True)
    alice.create_repo("alice/hidden", private=True)
    with pytest.raises(RepositoryNotFoundError):  # bob cannot even see it
        bob.update_repo_settings("alice/hidden", private=False)
    with pytest.raises(HfHubHTTPError) as info:
        anonymous.update_repo_settings("alice/mine", private=True)
    assert info.value.response.status_code == 401
    assert anonymous.model_info("alice/mine").private is False


def test_update_repo_settings_of_a_dataset(apis):
    alice, _, anonymous = apis
    alice.create_repo("alice/data", repo_type="dataset")
    alice.update_repo_settings("alice/data", repo_type="dataset", private=True)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.dataset_info("alice/data")


def test_move_repo_renames_with_history_and_files(apis, tmp_path):
    alice, _, anonymous = apis
    alice.create_repo("alice/old-name")
    oid = _add(alice, "alice/old-name")
    alice.move_repo("alice/old-name", "alice/new-name")
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info("alice/old-name")
    assert anonymous.model_info("alice/new-name").sha == oid
    assert anonymous.list_repo_commits("alice/new-name")[0].commit_id == oid
    path = hf_hub_download("alice/new-name", "weights.txt", token=False, cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == b"w1"
    alice.move_repo("alice/new-name", "alice/New-Name")  # a change of case only
    assert anonymous.model_info("alice/new-name").id == "alice/New-Name"


def test_move_repo_refuses_taken_ids_and_foreign_namespaces(apis):
    alice, bob, _ = apis
    alice.create_repo("alice/a")
    alice.create_repo("alice/b")
    with pytest.raises(HfHubHTTPError, match="already created this model repo: alice/b") as info:
        alice.move_repo("alice/a", "alice/B")
    assert info.value.response.status_code == 409
    with pytest.raises(HfHubHTTPError, match="rights to write to the namespace 'bob'"):
        alice.move_repo("alice/a", "bob/a")
    with pytest.raises(HfHubHTTPError, match="rights to write to the namespace 'alice'"):
        bob.move_repo("alice/a", "bob/a")
    with pytest.raises(RepositoryNotFoundError):
        alice.move_repo("alice/missing", "alice/c")
    assert alice.model_info("alice/a").id == "alice/a"


def test_auth_check_answers_who_may_read(apis):
    alice, bob, _ = apis
    alice.create_repo("alice/private", private=True)
    alice.auth_check("alice/private")
    with pytest.raises(RepositoryNotFoundError):
        bob.auth_check("alice/private")


def test_auth_check_write_answers_who_may_write(apis):
    alice, bob, anonymous = apis
    alice.create_repo("alice/public")
    alice.auth_check("alice/public", write=True)
    bob.auth_check("alice/public")  # bob reads it...
    with pytest.raises(HfHubHTTPError) as refused:
        bob.auth_check("alice/public", write=True)  # ...but may not write to it
    assert refused.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as refused:
        anonymous.auth_check("alice/public", write=True)
    assert refused.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError):
        alice.auth_check("alice/missing", write=True)


def test_auth_check_on_a_gated_repo_refuses_outsiders_as_downloads_do(apis):
    alice, bob, anonymous = apis
    alice.create_repo("alice/gated")
    alice.update_repo_settings("alice/gated", gated="manual")
    alice.auth_check("alice/gated")
    for outsider in (bob, anonymous):
        with pytest.raises(GatedRepoError):
            outsider.auth_check("alice/gated")


def test_a_gated_repo_serves_its_files_to_its_owner_only(apis, tmp_path):
    alice, bob, anonymous = apis
    alice.create_repo("alice/gated-files")
    _add(alice, "alice/gated-files")
    alice.update_repo_settings("alice/gated-files", gated="auto")
    assert anonymous.model_info("alice/gated-files").gated == "auto"  # the page stays visible
    assert "weights.txt" in bob.list_repo_files("alice/gated-files")
    with pytest.raises(GatedRepoError, match="You must have access to it and be authenticated"):
        hf_hub_download("alice/gated-files", "weights.txt", token=False, cache_dir=tmp_path / "anon")
    with pytest.raises(GatedRepoError, match="you are not in the authorized list"):
        bob.hf_hub_download("alice/gated-files", "weights.txt", cache_dir=tmp_path / "bob")
    assert Path(alice.hf_hub_download("alice/gated-files", "weights.txt", cache_dir=tmp_path / "a")).read_bytes()


def test_settings_and_repos_changed_by_another_server_on_the_root_are_seen(local_hub):
    """Open repos and their parsed config are reused between requests, but never stale."""
    from gmm_hub.localhub import LocalHub

    alice = HfApi(endpoint=local_hub.url, token=local_hub.tokens["alice"])
    alice.create_repo("alice/shared")
    _add(alice, "alice/shared")
    assert HfApi(endpoint=local_hub.url, token=False).model_info("alice/shared").private is False
    with LocalHub(local_hub.root, tokens={"alice": local_hub.tokens["alice"]}) as other:
        there = HfApi(endpoint=other.url, token=local_hub.tokens["alice"])
        there.update_repo_settings("alice/shared", private=True)
        with pytest.raises(RepositoryNotFoundError):
            HfApi(endpoint=local_hub.url, token=False).model_info("alice/shared")
        there.delete_repo("alice/shared")
        there.create_repo("alice/shared")  # same path, a new repository
        fresh = _add(there, "alice/shared", content=b"w2")
    info = alice.model_info("alice/shared")
    assert info.sha == fresh and info.private is False
    history = [c.commit_id for c in alice.list_repo_commits("alice/shared")]
    assert len(history) == 2 and history[0] == fresh  # the new repo's history, not the old one's


def test_duplicate_repo_copies_branches_tags_and_history_not_pull_requests(local_hub):
    from huggingface_hub import CommitOperationAdd

    alice, bob = local_hub.api("alice"), local_hub.api("bob")
    alice.create_repo("alice/src")
    alice.upload_file(path_or_fileobj=os.urandom(20_000), path_in_repo="w.bin", repo_id="alice/src")  # LFS
    alice.create_branch("alice/src", branch="dev")
    alice.create_tag("alice/src", tag="v1")
    bob.create_commit("alice/src", operations=[CommitOperationAdd("b.txt", b"b")], commit_message="pr", create_pr=True)
    url = bob.duplicate_repo("alice/src", to_id="bob/copy")
    assert (url.repo_id, url.files_copy_pending) == ("bob/copy", False)
    refs = bob.list_repo_refs("bob/copy", include_pull_requests=True)
    assert sorted(b.name for b in refs.branches) == ["dev", "main"] and [t.name for t in refs.tags] == ["v1"]
    assert refs.pull_requests == [] and list(bob.get_repo_discussions("bob/copy")) == []
    assert [c.commit_id for c in bob.list_repo_commits("bob/copy")] == [
        c.commit_id for c in alice.list_repo_commits("alice/src")
    ]
    copied = hf_hub_download("bob/copy", "w.bin", token=local_hub.tokens["bob"])
    original = hf_hub_download("alice/src", "w.bin", token=local_hub.tokens["alice"])
    assert Path(copied).read_bytes() == Path(original).read_bytes()
    bob.upload_file(path_or_fileobj=b"mine", path_in_repo="m.txt", repo_id="bob/copy")  # the copy is bob's
    assert "m.txt" not in alice.list_repo_files("alice/src")


def test_duplicate_repo_checks_who_may_copy_where(local_hub):
    alice, bob = local_hub.api("alice"), local_hub.api("bob")
    alice.create_repo("alice/secret", private=True)
    alice.create_repo("alice/open")
    with pytest.raises(RepositoryNotFoundError):
        bob.duplicate_repo("alice/secret", to_id="bob/stolen")
    with pytest.raises(HfHubHTTPError) as err:
        bob.duplicate_repo("alice/open", to_id="alice/open2")  # not bob's namespace
    assert err.value.response.status_code == 403
    assert alice.duplicate_repo("alice/secret", to_id="alice/secret2").repo_id == "alice/secret2"
    assert alice.model_info("alice/secret2").private is True  # the source's visibility
    assert alice.duplicate_repo("alice/secret", to_id="alice/shown", private=False).repo_id == "alice/shown"
    assert bob.model_info("alice/shown").private is False
    with pytest.raises(HfHubHTTPError) as err:
        alice.duplicate_repo("alice/open", to_id="alice/shown")
    assert err.value.response.status_code == 409
    assert alice.duplicate_repo("alice/open", to_id="alice/shown", exist_ok=True).repo_id == "alice/shown"
    assert not [p for p in (local_hub.root / "repos" / "models" / "alice").iterdir() if p.name.startswith(".new-")]
