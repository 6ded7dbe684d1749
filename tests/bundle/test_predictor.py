"""The Predictor that gmm_hub.load returns: metadata access and schema-checked predictions."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import gmm_hub
from gmm_hub import Predictor
from gmm_hub.exceptions import BundleError, InvalidInputError


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, mixed_model):
    model, _, _ = mixed_model
    return gmm_hub.load(gmm_hub.save(model, tmp_path_factory.mktemp("p") / "bundle", metrics={"f1_macro": 0.5}))


def test_predictor_exposes_bundle_metadata(loaded, mixed_model):
    model, X, _ = mixed_model
    assert isinstance(loaded, Predictor)
    assert loaded.metadata is loaded.config and loaded.config["metrics"] == {"f1_macro": 0.5}
    assert loaded.schema is loaded.config["schema"]
    assert loaded.feature_names == list(X.columns) == ["amount", "age", "channel"]
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    assert loaded.path.name == "model.skops" and loaded.path.is_file()


def test_predictor_repr_names_estimator_classes_and_path(loaded):
    text = repr(loaded)
    assert text.startswith("Predictor(sklearn.pipeline.Pipeline, classes=[0, 1], path=")
    assert "model.skops" in text


def test_predictor_predicts_like_the_model_whatever_the_column_order(loaded, mixed_model):
    model, X, _ = mixed_model
    shuffled = X[["channel", "amount", "age"]]
    np.testing.assert_array_equal(loaded.predict(shuffled), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(shuffled), model.predict_proba(X), rtol=1e-12)
    assert list(loaded.validate(shuffled).columns) == loaded.feature_names


def test_predictor_accepts_dict_of_columns_and_list_of_rows(loaded, mixed_model):
    model, X, _ = mixed_model
    head = X.head(5)
    expected = model.predict(head)
    np.testing.assert_array_equal(loaded.predict(head.to_dict(orient="list")), expected)
    np.testing.assert_array_equal(loaded.predict(head.to_numpy(dtype=object).tolist()), expected)


def test_predictor_refuses_missing_column_before_the_model_sees_it(loaded, mixed_model):
    _, X, _ = mixed_model
    with pytest.raises(InvalidInputError, match="age"):
        loaded.predict(X.drop(columns=["age"]))


def test_predictor_refuses_a_model_that_lost_its_column_names_while_its_schema_has_categories(loaded, mixed_model):
    # a hostile file can drop feature_names_in_; the pipeline would then be fed a float array of strings
    _, X, _ = mixed_model
    model = copy.deepcopy(loaded.model)
    del model.steps[0][1].feature_names_in_
    broken = Predictor(model, loaded.config)
    with pytest.raises(BundleError, match="categorical column\\(s\\) channel"):
        broken.predict(X.head(3))
