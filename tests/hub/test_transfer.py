"""gmm_hub.push / pull / load(repo_id) / GMMHubModel against the local Hub, through the unmodified client."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from huggingface_hub import constants
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import gmm_hub
from gmm_hub.evaluation import evaluate_model
from gmm_hub.exceptions import BundleError, HubError, InvalidInputError, UntrustedModelError
from gmm_hub.hub._mixin import GMMHubModel
from gmm_hub.hub._transfer import copy_bundle, pull, push, use_endpoint

RND_SEED = 0
HF_CLI = Path(sys.executable).with_name("hf")
BUNDLE_FILES = {"config.json", "model.skops", "README.md", "confusion_matrix.png", "precision_recall.png"}


def make_data(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A small mixed-type, imbalanced table; ``seed`` changes the learned model."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 3 == 0).astype(int)
    X = pd.DataFrame(
        {
            "amount": np.round(rng.normal(10 + (3 + 3 * seed) * y, 2), 2),
            "age": np.round(rng.normal(40 - (8 - 4 * seed) * y, 5)),
            "channel": np.where(rng.random(n) < 0.5 + 0.3 * y, "web", "shop"),
        }
    )
    return X, y


PROBE, _ = make_data(40, seed=7)


def _make_bundle(path: Path, seed: int) -> Path:
    X, y = make_data(seed=seed)
    model = gmm_hub.tabular_pipeline(n_components=1, covariance_type="diag", random_state=RND_SEED).fit(X, y)
    gmm_hub.save(model, path, metrics=evaluate_model(model, X, y))
    gmm_hub.write_card(path)
    return path


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub_bundles")
    made = {"v1": _make_bundle(root / "v1", seed=0), "v2": _make_bundle(root / "v2", seed=1)}
    assert not np.array_equal(
        gmm_hub.load(made["v1"]).predict_proba(PROBE), gmm_hub.load(made["v2"]).predict_proba(PROBE)
    )
    return made


@pytest.fixture
def bundle(bundles, tmp_path):
    return Path(shutil.copytree(bundles["v1"], tmp_path / "bundle"))


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _proba(target, **kwargs) -> np.ndarray:
    return gmm_hub.load(target, **kwargs).predict_proba(PROBE)


# --- push / load --------------------------------------------------------------
def test_push_then_load_by_repo_id_predicts_like_local_bundle(local_hub, bundle):
    url = push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"], commit_message="first")
    assert url.startswith(f"{local_hub.url}/alice/bc-gmm/commit/")
    api = local_hub.api("alice")
    assert set(api.list_repo_files("alice/bc-gmm")) >= BUNDLE_FILES
    assert api.list_repo_commits("alice/bc-gmm")[0].title == "first"
    assert local_hub.server.count("POST", r"/commit/") == 1  # every file in one commit
    remote = gmm_hub.load("alice/bc-gmm")
    assert Path(remote.path).is_relative_to(local_hub.cache_dir)
    np.testing.assert_array_equal(remote.predict_proba(PROBE), _proba(bundle))


def test_pull_downloads_only_bundle_files(local_hub, bundle):
    push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    api = local_hub.api("alice")
    api.upload_file(path_or_fileobj=b"not a model", path_in_repo="model.joblib", repo_id="alice/bc-gmm")
    api.upload_file(path_or_fileobj=b"x" * 1000, path_in_repo="data/train.csv", repo_id="alice/bc-gmm")
    path = pull("alice/bc-gmm")
    assert {p.name for p in path.iterdir()} == BUNDLE_FILES
    assert "model.joblib" in {p.name for p in pull("alice/bc-gmm", allow_pickle=True).iterdir()}


def test_push_revision_pinning_by_tag_branch_and_sha(local_hub, bundles):
    token = local_hub.tokens["alice"]
    v1_url = push(bundles["v1"], "alice/bc-gmm", token=token, tag="v1")
    push(bundles["v2"], "alice/bc-gmm", token=token, tag="v2")
    push(bundles["v1"], "alice/bc-gmm", token=token, revision="stable")
    v1, v2 = _proba(bundles["v1"]), _proba(bundles["v2"])
    np.testing.assert_array_equal(_proba("alice/bc-gmm", revision="v1"), v1)
    np.testing.assert_array_equal(_proba("alice/bc-gmm", revision=v1_url.rsplit("/", 1)[1]), v1)
    np.testing.assert_array_equal(_proba("alice/bc-gmm", revision="stable"), v1)
    np.testing.assert_array_equal(_proba("alice/bc-gmm"), v2)  # main moved on
    with pytest.raises(HubError, match="revision 'v3' does not exist"):
        gmm_hub.load("alice/bc-gmm", revision="v3")
    commits = len(local_hub.api().list_repo_commits("alice/bc-gmm", revision="stable"))
    with pytest.raises(HubError, match=r"tag 'v1' already exists.*nothing was pushed"):
        push(bundles["v2"], "alice/bc-gmm", token=token, tag="v1", revision="stable")
    assert len(local_hub.api().list_repo_commits("alice/bc-gmm", revision="stable")) == commits
    np.testing.assert_array_equal(_proba("alice/bc-gmm", revision="stable"), v1)


def test_push_create_pr_opens_a_pull_request_and_main_stays(local_hub, bundles):
    token = local_hub.tokens["alice"]
    push(bundles["v1"], "alice/bc-gmm", token=token)
    url = push(bundles["v2"], "alice/bc-gmm", token=token, create_pr=True)
    assert url == f"{local_hub.url}/alice/bc-gmm/discussions/1"
    np.testing.assert_array_equal(_proba("alice/bc-gmm"), _proba(bundles["v1"]))
    np.testing.assert_array_equal(_proba("alice/bc-gmm", revision="refs/pr/1"), _proba(bundles["v2"]))
    # anyone signed in may propose a model to a public repo; only its owner's branches move
    url = push(bundles["v2"], "alice/bc-gmm", token=local_hub.tokens["bob"], create_pr=True)
    assert url.endswith("/discussions/2")
    np.testing.assert_array_equal(_proba("alice/bc-gmm"), _proba(bundles["v1"]))
    with pytest.raises(InvalidInputError, match="create_pr"):
        push(bundles["v2"], "alice/bc-gmm", token=token, create_pr=True, tag="v2")


def test_joblib_bundle_needs_allow_pickle_to_push_and_load(local_hub, tmp_path):
    X, y = make_data(seed=0)
    model = gmm_hub.tabular_pipeline(n_components=1, covariance_type="diag", random_state=RND_SEED).fit(X, y)
    bundle = gmm_hub.save(model, tmp_path / "pickled", format="joblib")
    with pytest.raises(HubError, match=r"failed verification.*pickle"):
        push(bundle, "alice/pickled", token=local_hub.tokens["alice"])
    push(bundle, "alice/pickled", token=local_hub.tokens["alice"], allow_pickle=True)
    with pytest.raises(UntrustedModelError, match="allow_pickle"):
        gmm_hub.load("alice/pickled")
    with pytest.raises(UntrustedModelError, match="not downloaded"):
        pull("alice/pickled")
    assert not list(local_hub.cache_dir.rglob("model.joblib"))
    with pytest.raises(UntrustedModelError, match="trust_remote_pickle"):
        gmm_hub.load("alice/pickled", allow_pickle=True)  # allow_pickle never applies to a download
    with pytest.raises(InvalidInputError, match="does not name the repo"):
        gmm_hub.load("alice/pickled", trust_remote_pickle="alice/other")
    assert not list(local_hub.cache_dir.rglob("model.joblib"))
    remote = _proba("alice/pickled", trust_remote_pickle="alice/pickled")
    np.testing.assert_array_equal(remote, model.predict_proba(PROBE))


# --- access control and tokens ----------------------------------------------------------
def test_pull_private_repo_readable_by_owner_only(local_hub, bundle):
    push(bundle, "alice/secret-gmm", private=True, token=local_hub.tokens["alice"])
    assert local_hub.api("alice").repo_info("alice/secret-gmm").private
    for token in (None, local_hub.tokens["bob"]):
        with pytest.raises(HubError, match="not found, or it is private"):
            gmm_hub.load("alice/secret-gmm", token=token)
    np.testing.assert_array_equal(_proba("alice/secret-gmm", token=local_hub.tokens["alice"]), _proba(bundle))


def test_push_without_token_is_refused_before_any_request(local_hub, bundle):
    with pytest.raises(HubError, match=r"HF_TOKEN.*hf auth login"):
        push(bundle, "alice/bc-gmm")
    assert local_hub.server.requests == []


def test_push_uses_hf_token_from_environment(local_hub, bundle, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", local_hub.tokens["alice"])
    push(bundle, "alice/bc-gmm")
    assert "model.skops" in local_hub.api().list_repo_files("alice/bc-gmm")


def test_push_with_another_users_token_is_refused(local_hub, bundle):
    with pytest.raises(HubError, match="403 Forbidden") as err:
        push(bundle, "alice/bc-gmm", token=local_hub.tokens["bob"])
    assert local_hub.tokens["bob"] not in str(err.value)
    assert local_hub.server.count("POST", r"/commit/") == 0


def test_push_never_reveals_the_token(local_hub, bundle, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    wrong = "hf_wrong_secret_token_0123456789"
    with pytest.raises(HubError, match="401") as bad:
        push(bundle, "alice/bc-gmm", token=wrong)
    local_hub.server.inject_fault("POST", r"/commit/", status=500)
    with pytest.raises(HubError, match="HTTP 500") as failed:
        push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    out = capsys.readouterr()
    tracebacks = ["".join(traceback.format_exception(e.value)) for e in (bad, failed)]  # with the chained errors
    seen = " ".join([*tracebacks, str(bad.value), str(failed.value), caplog.text, out.out, out.err])
    assert "Invalid credentials" in seen and "Injected fault" in seen
    assert wrong not in seen and local_hub.tokens["alice"] not in seen


def test_push_refuses_bundle_that_fails_verification(local_hub, bundle):
    data = bytearray((bundle / "model.skops").read_bytes())
    data[-10] ^= 0xFF
    (bundle / "model.skops").write_bytes(bytes(data))
    with pytest.raises(HubError, match=r"failed verification.*integrity"):
        push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    assert local_hub.server.requests == []


# --- cache and offline ------------------------------------------------------------
def test_load_second_time_is_served_from_cache(local_hub, bundle):
    url = push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    gmm_hub.load("alice/bc-gmm")
    assert local_hub.server.count("GET", r"/resolve/") == len(BUNDLE_FILES)
    before = len(local_hub.server.requests)
    gmm_hub.load("alice/bc-gmm")
    second = local_hub.server.requests[before:]
    assert [r.path for r in second] == ["/api/models/alice/bc-gmm/revision/main"]  # resolves main, no file GET
    before = len(local_hub.server.requests)
    gmm_hub.load("alice/bc-gmm", revision=url.rsplit("/", 1)[1])
    assert local_hub.server.requests[before:] == []  # a commit sha needs no request at all


def test_load_offline_from_warm_cache(local_hub, bundle):
    push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    expected = gmm_hub.load("alice/bc-gmm").predict(PROBE).tolist()
    before = len(local_hub.server.requests)
    code = (
        "import json, sys, pandas as pd, gmm_hub; X = pd.DataFrame(**json.loads(sys.stdin.read()));"
        "print(json.dumps(gmm_hub.load('alice/bc-gmm').predict(X).tolist()));"
        "gmm_hub.load('alice/never-pulled')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=PROBE.to_json(orient="split"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=local_hub.env(HF_HUB_OFFLINE="1"),
    )
    assert out.stdout.strip(), out.stderr
    assert json.loads(out.stdout) == expected
    assert "HubError" in out.stderr and "not fully in the local cache" in out.stderr
    assert len(local_hub.server.requests) == before


def test_pull_replaces_a_corrupted_cached_file(local_hub, bundle):
    push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    cached = pull("alice/bc-gmm") / "model.skops"
    blob = cached.resolve()
    blob.write_bytes(blob.read_bytes()[:-5])  # damaged on disk
    np.testing.assert_array_equal(_proba("alice/bc-gmm"), _proba(bundle))
    assert (pull("alice/bc-gmm") / "model.skops").read_bytes() == (bundle / "model.skops").read_bytes()


# --- faults ------------------------------------------------------------------------
def test_push_commit_error_500_is_clear_and_changes_nothing(local_hub, bundle):
    before = _digest(bundle)
    local_hub.server.inject_fault("POST", r"/commit/", status=500)
    with pytest.raises(HubError, match=r"HTTP 500.*Nothing local was changed"):
        push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    assert _digest(bundle) == before
    assert "model.skops" not in local_hub.api("alice").list_repo_files("alice/bc-gmm")
    push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])  # trying again works
    assert _digest(bundle) == before


def test_push_429_with_retry_after_is_retried(local_hub, bundle):
    local_hub.server.inject_fault("POST", r"/commit/", status=429, retry_after=0)
    push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    assert [r.status for r in local_hub.server.requests if "/commit/" in r.path] == [429, 200]


def test_pull_429_with_retry_after_is_retried(local_hub, bundle):
    push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    local_hub.server.inject_fault("GET", r"/resolve/.*/model\.skops$", status=429, retry_after=0)
    np.testing.assert_array_equal(_proba("alice/bc-gmm"), _proba(bundle))


def _cache_is_clean(local_hub) -> None:
    """No partial download and every blob's content matches its git/sha256 name."""
    storage = local_hub.cache_dir / "models--alice--bc-gmm"
    assert not list(storage.rglob("*.incomplete"))
    for blob in (storage / "blobs").glob("*") if (storage / "blobs").exists() else []:
        data = blob.read_bytes()
        git_sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git object id
        assert blob.name in (git_sha, hashlib.sha256(data).hexdigest()), blob


def test_pull_dropped_connection_mid_download_resumes(local_hub, bundle):
    push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    local_hub.server.inject_fault("GET", r"/resolve/.*/model\.skops$", drop_after_bytes=1000)
    np.testing.assert_array_equal(_proba("alice/bc-gmm"), _proba(bundle))
    assert local_hub.server.count("GET", r"/resolve/.*/model\.skops$") == 2
    _cache_is_clean(local_hub)


def test_pull_dropped_for_good_is_clear_and_leaves_no_corrupt_file(local_hub, bundle):
    before = _digest(bundle)
    push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    local_hub.server.inject_fault("GET", r"/resolve/.*/model\.skops$", drop_after_bytes=1000, times=100)
    with pytest.raises(HubError, match="connection failed"):
        gmm_hub.load("alice/bc-gmm")
    _cache_is_clean(local_hub)
    local_hub.server.clear_faults()
    np.testing.assert_array_equal(_proba("alice/bc-gmm"), _proba(bundle))
    assert _digest(bundle) == before


# --- hostile repos ------------------------------------------------------------------
def _upload_as_is(local_hub, folder: Path, repo_id: str = "alice/evil") -> None:
    api = local_hub.api("alice")
    api.create_repo(repo_id)
    api.upload_folder(repo_id=repo_id, folder_path=folder)


def test_load_refuses_repo_with_untrusted_model_and_consistent_hashes(local_hub, bundle):
    hostile = skops.io.dumps(Pipeline([("f", FunctionTransformer(func=os.system)), ("s", StandardScaler())]))
    config = json.loads((bundle / "config.json").read_text())
    (bundle / "model.skops").write_bytes(hostile)
    config["files"]["model.skops"] = {"sha256": hashlib.sha256(hostile).hexdigest(), "size": len(hostile)}
    (bundle / "config.json").write_text(json.dumps(config))
    _upload_as_is(local_hub, bundle)
    with pytest.raises(UntrustedModelError, match="does not trust"):
        gmm_hub.load("alice/evil")
    with pytest.raises(UntrustedModelError):
        GMMHubModel.from_pretrained("alice/evil")


def test_load_refuses_repo_whose_config_names_a_path_outside(local_hub, bundle):
    config = json.loads((bundle / "config.json").read_text())
    config["files"]["../../outside.txt"] = {"sha256": "0" * 64, "size": 1}
    (bundle / "config.json").write_text(json.dumps(config))
    _upload_as_is(local_hub, bundle)
    with pytest.raises(BundleError, match="outside the bundle"):
        gmm_hub.load("alice/evil")


# --- interoperability with the hf CLI ----------------------------------------------------
def test_bundle_uploaded_by_hf_cli_loads_with_gmm_hub(local_hub, bundle):
    up = subprocess.run(
        [str(HF_CLI), "upload", "alice/bc-gmm", str(bundle), "."],
        env=local_hub.env("alice"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert up.returncode == 0, up.stderr
    np.testing.assert_array_equal(_proba("alice/bc-gmm"), _proba(bundle))


def test_bundle_pushed_by_gmm_hub_downloads_with_hf_cli(local_hub, bundle, tmp_path):
    push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"], tag="v1")
    down = subprocess.run(
        [str(HF_CLI), "download", "alice/bc-gmm", "--revision", "v1", "--local-dir", str(tmp_path / "out")],
        env=local_hub.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert down.returncode == 0, down.stderr
    assert {n: d for n, d in _digest(tmp_path / "out").items() if n in BUNDLE_FILES} == _digest(bundle)
    np.testing.assert_array_equal(_proba(tmp_path / "out"), _proba(bundle))


# --- ModelHubMixin -------------------------------------------------------------------
def test_gmm_hub_model_push_to_hub_and_from_pretrained(local_hub, bundles, tmp_path):
    model = GMMHubModel.from_pretrained(str(bundles["v1"]))
    url = model.push_to_hub("alice/mixin", token=local_hub.tokens["alice"], tag="v1")
    assert "/alice/mixin/commit/" in url
    GMMHubModel(gmm_hub.load(bundles["v2"])).push_to_hub("alice/mixin", token=local_hub.tokens["alice"])
    pinned = GMMHubModel.from_pretrained("alice/mixin", revision="v1")
    np.testing.assert_array_equal(pinned.predict_proba(PROBE), _proba(bundles["v1"]))
    np.testing.assert_array_equal(
        GMMHubModel.from_pretrained("alice/mixin").predict(PROBE), gmm_hub.load(bundles["v2"]).predict(PROBE)
    )
    with pytest.raises(InvalidInputError, match="allow_patterns"):
        pinned.push_to_hub("alice/mixin", token=local_hub.tokens["alice"], allow_patterns=["*.skops"])


def test_gmm_hub_model_save_pretrained_writes_a_sound_bundle(bundles, tmp_path):
    GMMHubModel.from_pretrained(str(bundles["v1"])).save_pretrained(tmp_path / "copy")
    assert _digest(tmp_path / "copy") == _digest(bundles["v1"])  # the very same files
    X, y = make_data(seed=2)
    fitted = gmm_hub.tabular_pipeline(n_components=1, covariance_type="diag", random_state=RND_SEED).fit(X, y)
    GMMHubModel(fitted).save_pretrained(tmp_path / "fresh")
    assert {"config.json", "model.skops", "README.md"} <= {p.name for p in (tmp_path / "fresh").iterdir()}
    np.testing.assert_array_equal(_proba(tmp_path / "fresh"), fitted.predict_proba(PROBE))


# --- helpers -------------------------------------------------------------------------
def test_copy_bundle_is_atomic_and_refuses_non_empty_target(bundle, tmp_path):
    out = copy_bundle(bundle, tmp_path / "out")
    assert _digest(out) == _digest(bundle)
    with pytest.raises(HubError, match="not empty"):
        copy_bundle(bundle, out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


def test_use_endpoint_restores_client_settings(tmp_path, monkeypatch):
    from huggingface_hub import hf_api

    monkeypatch.setenv("HF_TOKEN", "hf_real_token_for_the_real_hub")
    before = (constants.ENDPOINT, constants.HF_HUB_CACHE, hf_api.api.endpoint)
    with use_endpoint("http://127.0.0.1:9", hf_home=tmp_path, token="throwaway"):
        assert constants.ENDPOINT == hf_api.api.endpoint == os.environ["HF_ENDPOINT"] == "http://127.0.0.1:9"
        assert str(tmp_path / "hub") == constants.HF_HUB_CACHE and os.environ["HF_TOKEN"] == "throwaway"
        with pytest.raises(HubError, match=r"could not be reached .*ConnectError"):
            pull("alice/anything")  # nothing listens on port 9
    assert (constants.ENDPOINT, constants.HF_HUB_CACHE, hf_api.api.endpoint) == before
    assert os.environ["HF_TOKEN"] == "hf_real_token_for_the_real_hub"


# --- trust boundary: tokens, repo-id resolution, exactly the verified bytes ---------------


def test_use_endpoint_never_sends_a_token_saved_for_another_endpoint(local_hub, tmp_path):
    """A token saved by `hf auth login` (HF_HOME/token) stays with its endpoint: inside
    use_endpoint(url) without hf_home the real client sends no token to url."""
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

    from gmm_hub.localhub import LocalHub

    saved = "hf_saved_by_hf_auth_login_for_hfco"
    home = tmp_path / "home"
    home.mkdir()
    (home / "token").write_text(saved)
    # a server on which the saved token is valid: if the client sent it, whoami would answer "mallory"
    other = LocalHub(tmp_path / "other_root", tokens={"mallory": saved})
    with other, use_endpoint(other.url, hf_home=home):
        assert get_token() == saved and HfApi().whoami()["name"] == "mallory"  # the test can fail
        with use_endpoint(other.url):
            assert get_token() is None
            assert Path(constants.HF_TOKEN_PATH).parent.parent.name == "endpoints"
            with pytest.raises((LocalTokenNotFoundError, HfHubHTTPError)):
                HfApi().whoami()
            with pytest.raises(HfHubHTTPError, match="401"):
                HfApi().create_repo("mallory/stolen")
        assert HfApi().whoami()["name"] == "mallory"  # restored on exit
        assert not HfApi().repo_exists("mallory/stolen")


def test_load_logs_when_a_repo_id_is_resolved_on_the_hub(local_hub, bundle, caplog, tmp_path, monkeypatch):
    push(bundle, "alice/bc-gmm", token=local_hub.tokens["alice"])
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="gmm_hub.bundle._io"):
        gmm_hub.load("alice/bc-gmm")
    assert "no local path 'alice/bc-gmm': loading the Hub repo" in caplog.text
    requests = len(local_hub.server.requests)
    for target in ("./alice/bc-gmm", "alice/bc-gmm/model", "alice/bc-gmm.skops", "~/alice"):
        with pytest.raises(BundleError, match="not looked up on the Hub"):
            gmm_hub.load(target, allow_pickle=True)
    assert len(local_hub.server.requests) == requests  # no request for a path-like argument


def test_push_uploads_the_bytes_it_verified(local_hub, bundle):
    from gmm_hub.hub._transfer import _bundle_operations

    config, operations = _bundle_operations(bundle, allow_pickle=False)
    assert all(isinstance(op.path_or_fileobj, bytes) for op in operations)  # not paths read again later
    on_disk = {p.name: p.read_bytes() for p in bundle.iterdir()}
    assert {op.path_in_repo: op.path_or_fileobj for op in operations} == on_disk
    assert sorted(op.path_in_repo for op in operations) == sorted(["config.json", *config["files"]])
