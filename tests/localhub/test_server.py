"""The local Hub server, driven only through the unmodified huggingface_hub client (and its `hf` CLI)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx2
import huggingface_hub
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub.errors import (
    BadRequestError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import http_get

from gmm_hub.localhub._errors import HubError
from gmm_hub.localhub._git import check_path
from gmm_hub.localhub._server import LocalHub

HF_CLI = Path(sys.executable).with_name("hf")
BIG = bytes(range(256)) * 800  # 204,800 bytes, several download chunks


def _make_folder(root: Path, files: dict[str, bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def _repo_with(local_hub, files: dict[str, bytes], repo_id: str = "alice/demo", **create) -> HfApi:
    api = local_hub.api("alice")
    api.create_repo(repo_id, **create)
    for path, content in files.items():
        api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id=repo_id, repo_type=create.get("repo_type"))
    return api


# --- basic API ----------------------------------------------------------------
def test_local_hub_whoami_and_create_repo(local_hub):
    api = local_hub.api("alice")
    assert api.whoami()["name"] == "alice"
    url = api.create_repo("alice/demo")
    assert url.repo_id == "alice/demo" and url.startswith(local_hub.url)
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo("alice/demo")
    assert err.value.response.status_code == 409
    assert api.create_repo("alice/demo", exist_ok=True).repo_id == "alice/demo"
    with pytest.raises(HfHubHTTPError, match="Invalid user token"):
        HfApi(endpoint=local_hub.url, token="not-a-token").whoami()


def test_local_hub_upload_folder_is_one_commit_with_all_files(local_hub, tmp_path):
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    files = {"config.json": b'{"a": 1}', "README.md": b"# demo\n", "sub/dir/model.skops": BIG}
    info = api.upload_folder(
        folder_path=_make_folder(tmp_path / "up", files), repo_id="alice/demo", commit_message="add bundle"
    )
    commits = api.list_repo_commits("alice/demo")
    assert [c.title for c in commits] == ["add bundle", "initial commit"]
    assert re.fullmatch(r"[0-9a-f]{40}", info.oid) and commits[0].commit_id == info.oid
    assert commits[1].commit_id in api.model_info("alice/demo", revision=commits[1].commit_id).sha

    model = api.model_info("alice/demo")
    assert model.sha == info.oid and model.private is False
    siblings = {s.rfilename: s for s in model.siblings}
    assert set(siblings) == {".gitattributes", *files}
    assert siblings["sub/dir/model.skops"].size == len(BIG)
    assert sorted(api.list_repo_files("alice/demo")) == sorted(siblings)
    top = {e.path: type(e).__name__ for e in api.list_repo_tree("alice/demo")}
    assert top == {
        ".gitattributes": "RepoFile",
        "config.json": "RepoFile",
        "README.md": "RepoFile",
        "sub": "RepoFolder",
    }
    assert [e.path for e in api.list_repo_tree("alice/demo", "sub", recursive=True)] == [
        "sub/dir",
        "sub/dir/model.skops",
    ]
    # preupload reports the remote oid: an unchanged file makes no new commit
    api.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id="alice/demo")
    assert api.model_info("alice/demo").sha == info.oid


def test_local_hub_download_and_snapshot_match_upload(local_hub, tmp_path):
    files = {"config.json": b'{"a": 1}', "sub/model.skops": BIG}
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    api.upload_folder(folder_path=_make_folder(tmp_path / "up", files), repo_id="alice/demo")
    path = hf_hub_download("alice/demo", "sub/model.skops")
    assert Path(path).read_bytes() == BIG
    assert Path(path).is_relative_to(local_hub.cache_dir)
    snap = Path(snapshot_download("alice/demo"))
    assert {str(p.relative_to(snap)) for p in snap.rglob("*") if p.is_file()} == {".gitattributes", *files}
    assert (snap / "config.json").read_bytes() == files["config.json"]
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download("alice/demo", "missing.txt")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("alice/demo", "config.json", revision="no-such-branch")


def test_local_hub_revision_pinning_by_tag_sha_and_slashed_branch(local_hub):
    api = _repo_with(local_hub, {"w.txt": b"v1"})
    v1 = api.model_info("alice/demo").sha
    api.create_tag("alice/demo", tag="v1")
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="w.txt", repo_id="alice/demo")
    assert Path(hf_hub_download("alice/demo", "w.txt")).read_bytes() == b"v2"
    assert Path(hf_hub_download("alice/demo", "w.txt", revision="v1")).read_bytes() == b"v1"
    assert Path(hf_hub_download("alice/demo", "w.txt", revision=v1)).read_bytes() == b"v1"
    assert api.model_info("alice/demo", revision="v1").sha == v1
    refs = api.list_repo_refs("alice/demo")
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1", v1)]
    # url-encoded branch names ("feature/x" travels as feature%2Fx)
    api.create_branch("alice/demo", branch="feature/x", revision="v1")
    api.upload_file(path_or_fileobj=b"fx", path_in_repo="w.txt", repo_id="alice/demo", revision="feature/x")
    assert Path(hf_hub_download("alice/demo", "w.txt", revision="feature/x")).read_bytes() == b"fx"
    assert Path(hf_hub_download("alice/demo", "w.txt")).read_bytes() == b"v2"
    api.delete_tag("alice/demo", tag="v1")
    assert api.list_repo_refs("alice/demo").tags == []
    with pytest.raises(RevisionNotFoundError):
        api.model_info("alice/demo", revision="v1")


def test_local_hub_dataset_repos_work_too(local_hub):
    _repo_with(local_hub, {"data.csv": b"a,b\n1,2\n"}, repo_id="alice/table", repo_type="dataset")
    path = hf_hub_download("alice/table", "data.csv", repo_type="dataset")
    assert Path(path).read_bytes() == b"a,b\n1,2\n"
    assert "data.csv" in local_hub.api("alice").list_repo_files("alice/table", repo_type="dataset")
    # module-level functions (the import-time HfApi) are pointed at the server by the fixture too
    assert "data.csv" in huggingface_hub.list_repo_files("alice/table", repo_type="dataset")


# --- auth ---------------------------------------------------------------------
def test_local_hub_private_repo_invisible_to_others(local_hub):
    _repo_with(local_hub, {"secret.txt": b"top secret"}, repo_id="alice/private", private=True)
    for api in (local_hub.api(None), local_hub.api("bob")):
        with pytest.raises(RepositoryNotFoundError):
            api.model_info("alice/private")
        with pytest.raises(RepositoryNotFoundError):
            api.list_repo_files("alice/private")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("alice/private", "secret.txt", token=local_hub.tokens["bob"])
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("alice/private", "secret.txt", token=False)
    refused = [r.status for r in local_hub.server.requests if "private" in r.path and r.status >= 400]
    assert set(refused) == {401, 404}
    assert local_hub.server.count("GET", r"/resolve/") == 0  # the content was never sent
    assert local_hub.api("alice").model_info("alice/private").private is True
    path = hf_hub_download("alice/private", "secret.txt", token=local_hub.tokens["alice"])
    assert Path(path).read_bytes() == b"top secret"


def test_local_hub_writes_need_the_owner_token(local_hub):
    api = _repo_with(local_hub, {"w.txt": b"v1"})
    head = api.model_info("alice/demo").sha
    with pytest.raises(HfHubHTTPError) as err:
        local_hub.api(None).create_repo("alice/other")
    assert err.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as err:
        local_hub.api("bob").create_repo("alice/other")
    assert err.value.response.status_code == 403
    for user in (None, "bob"):
        with pytest.raises(HfHubHTTPError) as err:
            local_hub.api(user).upload_file(path_or_fileobj=b"evil", path_in_repo="w.txt", repo_id="alice/demo")
        assert err.value.response.status_code == (401 if user is None else 403)
        with pytest.raises(HfHubHTTPError):
            local_hub.api(user).create_tag("alice/demo", tag="evil")
        with pytest.raises(HfHubHTTPError):
            local_hub.api(user).delete_repo("alice/demo")
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=local_hub.url, token="wrong").upload_file(
            path_or_fileobj=b"evil", path_in_repo="w.txt", repo_id="alice/demo"
        )
    assert err.value.response.status_code == 401
    assert api.model_info("alice/demo").sha == head
    assert api.list_repo_refs("alice/demo").tags == []
    assert local_hub.api("bob").create_repo("bob/mine").repo_id == "bob/mine"
    api.delete_repo("alice/demo")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("alice/demo")


def test_local_hub_never_logs_tokens(local_hub, caplog):
    caplog.set_level(logging.DEBUG, logger="gmm_hub")
    _repo_with(local_hub, {"w.txt": b"v1"})
    hf_hub_download("alice/demo", "w.txt", token=local_hub.tokens["bob"])
    assert "/resolve/main/w.txt" in caplog.text
    assert not any(token in caplog.text for token in local_hub.tokens.values())


# --- cache and offline ----------------------------------------------------------
def test_local_hub_second_download_served_from_cache(local_hub):
    _repo_with(local_hub, {"w.txt": BIG})
    first = hf_hub_download("alice/demo", "w.txt")
    second = hf_hub_download("alice/demo", "w.txt")
    assert first == second and Path(second).read_bytes() == BIG
    assert local_hub.server.count("GET", r"/resolve/main/w\.txt$") == 1
    assert local_hub.server.count("HEAD", r"/resolve/main/w\.txt$") == 2


def test_local_hub_offline_mode_resolves_warm_cache(local_hub):
    _repo_with(local_hub, {"w.txt": b"cached"})
    hf_hub_download("alice/demo", "w.txt")
    before = len(local_hub.server.requests)
    code = "from huggingface_hub import hf_hub_download; print(open(hf_hub_download('alice/demo', 'w.txt')).read())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=local_hub.env(HF_HUB_OFFLINE="1"), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "cached"
    assert len(local_hub.server.requests) == before  # no request reached the server


# --- faults -------------------------------------------------------------------
def test_local_hub_commit_error_500_commits_nothing(local_hub):
    api = _repo_with(local_hub, {"w.txt": b"v1"})
    head = api.model_info("alice/demo").sha
    local_hub.server.inject_fault("POST", r"/commit/", status=500)
    with pytest.raises(HfHubHTTPError, match="500") as err:
        api.upload_file(path_or_fileobj=b"v2", path_in_repo="w.txt", repo_id="alice/demo")
    assert err.value.response.status_code == 500
    assert api.model_info("alice/demo").sha == head
    assert Path(hf_hub_download("alice/demo", "w.txt")).read_bytes() == b"v1"


def test_local_hub_dropped_download_resumes_with_range(local_hub):
    _repo_with(local_hub, {"big.bin": BIG})
    local_hub.server.inject_fault("GET", r"/resolve/.*/big\.bin$", drop_after_bytes=70_000)
    path = hf_hub_download("alice/demo", "big.bin")
    assert Path(path).read_bytes() == BIG
    gets = [r.status for r in local_hub.server.requests if r.method == "GET" and r.path.endswith("big.bin")]
    # the client retries; it asks for a Range only when it had flushed bytes to disk (206), else restarts (200)
    assert len(gets) == 2 and gets[1] in (200, 206)


def test_local_hub_serves_byte_ranges_for_resume(local_hub, tmp_path):
    _repo_with(local_hub, {"big.bin": BIG})
    url = hf_hub_url("alice/demo", "big.bin")
    with open(tmp_path / "part", "wb") as fh:
        http_get(url, fh, resume_size=150_000, expected_size=len(BIG))
    assert (tmp_path / "part").read_bytes() == BIG[150_000:]
    assert local_hub.server.requests[-1] == ("GET", "/alice/demo/resolve/main/big.bin", 206)


def test_local_hub_download_dropped_for_good_leaves_no_corrupt_file(local_hub):
    _repo_with(local_hub, {"big.bin": BIG})
    local_hub.server.inject_fault("GET", r"/resolve/.*/big\.bin$", drop_after_bytes=0, times=100)
    with pytest.raises(httpx2.RemoteProtocolError):
        hf_hub_download("alice/demo", "big.bin")
    storage = local_hub.cache_dir / "models--alice--demo"
    leftovers = [p for p in storage.rglob("*") if p.is_file() and "refs" not in p.parts]
    assert leftovers == []  # no blob, no pointer, no partial file
    local_hub.server.clear_faults()
    assert Path(hf_hub_download("alice/demo", "big.bin")).read_bytes() == BIG


def test_local_hub_429_with_retry_after_is_retried(local_hub):
    _repo_with(local_hub, {"w.txt": b"v1"})
    local_hub.server.inject_fault("GET", r"/resolve/main/w\.txt$", status=429, retry_after=0)
    assert Path(hf_hub_download("alice/demo", "w.txt")).read_bytes() == b"v1"
    assert [r.status for r in local_hub.server.requests if r.method == "GET"] == [429, 200]


def test_local_hub_refuses_dotdot_paths(local_hub):
    api = _repo_with(local_hub, {"w.txt": b"v1"})
    head = api.model_info("alice/demo").sha
    with pytest.raises(BadRequestError):  # quoted as ..%2Fetc: reaches the server, which refuses it
        list(api.list_repo_tree("alice/demo", path_in_repo="../etc"))
    op = CommitOperationAdd(path_in_repo="ok.txt", path_or_fileobj=b"evil")
    op.path_in_repo = "../../evil.txt"  # bypass the client-side check to reach the server
    with pytest.raises(BadRequestError):
        api.create_commit("alice/demo", operations=[op], commit_message="escape")
    assert api.model_info("alice/demo").sha == head
    assert not any(p.name == "evil.txt" for p in local_hub.root.parent.rglob("evil.txt"))
    with pytest.raises(ValueError):  # the client refuses it before any request
        hf_hub_download("alice/demo", "../w.txt")
    for bad in ("../x", "/etc/passwd", "a/../b", "a//b", "./a", "a\\b"):
        with pytest.raises(HubError, match="Invalid path"):
            check_path(bad)


def test_local_hub_caps_request_body(tmp_path, monkeypatch):
    # big.bin goes through LFS: the client must not take the Xet path (use_endpoint does this elsewhere)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    with LocalHub(tmp_path / "root", tokens={"alice": "tok"}, max_body_bytes=4096) as hub:
        api = HfApi(endpoint=hub.url, token="tok")
        api.create_repo("alice/demo")
        with pytest.raises(HfHubHTTPError) as err:
            api.upload_file(path_or_fileobj=BIG, path_in_repo="big.bin", repo_id="alice/demo")
        assert err.value.response.status_code == 413
        assert "big.bin" not in api.list_repo_files("alice/demo")


def test_local_hub_tree_listing_is_paginated(local_hub, tmp_path):
    local_hub.server.tree_page_size = 2
    api = local_hub.api("alice")
    api.create_repo("alice/demo")
    files = {f"f{i}.txt": str(i).encode() for i in range(5)}
    api.upload_folder(folder_path=_make_folder(tmp_path / "up", files), repo_id="alice/demo")
    assert sorted(api.list_repo_files("alice/demo")) == sorted([".gitattributes", *files])
    assert local_hub.server.count("GET", r"/tree/") == 3


def test_local_hub_commits_survive_restart(local_hub, tmp_path):
    api = _repo_with(local_hub, {"w.txt": b"v1"})
    api.create_tag("alice/demo", tag="v1")
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="w.txt", repo_id="alice/demo")
    sha = api.model_info("alice/demo").sha
    local_hub.server.stop()
    with LocalHub(local_hub.root, tokens=local_hub.tokens) as again:
        api2 = HfApi(endpoint=again.url, token=local_hub.tokens["alice"])
        assert api2.model_info("alice/demo").sha == sha
        assert [t.name for t in api2.list_repo_refs("alice/demo").tags] == ["v1"]
        fresh_cache = tmp_path / "fresh_cache"
        path = hf_hub_download("alice/demo", "w.txt", revision="v1", endpoint=again.url, cache_dir=fresh_cache)
        assert Path(path).read_bytes() == b"v1"
        api2.upload_file(path_or_fileobj=b"v3", path_in_repo="w.txt", repo_id="alice/demo")
        assert api2.list_repo_commits("alice/demo")[1].commit_id == sha


def test_local_hub_concurrent_downloads(local_hub):
    _repo_with(local_hub, {f"f{i}.bin": BIG[i:] for i in range(4)})
    results: dict[int, bytes] = {}

    def fetch(i: int) -> None:
        results[i] = Path(hf_hub_download("alice/demo", f"f{i}.bin")).read_bytes()

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {i: BIG[i:] for i in range(4)}


# --- command lines ------------------------------------------------------------
def test_hf_cli_upload_and_download_against_local_hub(local_hub, tmp_path):
    folder = _make_folder(tmp_path / "bundle", {"config.json": b"{}", "model.skops": BIG})
    up = subprocess.run(
        [str(HF_CLI), "upload", "alice/cli-repo", str(folder), ".", "--commit-message", "cli"],
        env=local_hub.env("alice"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert up.returncode == 0, up.stderr
    assert local_hub.api("alice").list_repo_commits("alice/cli-repo")[0].title == "cli"
    down = subprocess.run(
        [str(HF_CLI), "download", "alice/cli-repo", "model.skops", "--local-dir", str(tmp_path / "out")],
        env=local_hub.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "out" / "model.skops").read_bytes() == BIG
    refused = subprocess.run(
        [str(HF_CLI), "upload", "alice/cli-repo", str(folder), "."],
        env=local_hub.env("bob"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "403" in refused.stdout + refused.stderr


def test_gmm_hub_hub_serve_command(tmp_path):
    pytest.importorskip("gmm_hub.cli", reason="gmm_hub.cli is not importable yet", exc_type=ImportError)
    env = {**os.environ, "GMM_HUB_SERVE_TOKENS": "alice=cli-token"}
    code = "import sys; from gmm_hub.cli import main; main(sys.argv[1:])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "hub", "serve", "--port", "0", "--root", str(tmp_path / "root")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        api = HfApi(endpoint=url, token="cli-token")
        assert api.whoami()["name"] == "alice"
        assert api.create_repo("alice/x").repo_id == "alice/x"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "cli-token" not in line + err
    assert (tmp_path / "root" / "repos" / "models" / "alice" / "x.git" / "HEAD").is_file()  # a bare git repo
