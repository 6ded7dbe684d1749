"""A --root written by gmm_hub 0.1.0 is migrated to git on first start."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download

from gmm_hub.localhub import LocalHub
from gmm_hub.localhub._migrate import MigrationError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "localhub_0_1_0_storage.py"
BIG = bytes(range(256)) * 100


def _old_storage():
    spec = importlib.util.spec_from_file_location("storage_0_1_0", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _old_root(root: Path) -> dict:
    old = _old_storage().HubStorage(root)
    first = old.create_repo("model", "alice", "demo", private=False, author="alice")
    rdir = old.repo_dir("model", "alice", "demo")
    v1 = old.commit_to_branch(
        rdir, "main", additions={"w.txt": b"v1", "m.skops": BIG}, deletions=[], title="one", message="", author="alice"
    )
    old.set_ref(rdir, "tags", "v1", v1)
    v2 = old.commit_to_branch(
        rdir, "main", additions={"w.txt": b"v2"}, deletions=[], title="two", message="details", author="alice"
    )
    old.set_ref(rdir, "branches", "dev", v1)
    old.create_repo("model", "alice", "secret", private=True, author="alice")
    old.create_repo("dataset", "bob", "table", private=False, author="bob")
    return {"first": first, "v1": v1, "v2": v2}


def test_migrate_0_1_0_root_serves_repos_branches_tags_and_files(tmp_path, caplog):
    root = tmp_path / "root"
    old_ids = _old_root(root)
    caplog.set_level(logging.WARNING, logger="gmm_hub.localhub._migrate")
    with LocalHub(root, tokens={"alice": "tok-a", "bob": "tok-b"}) as hub:
        api = HfApi(endpoint=hub.url, token="tok-a")
        commits = api.list_repo_commits("alice/demo")
        assert [(c.title, c.message) for c in commits] == [("two", "details"), ("one", ""), ("initial commit", "")]
        assert all(c.commit_id not in old_ids.values() for c in commits)  # git ids now
        refs = api.list_repo_refs("alice/demo")
        assert sorted(b.name for b in refs.branches) == ["dev", "main"]
        assert [(t.name, t.target_commit) for t in refs.tags] == [("v1", commits[1].commit_id)]
        cache = tmp_path / "cache"

        def read(rev: str, f: str) -> Path:
            return Path(hf_hub_download("alice/demo", f, revision=rev, endpoint=hub.url, cache_dir=cache))

        assert read("main", "w.txt").read_bytes() == b"v2"
        assert read("v1", "w.txt").read_bytes() == b"v1"
        assert read("dev", "m.skops").read_bytes() == BIG
        assert {s.rfilename: s.lfs is not None for s in api.model_info("alice/demo").siblings} == {
            ".gitattributes": False,
            "m.skops": True,
            "w.txt": False,
        }
        assert api.model_info("alice/secret").private
        assert HfApi(endpoint=hub.url).dataset_info("bob/table").id == "bob/table"
        with pytest.raises(Exception, match="Repository Not Found"):
            HfApi(endpoint=hub.url, token="tok-b").model_info("alice/secret")
    for old, new in ((old_ids["v2"], commits[0].commit_id), (old_ids["v1"], commits[1].commit_id)):
        assert f"{old[:12]} -> {new[:12]}" in caplog.text
    assert (root / "migrated-0.1.0" / "repos" / "models" / "alice" / "demo" / "refs.json").is_file()
    assert not (root / "objects").exists()
    caplog.clear()
    with LocalHub(root) as again:  # migrated once: the second start changes nothing
        assert HfApi(endpoint=again.url).list_repo_commits("alice/demo")[0].commit_id == commits[0].commit_id
    assert "Migrated" not in caplog.text


def test_migrate_refuses_a_damaged_0_1_0_root_in_one_line(tmp_path):
    root = tmp_path / "root"
    ids = _old_root(root)
    for blob in (root / "objects").rglob("*"):
        if blob.is_file():
            blob.unlink()
            break
    with pytest.raises(
        MigrationError, match=r"Cannot migrate the gmm_hub 0\.1\.0 repo .* Serve it with gmm_hub 0\.1\.0"
    ) as err:
        LocalHub(root)
    assert "\n" not in str(err.value)
    assert ids and (root / "repos" / "models" / "alice" / "demo" / "refs.json").is_file()  # left as it was
    assert not (root / "repos" / "models" / "alice" / "demo.git").exists()
