"""Listing on the local Hub: list_models / list_datasets / ``hf models ls`` through the unmodified client.

gmm_hub.localhub._select (the pure selection) is tested directly first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from hypothesis import given, settings
from hypothesis import strategies as st

from gmm_hub.localhub._select import SelectionError, check_expand, list_fields, select_repos

SUMMARIES = [
    {"id": "alice/b-model", "private": False, "tags": ["gmm_hub", "license:mit"], "library_name": "gmm_hub",
     "pipeline_tag": "tabular-classification", "createdAt": "2026-01-02T00:00:00.000Z", "likes": 0},
    {"id": "alice/a-secret", "private": True, "tags": ["license:apache-2.0"], "library_name": None,
     "pipeline_tag": None, "createdAt": "2026-01-03T00:00:00.000Z", "likes": 0},
    {"id": "Bob/C-Model", "private": False, "tags": ["gmm_hub", "license:mit"], "library_name": "gmm_hub",
     "pipeline_tag": "tabular-classification", "createdAt": "2026-01-01T00:00:00.000Z", "likes": 0},
]  # fmt: skip


def _ids(found):
    return [info["id"] for info in found]


def test_select_repos_hides_private_repos_from_everyone_but_their_owner():
    assert _ids(select_repos(SUMMARIES)) == ["alice/b-model", "Bob/C-Model"]
    assert _ids(select_repos(SUMMARIES, viewer_namespaces={"alice"})) == [
        "alice/a-secret",
        "alice/b-model",
        "Bob/C-Model",
    ]


def test_select_repos_filters_like_the_hub():
    assert _ids(select_repos(SUMMARIES, author="bob")) == ["Bob/C-Model"]  # case-insensitive
    assert _ids(select_repos(SUMMARIES, search=["c-mod"])) == ["Bob/C-Model"]
    assert _ids(select_repos(SUMMARIES, filters=["gmm_hub", "license:mit"], author="alice")) == ["alice/b-model"]
    assert _ids(select_repos(SUMMARIES, library="gmm_hub", viewer_namespaces={"alice"})) == [
        "alice/b-model",
        "Bob/C-Model",
    ]
    assert select_repos(SUMMARIES, filters=["license:gpl"]) == []


def test_select_repos_sorts_descending_unless_direction_is_1():
    everyone = {"alice", "Bob"}
    newest = _ids(select_repos(SUMMARIES, viewer_namespaces=everyone, sort="created_at"))
    assert newest == ["alice/a-secret", "alice/b-model", "Bob/C-Model"]
    oldest = _ids(select_repos(SUMMARIES, viewer_namespaces=everyone, sort="createdAt", direction=1))
    assert oldest == newest[::-1]
    assert len(select_repos(SUMMARIES, viewer_namespaces=everyone, limit=2)) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"sort": "stars"}, '"sort" must be one of'), ({"direction": "up"}, '"direction" must be one of'),
     ({"limit": "-1"}, '"limit" must be')],
)  # fmt: skip
def test_select_repos_refuses_bad_parameters(kwargs, message):
    with pytest.raises(SelectionError, match=message):
        select_repos(SUMMARIES, **kwargs)


def test_list_fields_and_expand():
    assert "cardData" not in list_fields("model") and "cardData" in list_fields("model", card_data=True)
    assert "siblings" in list_fields("model", full=True)
    assert list_fields("model", expand=["downloads", "cardData"]) == ["downloads", "cardData"]
    with pytest.raises(SelectionError, match=r'"expand\[1\]" must be one of \[author, '):
        check_expand(["author", "stars"], "model")


@settings(max_examples=40, deadline=None)
@given(
    likes=st.lists(st.integers(0, 5), min_size=1, max_size=8),
    direction=st.sampled_from([-1, 1]),
    limit=st.one_of(st.none(), st.integers(0, 10)),
)
def test_select_repos_sort_is_ordered_stable_and_limited(likes, direction, limit):
    items = [{"id": f"u/m{i:02d}", "private": False, "tags": [], "likes": n} for i, n in enumerate(likes)]
    found = select_repos(items, sort="likes", direction=direction, limit=limit)
    keys = [(direction * info["likes"], info["id"]) for info in found]
    assert keys == sorted(keys)  # by likes in the asked direction, ties by id
    assert len(found) == (len(items) if limit is None else min(limit, len(items)))


# ----------------------------------------------------------------------------- through the client
def _card(license: str, library: str) -> bytes:
    return (
        f"---\nlicense: {license}\nlibrary_name: {library}\npipeline_tag: tabular-classification\n---\n# m\n".encode()
    )


def _publish(api, repo_id, card, *, private=False, repo_type=None):
    api.create_repo(repo_id, private=private, repo_type=repo_type)
    api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo_id, repo_type=repo_type)


@pytest.fixture
def published(local_hub):
    alice = HfApi(endpoint=local_hub.url, token=local_hub.tokens["alice"])
    bob = HfApi(endpoint=local_hub.url, token=local_hub.tokens["bob"])
    _publish(alice, "alice/adult-gmm", _card("mit", "gmm_hub"))
    _publish(alice, "alice/secret-gmm", _card("mit", "gmm_hub"), private=True)
    _publish(bob, "bob/credit-sklearn", _card("apache-2.0", "sklearn"))
    _publish(alice, "alice/adult-data", b"---\nlicense: mit\n---\n# d\n", repo_type="dataset")
    return alice, bob, HfApi(endpoint=local_hub.url, token=False)


def _model_ids(api, **kwargs):
    return [m.id for m in api.list_models(**kwargs)]


def test_list_models_filters_by_author_search_filter_library_and_pipeline(published):
    anonymous = published[2]
    assert _model_ids(anonymous) == ["alice/adult-gmm", "bob/credit-sklearn"]
    assert _model_ids(anonymous, author="alice") == ["alice/adult-gmm"]
    assert _model_ids(anonymous, search="credit") == ["bob/credit-sklearn"]
    assert _model_ids(anonymous, filter="license:apache-2.0") == ["bob/credit-sklearn"]
    assert _model_ids(anonymous, filter=["gmm_hub", "license:mit"]) == ["alice/adult-gmm"]
    assert _model_ids(anonymous, pipeline_tag="tabular-classification", filter="sklearn") == ["bob/credit-sklearn"]
    assert _model_ids(anonymous, search="nothing-like-this") == []


def test_list_models_shows_private_repos_to_their_owner_only(published):
    alice, bob, anonymous = published
    assert _model_ids(alice, author="alice") == ["alice/adult-gmm", "alice/secret-gmm"]
    assert _model_ids(bob, author="alice") == _model_ids(anonymous, author="alice") == ["alice/adult-gmm"]


def test_list_models_fields_follow_full_card_data_and_expand(published):
    _, _, anonymous = published
    (short,) = anonymous.list_models(author="alice")
    assert short.tags[-1] == "region:us" and short.library_name == "gmm_hub" and short.card_data is None
    assert short.siblings is None and short.created_at is not None
    (with_card,) = anonymous.list_models(author="alice", cardData=True)
    assert with_card.card_data.license == "mit"
    (full,) = anonymous.list_models(author="alice", full=True)
    assert [s.rfilename for s in full.siblings] == [".gitattributes", "README.md"] and full.sha
    (expanded,) = anonymous.list_models(author="alice", expand=["likes", "pipeline_tag"])
    assert expanded.pipeline_tag == "tabular-classification" and expanded.likes == 0 and expanded.tags is None


def test_list_models_sorts_and_limits(local_hub):
    api = HfApi(endpoint=local_hub.url, token=local_hub.tokens["alice"])
    api.create_repo("alice/z-first")
    time.sleep(1.05)  # creation times have one-second resolution, as git's
    api.create_repo("alice/a-second")
    assert _model_ids(api, sort="created_at") == ["alice/a-second", "alice/z-first"]  # newest first
    assert _model_ids(api, sort="last_modified", limit=1) == ["alice/a-second"]
    assert _model_ids(api) == ["alice/a-second", "alice/z-first"]  # no sort: by id
    with pytest.raises(HfHubHTTPError, match='"sort" must be one of'):
        _model_ids(api, sort="stars")


def test_list_models_pages_follow_the_link_header(published, local_hub):
    _, _, anonymous = published
    local_hub.server.list_page_size = 1
    assert _model_ids(anonymous) == ["alice/adult-gmm", "bob/credit-sklearn"]
    assert local_hub.server.count("GET", r"^/api/models$") == 2


def test_list_datasets_filters_and_hides_private_ones(published, local_hub):
    alice, _, anonymous = published
    alice.create_repo("alice/private-data", repo_type="dataset", private=True)
    assert [d.id for d in anonymous.list_datasets(author="alice")] == ["alice/adult-data"]
    assert [d.id for d in alice.list_datasets(author="alice")] == ["alice/adult-data", "alice/private-data"]
    (data,) = anonymous.list_datasets(filter="license:mit", search="adult")
    assert data.id == "alice/adult-data" and data.tags == ["license:mit", "region:us"]
    assert list(anonymous.list_datasets(filter="license:gpl")) == []


def test_hf_cli_lists_models(published, local_hub):
    run = subprocess.run(
        [str(Path(sys.executable).with_name("hf")), "models", "ls", "--author", "alice", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_TOKEN": local_hub.tokens["alice"]},
    )
    assert run.returncode == 0, run.stderr
    assert sorted(m["id"] for m in json.loads(run.stdout)) == ["alice/adult-gmm", "alice/secret-gmm"]


def test_list_user_repos_gives_each_repo_of_the_callers_namespace_with_its_storage(tmp_path):
    """``list_user_repos`` (``hf repos ls``): own and organisation repos, private ones included, sizes in bytes."""
    from gmm_hub.localhub import LocalHub

    tokens = {"alice": "hf_alice_listing", "bob": "hf_bob_listing"}
    with LocalHub(tmp_path / "root", tokens=tokens, orgs={"acme": ["alice"]}) as hub:
        alice, bob = HfApi(endpoint=hub.url, token=tokens["alice"]), HfApi(endpoint=hub.url, token=tokens["bob"])
        alice.create_repo("alice/model")
        alice.upload_file(path_or_fileobj=b"x" * 1000, path_in_repo="weights.txt", repo_id="alice/model")
        alice.create_repo("alice/data", repo_type="dataset", private=True)
        alice.create_repo("acme/shared")
        bob.create_repo("bob/own")

        mine = {r.id: r for r in alice.list_user_repos()}
        assert set(mine) == {"alice/model", "alice/data"}
        assert (mine["alice/model"].type, mine["alice/model"].visibility) == ("model", "public")
        assert (mine["alice/data"].type, mine["alice/data"].visibility) == ("dataset", "private")
        files = {s.rfilename: s.size for s in alice.model_info("alice/model", files_metadata=True).siblings}
        assert mine["alice/model"].storage == sum(files.values()) and files["weights.txt"] == 1000
        assert sum(r.storage_percent for r in mine.values()) == pytest.approx(100.0)
        assert mine["alice/model"].updated_at == alice.model_info("alice/model").last_modified
        assert [r.id for r in alice.list_user_repos(namespace="acme")] == ["acme/shared"]
        assert [r.id for r in bob.list_user_repos()] == ["bob/own"]
        with pytest.raises(HfHubHTTPError) as refused:
            list(bob.list_user_repos(namespace="acme"))
        assert refused.value.response.status_code == 403
        with pytest.raises(HfHubHTTPError) as refused:
            list(HfApi(endpoint=hub.url, token=False).list_user_repos())
        assert refused.value.response.status_code == 401
        listed = subprocess.run(
            [str(Path(sys.executable).with_name("hf")), "repos", "ls", "--format", "json"],
            env={**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": tokens["alice"], "HF_HOME": str(tmp_path / "home")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert {r["id"] for r in json.loads(listed.stdout)} == {"alice/model", "alice/data"}
