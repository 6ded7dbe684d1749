"""Repo ids and ref names on the local Hub: case-insensitive ids, refs git refuses, expand, formatted, tag messages."""

from __future__ import annotations

import pytest

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
