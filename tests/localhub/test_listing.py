"""Listing on the local Hub: list_models / list_datasets / ``hf models ls`` through the unmodified client.

gmm_hub.localhub._select (the pure selection) is tested directly first.
"""

from __future__ import annotations

import pytest
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
