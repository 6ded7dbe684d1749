"""Tests of gmm_hub.model._tabular (tabular_pipeline, tabular_preprocessor)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from gmm_hub import GMMClassifier, tabular_pipeline
from gmm_hub.evaluation import UndersampledGMM
from gmm_hub.model._tabular import tabular_preprocessor

RND_SEED = 0


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


def _mixed_frame(n: int = 400, seed: int = RND_SEED) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric, text, category and bool columns with missing values; label depends on two of them."""
    rng = np.random.RandomState(seed)
    y = (rng.rand(n) < 0.2).astype(int)
    age = rng.normal(40, 8, n) + 12 * y
    job = np.where(y == 1, rng.choice(["exec", "sales"], n), rng.choice(["clerk", "sales", "labour"], n))
    frame = pd.DataFrame(
        {
            "age": age,
            "hours": rng.randint(20, 60, n).astype(float),
            "job": job.astype(object),
            "region": pd.Categorical(rng.choice(["north", "south"], n)),
            "married": rng.rand(n) < 0.5,
        }
    )
    frame.loc[rng.rand(n) < 0.1, "age"] = np.nan
    frame.loc[rng.rand(n) < 0.1, "job"] = None
    return frame, pd.Series(np.where(y == 1, ">50K", "<=50K"), name="salary")


def test_tabular_pipeline_raw_mixed_frame_with_missing_values():
    X, y = _mixed_frame()
    assert X.isna().any().any()
    model = tabular_pipeline(random_state=RND_SEED, max_components=2).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.isfinite(proba).all()
    np.testing.assert_array_equal(model.classes_, ["<=50K", ">50K"])
    assert balanced_accuracy_score(y, model.predict(X)) > 0.8
    assert list(model.named_steps) == ["preprocess", "gmm"]
    assert isinstance(model.named_steps["gmm"], GMMClassifier)


def test_tabular_pipeline_unknown_category_gets_the_overall_target_mean():
    X, y = _mixed_frame()
    model = tabular_pipeline(random_state=RND_SEED, max_components=2).fit(X, y)
    unseen = X.iloc[[0]].assign(job="astronaut")
    encoded = model.named_steps["preprocess"].transform(unseen)
    names = list(model.named_steps["preprocess"].get_feature_names_out())
    encoder = model.named_steps["preprocess"].named_transformers_["categorical"].named_steps["encode"]
    assert encoded[0, names.index("job")] == pytest.approx(encoder.target_mean_)
    assert model.predict(unseen)[0] in model.classes_
    assert np.isfinite(model.predict_proba(unseen)).all()


def test_tabular_pipeline_target_encoding_orders_categories_by_target_rate():
    X, y = _mixed_frame()
    model = tabular_pipeline(random_state=RND_SEED, max_components=2).fit(X, y)
    encoded = model.named_steps["preprocess"].transform(X)
    job = encoded[:, list(model.named_steps["preprocess"].get_feature_names_out()).index("job")]
    codes = pd.Series(job).groupby(X["job"].fillna(X["job"].mode()[0]).to_numpy()).first()
    # "exec" occurs only in the positive class, "clerk" and "labour" only in the negative one
    assert codes["exec"] > codes["sales"] > max(codes["clerk"], codes["labour"])


def test_tabular_pipeline_onehot_unknown_category_at_predict_is_ignored():
    X, y = _mixed_frame()
    model = tabular_pipeline(categorical="onehot", random_state=RND_SEED, max_components=2).fit(X, y)
    row = X.iloc[[0]].copy()
    unseen = row.assign(job="astronaut")
    encoded = model.named_steps["preprocess"].transform(unseen)
    names = model.named_steps["preprocess"].get_feature_names_out()
    job_columns = [i for i, name in enumerate(names) if name.startswith("job_")]
    assert job_columns and not encoded[0, job_columns].any()  # all zeros, no error
    assert model.predict(unseen)[0] in model.classes_
    assert np.isfinite(model.predict_proba(unseen)).all()


def test_tabular_pipeline_rare_categories_pooled():
    X, y = _mixed_frame()
    X.loc[X.index[:2], "job"] = "rare_job"  # 0.5% of rows: below the 1% floor
    pre = tabular_preprocessor("onehot").fit(X, y)
    names = list(pre.get_feature_names_out())
    assert "job_rare_job" not in names
    assert "job_infrequent_sklearn" in names


def test_tabular_pipeline_parameters_pass_to_gmm_step():
    model = tabular_pipeline(n_components=2, covariance_type="diag", priors="empirical", random_state=7)
    params = model.named_steps["gmm"].get_params()
    assert params["n_components"] == 2
    assert params["covariance_type"] == "diag"
    assert params["priors"] == "empirical"
    assert params["random_state"] == 7
    assert params["reg_covar"] == GMMClassifier().reg_covar
    assert tabular_pipeline(reg_covar=0.5).named_steps["gmm"].reg_covar == 0.5


def test_tabular_pipeline_bad_parameter_raises_at_fit():
    X, y = _mixed_frame(100)
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        tabular_pipeline(covariance_type="banana").fit(X, y)


def test_tabular_pipeline_unknown_parameter_raises():
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_component'"):
        tabular_pipeline(n_component=2)


def test_tabular_pipeline_adult_beats_original_and_qda(adult_file):
    from gmm_hub.data import load_dataset

    ds = load_dataset(f"csv:{adult_file}", target="Salary")
    X, _, y, _ = train_test_split(ds.X, ds.y, train_size=4500, stratify=ds.y, random_state=RND_SEED)
    folds = StratifiedKFold(3, shuffle=True, random_state=RND_SEED)
    models = {
        "gmm_hub": lambda: tabular_pipeline(random_state=RND_SEED),
        "original": lambda: make_pipeline(tabular_preprocessor(), UndersampledGMM(random_state=RND_SEED)),
        "qda": lambda: make_pipeline(tabular_preprocessor(), QuadraticDiscriminantAnalysis()),
    }
    scores: dict[str, float] = {}
    for name, make in models.items():
        values = []
        for train, test in folds.split(X, y):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    pred = make().fit(X.iloc[train], y.iloc[train]).predict(X.iloc[test])
                except (ValueError, np.linalg.LinAlgError):
                    # QDA: one-hot blocks sum to 1, so its class covariances are singular
                    values.append(0.0)
                    continue
            values.append(balanced_accuracy_score(y.iloc[test], pred))
        scores[name] = float(np.mean(values))
    assert scores["gmm_hub"] > scores["original"] + 0.03, scores
    assert scores["gmm_hub"] > scores["qda"], scores
