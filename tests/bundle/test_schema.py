"""Input schema extraction and predict-time validation of a loaded bundle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import gmm_hub
from gmm_hub.bundle._schema import example_input, extract_schema, validate_input
from gmm_hub.exceptions import SchemaError

RND_SEED = 0


@pytest.fixture(scope="module")
def tabular(tmp_path_factory, mixed_frame):
    X, y = mixed_frame
    model = gmm_hub.tabular_pipeline(n_components=1, covariance_type="diag", random_state=RND_SEED).fit(X, y)
    return gmm_hub.load(gmm_hub.save(model, tmp_path_factory.mktemp("t") / "b")), model, X


@pytest.fixture(scope="module")
def numeric(tmp_path_factory, mixed_frame):
    X, y = mixed_frame
    X = X[["amount", "age"]].to_numpy()
    model = Pipeline(
        [("scale", StandardScaler()), ("gmm", gmm_hub.GMMClassifier(n_components=1, random_state=RND_SEED))]
    ).fit(X, y)
    return gmm_hub.load(gmm_hub.save(model, tmp_path_factory.mktemp("n") / "b")), model, X


def test_extract_schema_tabular_pipeline(tabular):
    _, model, X = tabular
    schema = extract_schema(model, X)
    assert schema["n_features"] == 3 and schema["handles_missing"] is True
    kinds = {c["name"]: (c["kind"], c["categories"]) for c in schema["columns"]}
    assert kinds == {"amount": ("numeric", None), "age": ("numeric", None), "channel": ("categorical", ["shop", "web"])}
    assert schema["columns"][0]["dtype"] == "float64"


def test_extract_schema_array_pipeline_without_imputer(numeric):
    schema = extract_schema(numeric[1])
    assert [c["name"] for c in schema["columns"]] == ["x0", "x1"]
    assert schema["handles_missing"] is False and not any(c["nullable"] for c in schema["columns"])


def test_example_input_uses_scaler_statistics(numeric):
    _, model, X = numeric
    example = example_input(extract_schema(model), model=model)
    assert example["x0"][1] == pytest.approx(X[:, 0].mean(), abs=1e-3)
    assert example["x0"][0] < example["x0"][1] < example["x0"][2]


def test_predict_reorders_columns(tabular):
    loaded, model, X = tabular
    np.testing.assert_array_equal(loaded.predict_proba(X[["channel", "age", "amount"]]), model.predict_proba(X))


def test_predict_missing_columns_raise_naming_them(tabular):
    loaded, _, X = tabular
    with pytest.raises(SchemaError, match=r"missing 2 column\(s\).*: age, channel"):
        loaded.predict(X[["amount"]])


def test_predict_extra_columns_dropped_with_warning(tabular):
    loaded, model, X = tabular
    with pytest.warns(UserWarning, match="dropping 1 input column.*: note"):
        pred = loaded.predict(X.assign(note="x"))
    np.testing.assert_array_equal(pred, model.predict(X))


def test_predict_uncastable_dtype_raises_naming_column(tabular):
    loaded, _, X = tabular
    bad = X.astype({"age": object})
    bad.loc[2, "age"] = "forty"
    with pytest.raises(SchemaError, match=r"cannot convert .*: age \(expected float64"):
        loaded.predict(bad)


def test_predict_numeric_strings_are_cast(tabular):
    loaded, model, X = tabular
    np.testing.assert_array_equal(loaded.predict(X.astype({"amount": str})), model.predict(X))


def test_predict_nan_accepted_when_model_imputes(tabular):
    loaded, _, X = tabular
    holes = X.copy()
    holes.loc[0, "amount"] = np.nan
    holes.loc[1, "channel"] = None
    assert loaded.predict(holes).shape == (len(X),)


def test_predict_nan_without_imputer_raises_naming_column(numeric):
    loaded, _, X = numeric
    holes = X.copy()
    holes[3, 1] = np.nan
    with pytest.raises(SchemaError, match=r"missing values \(NaN\).*: x1\. Fill or drop"):
        loaded.predict(holes)
    with pytest.raises(SchemaError, match=r"NaN.*: x1"):
        loaded.predict(pd.DataFrame(holes, columns=["x0", "x1"]))


def test_predict_accepts_array_of_right_width(tabular, numeric):
    loaded, model, X = numeric
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict(X.tolist()), model.predict(X))
    loaded, model, X = tabular
    np.testing.assert_array_equal(loaded.predict(X.to_numpy()), model.predict(X))


@pytest.mark.parametrize("shape", [(5, 3), (2,)])
def test_predict_rejects_wrong_shape(numeric, shape):
    with pytest.raises(SchemaError, match=r"expected a 2-D input with 2 column\(s\) \(x0, x1\)"):
        numeric[0].predict(np.zeros(shape))


def test_predict_accepts_dict_of_columns(tabular):
    loaded, model, X = tabular
    np.testing.assert_array_equal(loaded.predict(X.head(3).to_dict(orient="list")), model.predict(X.head(3)))


def test_validate_input_positional_frame_for_array_model(numeric):
    schema = numeric[0].schema
    out = validate_input(pd.DataFrame(numeric[2]), schema, as_frame=False)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == numeric[2].shape


# --- the input policy (INPUT_POLICY) ---------------------------------------------------


def test_input_policy_names_every_rule():
    from gmm_hub.bundle import INPUT_POLICY

    assert {"missing column", "extra column", "duplicate column names", "unseen category"} <= set(INPUT_POLICY)
    assert all(isinstance(v, str) and v for v in INPUT_POLICY.values())


@pytest.mark.parametrize("kind", ["pyarrow", "polars"])
def test_predict_matches_arrow_and_polars_columns_by_name(tabular, kind):
    loaded, model, X = tabular
    shuffled = X[["channel", "age", "amount"]]
    if kind == "pyarrow":
        import pyarrow as pa

        native = pa.Table.from_pandas(shuffled, preserve_index=False)
    else:
        import polars as pl

        native = pl.from_pandas(shuffled)
    np.testing.assert_array_equal(loaded.predict_proba(native), model.predict_proba(X))


def test_predict_duplicate_column_names_raise_naming_them(tabular):
    import pyarrow as pa

    loaded, _, X = tabular
    with pytest.raises(SchemaError, match=r"more than once: amount"):
        loaded.predict(X.set_axis(["amount", "age", "amount"], axis=1))
    table = pa.table([X["amount"], X["age"], X["channel"], X["age"]], names=["amount", "age", "channel", "age"])
    with pytest.raises(SchemaError, match=r"more than once: age"):
        loaded.predict(table)


def test_predict_unseen_category_warns_naming_column_and_values(tabular):
    from gmm_hub.bundle import UnknownCategoryWarning

    loaded, model, X = tabular
    odd = X.head(3).assign(channel=["web", "kiosk", "phone"])
    with pytest.warns(UnknownCategoryWarning, match=r"channel: 'kiosk', 'phone'"):
        proba = loaded.predict_proba(odd)
    np.testing.assert_array_equal(proba, model.predict_proba(odd))
    assert issubclass(UnknownCategoryWarning, UserWarning)


def test_predict_integer_column_refuses_fractions_accepts_integral_floats(tmp_path, mixed_frame):
    class Frame:
        def __init__(self, X):
            self.X = X

        def info(self):
            return {"name": "ints"}

    X, y = mixed_frame
    X = X.assign(age=X["age"].astype("int64"))
    model = gmm_hub.tabular_pipeline(n_components=1, covariance_type="diag", random_state=RND_SEED).fit(X, y)
    loaded = gmm_hub.load(gmm_hub.save(model, tmp_path / "b", dataset=Frame(X)))
    assert loaded.schema["columns"][1]["dtype"] == "int64"
    np.testing.assert_array_equal(loaded.predict(X.assign(age=X["age"].astype(float))), model.predict(X))
    with pytest.raises(SchemaError, match=r"non-integral values in integer column.*age \(integer column, got 40\.5"):
        loaded.predict(X.head(2).assign(age=[40.5, 41.0]))


def test_predict_infinite_value_is_a_schema_error(tabular, numeric):
    loaded, _, X = tabular
    with pytest.raises(SchemaError, match="amount"):
        loaded.predict(X.head(2).assign(amount=[np.inf, 1.0]))
    loaded, _, arr = numeric
    bad = arr[:2].copy()
    bad[0, 1] = -np.inf
    with pytest.raises(SchemaError, match="infinite values in column"):
        loaded.predict(bad)
