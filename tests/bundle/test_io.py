"""Bundle save/load: round trip, config contents, overwrite, atomicity, versions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import gmm_hub
import gmm_hub.bundle
from gmm_hub._constants import PROTOCOL
from gmm_hub.bundle import _io, _trust
from gmm_hub.exceptions import BundleError, IntegrityError, InvalidInputError, UntrustedModelError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RND_SEED = 0


@pytest.fixture(scope="module")
def numeric():
    rng = np.random.default_rng(RND_SEED)
    X = np.r_[rng.normal(size=(40, 3)), rng.normal(2, 1, size=(12, 3))]
    y = np.r_[np.zeros(40, int), np.ones(12, int)]
    model = Pipeline(
        [("scale", StandardScaler()), ("gmm", gmm_hub.GMMClassifier(n_components=1, random_state=RND_SEED))]
    )
    return model.fit(X, y), X, y


@pytest.fixture
def bundle(tmp_path, mixed_model):
    model, _, _ = mixed_model
    return gmm_hub.save(model, tmp_path / "bundle", metrics={"f1_macro": 0.75})


def _edit_config(bundle: Path, **changes) -> None:
    path = bundle / "config.json"
    config = json.loads(path.read_text())
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            config[section][name] = value
        else:
            config[section] = value
    path.write_text(json.dumps(config))


def test_save_load_round_trip_identical_predictions(bundle, mixed_model):
    model, X, _ = mixed_model
    loaded = gmm_hub.load(bundle)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    assert [c["name"] for c in loaded.schema["columns"]] == ["amount", "age", "channel"]
    assert loaded.metadata is loaded.config


def test_save_load_numeric_pipeline_round_trip(tmp_path, numeric):
    model, X, _ = numeric
    loaded = gmm_hub.load(gmm_hub.save(model, tmp_path / "b"))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_save_writes_config_contract(tmp_path, mixed_model):
    model, X, _y = mixed_model
    info = {"name": "toy", "n_rows": len(X), "class_counts": {"0": 45, "1": 15}, "fingerprint": "sha256:ab"}
    path = gmm_hub.save(model, tmp_path / "b", metrics={"balanced_accuracy": np.float64(0.8)}, dataset=info)
    config = json.loads((path / "config.json").read_text())
    assert config["format"] == "gmm_hub-bundle" and config["format_version"] == PROTOCOL
    assert config["task"] == "tabular-classification" and config["library_name"] == "gmm_hub"
    assert config["classes"] == [0, 1]
    assert config["dataset"] == info
    assert config["metrics"] == {"balanced_accuracy": 0.8}
    assert set(config["versions"]) == {"gmm_hub", "sklearn", "skops", "numpy", "python"}
    assert config["model"]["file"] == "model.skops" and config["model"]["threshold"] == 0.5
    assert [p["n_train"] for p in config["model"]["per_class"]] == [45, 15]
    assert config["model"]["priors"] == "balanced"
    entry = config["files"]["model.skops"]
    assert entry["size"] == (path / "model.skops").stat().st_size
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.skops"]
    hub = config["sklearn"]
    assert hub["model"] == {"file": "model.skops"} and hub["model_format"] == "skops"
    assert hub["columns"] == ["amount", "age", "channel"] and hub["task"] == "tabular-classification"
    assert all(len(v) == 3 for v in hub["example_input"].values())
    assert gmm_hub.load(path).predict(pd.DataFrame(hub["example_input"])).shape == (3,)


def test_save_dataset_object_records_dtypes(tmp_path, mixed_model):
    model, X, y = mixed_model

    class FakeDataset:  # the shape of gmm_hub.data.Dataset that save() uses
        def __init__(self):
            self.X, self.y = X, pd.Series(y)

        def info(self):
            return {"name": "fake", "n_rows": len(X)}

    config = gmm_hub.load(gmm_hub.save(model, tmp_path / "b", dataset=FakeDataset())).config
    assert config["dataset"] == {"name": "fake", "n_rows": 60}
    assert [c["dtype"] for c in config["schema"]["columns"]] == ["float64", "float64", str(X["channel"].dtype)]
    amount = config["sklearn"]["example_input"]["amount"]
    assert amount == sorted(amount) and X["amount"].min() < amount[0] < amount[2] < X["amount"].max()


def test_save_refuses_unfitted_and_bad_format(tmp_path, mixed_model):
    with pytest.raises(InvalidInputError, match="not a fitted classifier"):
        gmm_hub.save(gmm_hub.tabular_pipeline(), tmp_path / "b")
    with pytest.raises(InvalidInputError, match="format must be"):
        gmm_hub.save(mixed_model[0], tmp_path / "b", format="pickle")
    assert not (tmp_path / "b").exists()


def test_save_refuses_existing_unless_overwrite(bundle, numeric):
    before = (bundle / "model.skops").read_bytes()
    with pytest.raises(BundleError, match="already exists; pass overwrite=True"):
        gmm_hub.save(numeric[0], bundle)
    assert (bundle / "model.skops").read_bytes() == before
    gmm_hub.save(numeric[0], bundle, overwrite=True)
    assert gmm_hub.load(bundle).schema["columns"][0]["name"] == "x0"
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["bundle"]


def test_save_overwrite_refuses_non_bundle_directory(tmp_path, numeric):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(BundleError, match="not a gmm_hub bundle"):
        gmm_hub.save(numeric[0], precious, overwrite=True)
    assert (precious / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("overwrite", [False, True])
def test_save_crash_leaves_no_partial_bundle(tmp_path, mixed_model, numeric, monkeypatch, overwrite):
    target = tmp_path / "b"
    if overwrite:
        gmm_hub.save(numeric[0], target)
    before = sorted(p.name for p in tmp_path.iterdir())

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(_io, "_write_json", crash)
    with pytest.raises(OSError, match="simulated"):
        gmm_hub.save(mixed_model[0], target, overwrite=overwrite)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temp dir left
    if overwrite:  # the old bundle is intact and still loads
        assert gmm_hub.load(target).schema["columns"][0]["name"] == "x0"


def test_load_warns_on_sklearn_version_mismatch(bundle, mixed_model):
    import sklearn

    versions = json.loads((bundle / "config.json").read_text())["versions"]
    _edit_config(bundle, versions={**versions, "sklearn": "0.24.2"})
    with pytest.warns(UserWarning, match=rf"scikit-learn 0\.24\.2 but scikit-learn {sklearn.__version__}"):
        loaded = gmm_hub.load(bundle)
    np.testing.assert_array_equal(loaded.predict(mixed_model[1]), mixed_model[0].predict(mixed_model[1]))


def test_load_refuses_newer_format(bundle):
    _edit_config(bundle, format_version=PROTOCOL + 1)
    with pytest.raises(BundleError, match=r"newer than this gmm_hub understands.*upgrade gmm-hub"):
        gmm_hub.load(bundle)


def test_load_refuses_classes_inconsistent_with_config(bundle):
    _edit_config(bundle, classes=["a", "b"])
    with pytest.raises(BundleError, match="classes"):
        gmm_hub.load(bundle)


def test_load_single_file_uses_config_beside_it(bundle, mixed_model, tmp_path):
    loaded = gmm_hub.load(bundle / "model.skops")
    assert loaded.config["dataset"] is None and loaded.config["metrics"] == {"f1_macro": 0.75}
    data = bytearray((bundle / "model.skops").read_bytes())
    data[-30] ^= 0xFF
    (bundle / "model.skops").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256"):
        gmm_hub.load(bundle / "model.skops")


def test_load_lone_skops_file_without_config(bundle, mixed_model, tmp_path):
    lone = tmp_path / "elsewhere" / "model.skops"
    lone.parent.mkdir()
    shutil.copy(bundle / "model.skops", lone)
    loaded = gmm_hub.load(lone)
    np.testing.assert_array_equal(loaded.predict(mixed_model[1]), mixed_model[0].predict(mixed_model[1]))
    assert [c["kind"] for c in loaded.schema["columns"]] == ["numeric", "numeric", "categorical"]


def test_load_joblib_needs_allow_pickle(tmp_path, mixed_model):
    model, X, _ = mixed_model
    path = gmm_hub.save(model, tmp_path / "b", format="joblib")
    assert (path / "model.joblib").is_file() and not (path / "model.skops").exists()
    with pytest.raises(UntrustedModelError, match="allow_pickle=True"):
        gmm_hub.load(path)
    with pytest.raises(UntrustedModelError, match="arbitrary code"):
        gmm_hub.load(path / "model.joblib")
    np.testing.assert_array_equal(gmm_hub.load(path, allow_pickle=True).predict(X), model.predict(X))


def test_load_missing_path_raises(tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        gmm_hub.load(tmp_path / "nope")


def test_load_repo_id_goes_through_resolver(bundle, monkeypatch):
    calls = []

    def fake_resolve(repo_id, *, revision, token, allow_pickle=False):
        calls.append((repo_id, revision, token))
        return bundle, None  # the directory, and no files checked yet (load checks them)

    monkeypatch.setattr(_io, "_resolve_repo_id", fake_resolve)
    loaded = gmm_hub.load("alice/fraud-gmm", revision="v1", token="t")
    assert calls == [("alice/fraud-gmm", "v1", "t")] and loaded.classes_.tolist() == [0, 1]


def test_load_committed_fixture_bundle():
    """Old bundles must keep loading: class import paths are part of the format."""
    expected = json.loads((FIXTURES / "gmm_bundle_expected.json").read_text())
    loaded = gmm_hub.load(FIXTURES / "gmm_bundle")
    X = pd.DataFrame(expected["input"])
    np.testing.assert_array_equal(loaded.predict(X), expected["predict"])
    np.testing.assert_allclose(loaded.predict_proba(X), expected["predict_proba"], atol=1e-8)
    assert loaded.config["model"]["estimator"] == "sklearn.pipeline.Pipeline"
    assert type(loaded.model[-1]) is gmm_hub.GMMClassifier


def test_fixture_bundle_records_the_0_1_class_path_which_is_upgraded():
    """The fixture was written by 0.1.0, when GMMClassifier lived in gmm_hub._classifier."""
    import skops.io

    data = (FIXTURES / "gmm_bundle" / "model.skops").read_bytes()
    assert "gmm_hub._classifier.GMMClassifier" in skops.io.get_untrusted_types(data=data)
    upgraded = _trust.audit_skops(data)
    found = skops.io.get_untrusted_types(data=upgraded)
    assert "gmm_hub.model._classifier.GMMClassifier" in found
    assert "gmm_hub._classifier.GMMClassifier" not in found
    assert {"gmm_hub._classifier.GMMClassifier", "gmm_hub.model._classifier.GMMClassifier"} <= set(
        _trust.trusted_types()
    )
    # a file that names no old path comes back as the same object
    assert _trust.audit_skops(upgraded) is upgraded
    ok, report = gmm_hub.bundle.verify_bundle(FIXTURES / "gmm_bundle")
    assert ok, report


# --- overwrite only replaces gmm_hub bundles; path-like arguments ------------------------


def test_save_overwrite_refuses_a_foreign_folder_with_a_config(tmp_path, mixed_model):
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "model.safetensors").write_bytes(b"weights")
    with pytest.raises(BundleError, match="not a gmm_hub bundle"):
        gmm_hub.save(mixed_model[0], folder, overwrite=True)
    assert (folder / "model.safetensors").read_bytes() == b"weights"


def test_save_overwrite_refuses_unlisted_files_then_replaces_a_clean_bundle(bundle, mixed_model):
    (bundle / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match=r"does not list: notes\.txt"):
        gmm_hub.save(mixed_model[0], bundle, overwrite=True)
    assert (bundle / "notes.txt").read_text() == "mine"
    (bundle / "notes.txt").unlink()
    gmm_hub.save(mixed_model[0], bundle, overwrite=True)
    assert sorted(p.name for p in bundle.iterdir()) == ["config.json", "model.skops"]


@pytest.mark.parametrize(
    "text, path_like",
    [
        ("alice/fraud", False),
        ("bundles/fraud", False),
        ("./fraud", True),
        ("/srv/fraud", True),
        ("~/fraud", True),
        ("a/b/c", True),
        ("fraud.skops", True),
        ("alice/fraud.v2", True),
        ("fraud", True),
        ("a\\b", True),
    ],
)
def test_looks_like_path(text, path_like):
    assert _io.looks_like_path(text) is path_like


def test_trust_remote_pickle_is_refused_for_a_local_path(bundle):
    with pytest.raises(InvalidInputError, match="trust_remote_pickle is for Hub repos"):
        gmm_hub.load(bundle, trust_remote_pickle="alice/fraud")


def test_save_records_the_unpacked_size_load_enforces(bundle):
    import zipfile

    entry = json.loads((bundle / "config.json").read_text())["files"]["model.skops"]
    with zipfile.ZipFile(bundle / "model.skops") as archive:
        assert entry["unpacked_size"] == sum(i.file_size for i in archive.infolist())
