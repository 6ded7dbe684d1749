"""Hostile files: every one must be refused before anything in it runs."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import gmm_hub
from gmm_hub.bundle import _trust
from gmm_hub.exceptions import BundleError, IntegrityError, UntrustedModelError

RND_SEED = 0


class Payload:
    """Unpickling runs ``touch <marker>`` through a shell."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Tripwire:
    """Touches a marker file when skops constructs it (``__setstate__``)."""

    marker: Path | None = None

    def __setstate__(self, state):
        Path(state["marker"]).touch()


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(RND_SEED)
    X = np.r_[rng.normal(size=(30, 2)), rng.normal(3, 1, size=(10, 2))]
    y = np.r_[np.zeros(30, int), np.ones(10, int)]
    model = Pipeline(
        [("scale", StandardScaler()), ("gmm", gmm_hub.GMMClassifier(n_components=1, random_state=RND_SEED))]
    )
    return model.fit(X, y)


@pytest.fixture
def bundle(tmp_path, fitted):
    return gmm_hub.save(fitted, tmp_path / "bundle")


def _replace_model(bundle: Path, data: bytes, *, name: str = "model.skops", fmt: str = "skops") -> None:
    """Put ``data`` in the bundle and make config.json's hash match it (a careful attacker)."""
    config = json.loads((bundle / "config.json").read_text())
    for old in config["files"]:
        (bundle / old).unlink(missing_ok=True)
    (bundle / name).write_bytes(data)
    config["files"] = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}}
    config["model"].update(file=name, format=fmt)
    (bundle / "config.json").write_text(json.dumps(config))


def _skops_bytes(obj) -> bytes:
    return skops.io.dumps(obj)


def test_trusted_types_names_built_from_classes():
    names = _trust.trusted_types()
    cls = gmm_hub.GMMClassifier
    assert f"{cls.__module__}.{cls.__qualname__}" in names
    assert "sklearn.pipeline.Pipeline" in names and "sklearn.mixture._gaussian_mixture.GaussianMixture" in names
    assert not any(n.startswith(("os.", "posix.", "subprocess.", "sklearn.linear_model", "scipy.")) for n in names)
    assert not {"builtins.eval", "builtins.exec", "builtins.getattr", "builtins.type"} & set(names)


def test_check_trusted_names_offending_types():
    with pytest.raises(UntrustedModelError, match=r"2 type\(s\).*evil\.Thing, posix\.system"):
        _trust.check_trusted(["gmm_hub.model._classifier.GMMClassifier", "posix.system", "evil.Thing"])


def test_load_refuses_pickle_that_runs_shell_command(bundle, tmp_path):
    marker = tmp_path / "pwned"
    _replace_model(bundle, pickle.dumps(Payload(marker)), name="model.joblib", fmt="joblib")
    with pytest.raises(UntrustedModelError, match="allow_pickle=True"):
        gmm_hub.load(bundle)
    with pytest.raises(UntrustedModelError, match="arbitrary code"):
        gmm_hub.load(bundle / "model.joblib")
    lone = tmp_path / "lone.joblib"
    lone.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(UntrustedModelError, match="allow_pickle"):
        gmm_hub.load(lone)
    assert not marker.exists()


def test_load_refuses_pickle_disguised_as_skops(tmp_path):
    marker = tmp_path / "pwned"
    fake = tmp_path / "model.skops"
    fake.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(BundleError, match="not a skops file"):
        gmm_hub.load(fake)
    assert not marker.exists()


@pytest.mark.parametrize(
    "func, name",
    [(os.system, f"{os.system.__module__}.system"), (eval, "builtins.eval"), (subprocess.call, "subprocess.call")],
)
def test_load_refuses_skops_holding_dangerous_callable(bundle, func, name):
    hostile = Pipeline([("f", FunctionTransformer(func=func)), ("scale", StandardScaler())])
    _replace_model(bundle, _skops_bytes(hostile))
    with pytest.raises(UntrustedModelError, match="does not trust: .*" + re.escape(name)):
        gmm_hub.load(bundle)


def test_load_refuses_untrusted_class_before_constructing_it(bundle, tmp_path):
    marker = tmp_path / "constructed"
    trip = Tripwire()
    trip.marker = str(marker)
    trip.__getstate__ = lambda: {"marker": str(marker)}
    data = _skops_bytes(trip)
    _replace_model(bundle, data)
    with pytest.raises(UntrustedModelError, match=r"test_trust\.Tripwire"):
        gmm_hub.load(bundle)
    with pytest.raises(UntrustedModelError, match="Tripwire"):
        gmm_hub.load(bundle / "model.skops")
    assert not marker.exists()


def test_load_refuses_schema_edited_to_name_eval(bundle):
    """A hand-edited schema.json that swaps a trusted type for builtins.eval."""
    src = zipfile.ZipFile(io.BytesIO((bundle / "model.skops").read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.namelist():
            content = src.read(item)
            if item == "schema.json":
                schema = json.loads(content)
                schema["__class__"], schema["__module__"] = "eval", "builtins"
                content = json.dumps(schema).encode()
            dst.writestr(item, content)
    _replace_model(bundle, out.getvalue())
    with pytest.raises(UntrustedModelError, match=r"builtins\.eval"):
        gmm_hub.load(bundle)


def test_load_refuses_tampered_model(bundle):
    data = bytearray((bundle / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0x01
    (bundle / "model.skops").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256 does not match"):
        gmm_hub.load(bundle)


def test_load_refuses_truncated_model(bundle):
    data = (bundle / "model.skops").read_bytes()
    (bundle / "model.skops").write_bytes(data[: len(data) // 2])
    with pytest.raises(IntegrityError, match=r"truncated: \d+ bytes, expected \d+"):
        gmm_hub.load(bundle)


def test_load_refuses_tampered_listed_extra_file(bundle):
    config = json.loads((bundle / "config.json").read_text())
    (bundle / "README.md").write_text("card")
    config["files"]["README.md"] = {"sha256": hashlib.sha256(b"other").hexdigest(), "size": 5}
    (bundle / "config.json").write_text(json.dumps(config))
    with pytest.raises(IntegrityError, match=r"README.md"):
        gmm_hub.load(bundle)


@pytest.mark.parametrize("name", ["../model.skops", "sub/../../model.skops", "/etc/passwd", "C:\\model.skops"])
def test_load_refuses_paths_outside_bundle(bundle, name):
    config = json.loads((bundle / "config.json").read_text())
    config["files"][name] = config["files"].pop("model.skops")
    config["model"]["file"] = name
    (bundle / "config.json").write_text(json.dumps(config))
    with pytest.raises(BundleError, match=r"outside the bundle|invalid file"):
        gmm_hub.load(bundle)


def test_load_refuses_model_file_without_hash(bundle):
    config = json.loads((bundle / "config.json").read_text())
    config["files"] = {}
    (bundle / "config.json").write_text(json.dumps(config))
    with pytest.raises(BundleError, match="records no hash"):
        gmm_hub.load(bundle)


def test_load_refuses_garbage_config(bundle):
    (bundle / "config.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        gmm_hub.load(bundle)
    (bundle / "config.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(BundleError, match="not a gmm_hub bundle config"):
        gmm_hub.load(bundle)


def test_save_refuses_model_load_would_refuse(tmp_path, fitted):
    X = np.random.default_rng(RND_SEED).normal(size=(20, 2))
    hostile = Pipeline([("f", FunctionTransformer(func=np.asarray)), ("gmm", fitted[-1])])
    hostile.steps[0][1].fit(X)
    hostile.steps[0][1].func = eval
    with pytest.raises(UntrustedModelError, match="cannot save a bundle"):
        gmm_hub.save(hostile, tmp_path / "b")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(0),
        np.arange(8.0),
        np.float64(1.5).reshape(()),
        np.zeros((2, 8)),
        np.zeros((3, 4), order="F"),
        np.array(["ab", "c"]),
        np.zeros(5, dtype=">i4"),
        np.zeros((1, 1, 1), dtype=bool),
    ],
)
def test_plain_npy_header_reads_as_numpy_reads_it(array):
    from numpy.lib import format as npy

    from gmm_hub.bundle._archive import _plain_header

    buffer = io.BytesIO()
    np.save(buffer, array)
    raw = buffer.getvalue()
    buffer.seek(0)
    npy.read_magic(buffer)
    shape, _, dtype = npy.read_array_header_1_0(buffer)
    assert _plain_header(raw[:256]) == (shape, dtype, buffer.tell())


@pytest.mark.parametrize(
    "header",
    [
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (3), }",  # not a tuple
        b"{'descr': '<f8', 'shape': (3,), 'fortran_order': False, }",  # another order: numpy decides
        b"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",  # fields
        b"{'descr': '|O', 'fortran_order': False, 'shape': (3,), }",  # objects
    ],
)
def test_plain_npy_header_leaves_anything_else_to_numpy(header):
    from gmm_hub.bundle._archive import _plain_header

    padded = header + b" " * (118 - len(header)) + b"\n"
    assert _plain_header(b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded) is None
