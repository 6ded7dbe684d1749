"""gmm_hub's own reader of audited skops files builds exactly what skops.io.loads builds."""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

import gmm_hub
from gmm_hub.bundle import _reader, _trust
from gmm_hub.exceptions import GMMHubError, InvalidInputError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RND_SEED = 0


def _data(n: int = 120) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(RND_SEED)
    y = (np.arange(n) % 4 == 0).astype(int)
    X = pd.DataFrame(
        {
            "amount": rng.normal(10 + 4 * y, 2),
            "age": np.where(rng.random(n) < 0.1, np.nan, rng.normal(40 - 6 * y, 5).round()),
            "channel": np.where(rng.random(n) < 0.4 + 0.4 * y, "web", "shop"),
        }
    )
    return X, y


def _numeric(steps: list[tuple[str, Any]], covariance_type: str = "full") -> Any:
    X, y = _data()
    clf = gmm_hub.GMMClassifier(n_components=2, covariance_type=covariance_type, random_state=RND_SEED)
    return Pipeline([*steps, ("gmm", clf)]).fit(X[["amount", "age"]].fillna(0).to_numpy(), y)


def _models() -> dict[str, Any]:
    X, y = _data()
    models = {f"scaler_gmm_{kind}": _numeric([("scale", StandardScaler())], kind) for kind in gmm_hub_covariances()}
    models["bare_classifier"] = gmm_hub.GMMClassifier(n_components=1, random_state=RND_SEED).fit(
        X[["amount"]].to_numpy(), y
    )
    models["tabular_pipeline"] = gmm_hub.tabular_pipeline(n_components=1, random_state=RND_SEED).fit(X, y)
    heavy = np.random.default_rng(RND_SEED).standard_cauchy(len(X))  # takes the S_U bend: asinh_params_ is set
    models["heavy_tailed_auto_transform"] = gmm_hub.GMMClassifier(
        n_components=1, feature_transform="auto", random_state=RND_SEED
    ).fit(np.column_stack([X["amount"].to_numpy(), heavy]), y)
    models["imputer_column_transformer"] = Pipeline(
        [
            (
                "pre",
                ColumnTransformer(
                    [
                        ("num", SimpleImputer(strategy="median"), make_column_selector(dtype_include=np.number)),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["channel"]),
                    ]
                ),
            ),
            ("gmm", gmm_hub.GMMClassifier(n_components=1, covariance_type="diag", random_state=RND_SEED)),
        ]
    ).fit(X, y)
    models["robust_quantile_power"] = _numeric(
        [
            ("robust", RobustScaler()),
            ("quantile", QuantileTransformer(n_quantiles=20, output_distribution="normal")),
            ("power", PowerTransformer()),
        ],
        "tied",
    )
    return models


def gmm_hub_covariances() -> tuple[str, ...]:
    return ("full", "tied", "diag", "spherical")


MODELS = _models()


def _same(a: Any, b: Any, path: str = "model") -> None:
    """Structural equality: types, dict order, array dtype/shape/flags/bytes, scalars by repr."""
    assert type(a) is type(b), f"{path}: {type(a)} vs {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert (a.flags.c_contiguous, a.flags.f_contiguous, a.flags.writeable) == (
            b.flags.c_contiguous,
            b.flags.f_contiguous,
            b.flags.writeable,
        ), path
        if a.dtype.hasobject:
            for i, (x, y) in enumerate(zip(a.ravel().tolist(), b.ravel().tolist(), strict=True)):
                _same(x, y, f"{path}[{i}]")
        else:
            assert a.tobytes() == b.tobytes(), path
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            _same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        _same(vars(a), vars(b), f"{path}.__dict__")
    else:
        assert repr(a) == repr(b), f"{path}: {a!r} vs {b!r}"


def _both(data: bytes) -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _reader.load_skops(data)
        theirs = skops.io.loads(data, trusted=list(_trust.trusted_types()))
    return ours, theirs


def _assert_identical(ours: Any, theirs: Any) -> None:
    from gmm_hub.bundle._validate import validate_model

    validate_model(theirs)  # load_skops resets the same side-effect settings on what it built
    _same(ours, theirs)
    assert pickle.dumps(ours) == pickle.dumps(theirs)  # also the sharing of objects


@pytest.mark.parametrize("name", sorted(MODELS))
def test_reader_builds_what_skops_builds(name):
    data = skops.io.dumps(MODELS[name], compression=zipfile.ZIP_DEFLATED)
    ours, theirs = _both(data)
    _assert_identical(ours, theirs)
    assert pickle.dumps(ours) == pickle.dumps(_reader.load_skops(data, reader="skops"))
    X, _ = _data()
    if name.startswith("scaler") or name == "robust_quantile_power":
        X = X[["amount", "age"]].fillna(0).to_numpy()
    elif name == "bare_classifier":
        X = X[["amount"]].to_numpy()
    elif name == "heavy_tailed_auto_transform":
        assert MODELS[name].asinh_params_ is not None
        X = np.column_stack([X["amount"].to_numpy(), np.random.default_rng(RND_SEED).standard_cauchy(len(X))])
    np.testing.assert_array_equal(ours.predict_proba(X), MODELS[name].predict_proba(X))


def test_reader_builds_the_committed_0_1_fixture_as_skops_does():
    data = (FIXTURES / "gmm_bundle" / "model.skops").read_bytes()
    ours = _reader.load_skops(data)
    theirs = _reader.load_skops(data, reader="skops")  # skops reads the upgraded copy
    _assert_identical(ours, theirs)
    assert type(ours[-1]) is gmm_hub.GMMClassifier


def _edit(data: bytes, edit) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(src.read("schema.json"))
    edit(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, json.dumps(schema) if info.filename == "schema.json" else src.read(info))
    return out.getvalue()


def _nodes(value: Any):
    if isinstance(value, dict):
        if "__loader__" in value:
            yield value
        for item in value.values():
            yield from _nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nodes(item)


def test_reader_shares_objects_by_id_as_skops_does():
    """A repeated ``__id__`` stands for the first node with it, whatever the repeat holds."""
    data = skops.io.dumps(MODELS["scaler_gmm_full"])

    def repeat_means(schema: dict) -> None:
        gmms = [n for n in _nodes(schema) if n.get("__class__") == "GaussianMixture"]
        first, second = (g["content"]["content"] for g in gmms[:2])
        second["means_"] = copy.deepcopy(first["means_"])  # same __id__, a second member is never read
        second["weights_"]["__id__"] = first["weights_"]["__id__"]  # same __id__, different content

    ours, theirs = _both(_edit(data, repeat_means))
    _assert_identical(ours, theirs)
    first, second = ours[-1].gmms_
    assert first.weights_ is second.weights_ and first.means_ is second.means_


def test_reader_drops_dict_values_without_a_key_type_as_skops_does():
    data = skops.io.dumps(MODELS["scaler_gmm_diag"])

    def short_key_types(schema: dict) -> None:
        scaler = next(n for n in _nodes(schema) if n.get("__class__") == "StandardScaler")
        scaler["content"]["key_types"]["content"].pop()

    ours, theirs = _both(_edit(data, short_key_types))
    _assert_identical(ours, theirs)


def test_reader_refuses_an_unlisted_class_even_without_the_audit():
    """Called on an unaudited schema, the reader imports nothing off gmm_hub's list."""
    schema = {
        "__class__": "LogisticRegression",
        "__module__": "sklearn.linear_model._logistic",
        "__loader__": "ObjectNode",
        "protocol": 2,
    }
    with zipfile.ZipFile(io.BytesIO(b"PK\x05\x06" + b"\0" * 18)) as archive:
        with pytest.raises(_reader.UnsupportedNode, match="not on gmm_hub's list"):
            _reader.build(schema, archive)
        for loader, name in [("FunctionNode", "system"), ("TypeNode", "eval")]:
            with pytest.raises(_reader.UnsupportedNode):
                _reader.build({**schema, "__loader__": loader, "__module__": "os", "__class__": name}, archive)
        with pytest.raises(_reader.UnsupportedNode, match="protocol"):
            _reader.build({**schema, "protocol": 1}, archive)


def test_cold_load_does_not_import_skops_io(tmp_path):
    """The point of the reader: ``gmm_hub.load(bundle)`` builds a skops bundle without skops.io."""
    bundle = gmm_hub.save(MODELS["scaler_gmm_full"], tmp_path / "bundle")
    code = (
        "import sys, numpy as np, gmm_hub\n"
        "model = gmm_hub.load(sys.argv[1])\n"
        "print(model.predict(np.zeros((3, 2))).shape, *sorted(m for m in sys.modules if m.startswith('skops.io')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    out = subprocess.run([sys.executable, "-c", code, str(bundle)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["(3,)"], out.stdout


def test_load_skops_rejects_an_unknown_reader():
    with pytest.raises(InvalidInputError, match="reader must be one of"):
        _reader.load_skops(b"", reader="pickle")


# ----------------------------------------------------------------------------- property: same outcome


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple = ()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


def _outcome(data: bytes, reader: str) -> tuple[str, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "built", _reader.load_skops(data, reader=reader)
    except GMMHubError as err:
        return type(err).__name__, None


@settings(
    max_examples=int(os.environ.get("GMM_HUB_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_schema_mutation_gives_the_same_outcome_with_either_reader(data):
    model = data.draw(st.sampled_from(["scaler_gmm_full", "tabular_pipeline", "robust_quantile_power"]), label="model")
    blob = skops.io.dumps(MODELS[model])
    schema = json.loads(zipfile.ZipFile(io.BytesIO(blob)).read("schema.json"))
    path = data.draw(st.sampled_from([p for p in _paths(schema) if p]), label="path")
    value, delete = data.draw(JSON_VALUES, label="value"), data.draw(st.booleans(), label="delete")

    def mutate(document: dict) -> None:
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if delete and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = value

    mutated = _edit(blob, mutate)
    ours, theirs = _outcome(mutated, "gmm_hub"), _outcome(mutated, "skops")
    assert ours[0] == theirs[0]
    if ours[0] == "built":
        _same(ours[1], theirs[1])
        assert pickle.dumps(ours[1]) == pickle.dumps(theirs[1])
