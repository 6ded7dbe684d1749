"""Tests of gmm_hub.evaluation._benchmark (UndersampledGMM, baselines, run_benchmark, summarise)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from imblearn.under_sampling import RandomUnderSampler
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from gmm_hub import GMMClassifier
from gmm_hub.evaluation._benchmark import (
    METRICS,
    UndersampledGMM,
    baselines,
    run_benchmark,
    summarise,
)

RND_SEED = 0


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


def _imbalanced(n_major: int = 300, n_minor: int = 30, n_features: int = 3, seed: int = RND_SEED):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.normal(size=(n_major, n_features)), rng.normal(size=(n_minor, n_features)) + 2.0])
    return X, np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]


# ------------------------------------------------------------ UndersampledGMM


def test_undersampledgmm_is_the_original_design():
    X, y = _imbalanced()
    model = UndersampledGMM(random_state=RND_SEED).fit(X, y)
    np.testing.assert_array_equal(model.classes_, [0, 1])
    # balanced random undersampling, then one 2-component full GMM per class
    X_res, y_res = RandomUnderSampler(random_state=RND_SEED).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [30, 30]
    for label, gmm in zip(model.classes_, model.gmms_, strict=True):
        assert isinstance(gmm, GaussianMixture)
        assert gmm.n_components == 2 and gmm.covariance_type == "full"
        expected = GaussianMixture(2, covariance_type="full", random_state=RND_SEED).fit(X_res[y_res == label])
        np.testing.assert_allclose(gmm.means_, expected.means_)


def test_undersampledgmm_predicts_largest_log_likelihood_without_priors():
    X, y = _imbalanced()
    model = UndersampledGMM(random_state=RND_SEED).fit(X, y)
    scores = np.column_stack([g.score_samples(X) for g in model.gmms_])
    np.testing.assert_array_equal(model.predict(X), model.classes_[scores.argmax(axis=1)])


def test_undersampledgmm_predict_wrong_columns_raises():
    X, y = _imbalanced()
    model = UndersampledGMM(random_state=RND_SEED).fit(X, y)
    with pytest.raises(ValueError, match="expecting 3 features"):
        model.predict(X[:, :2])


# ------------------------------------------------------------------ baselines


def test_baselines_factories_build_fresh_unfitted_models():
    factories = baselines(random_state=3)
    assert list(factories) == [
        "gmm_hub",
        "original (undersampled 2-GMM)",
        "QDA",
        "GaussianNB",
        "logistic (balanced)",
    ]
    ours = factories["gmm_hub"]()
    assert isinstance(ours, GMMClassifier)
    assert ours.random_state == 3
    assert ours.get_params() == GMMClassifier(random_state=3).get_params()  # the defaults, nothing tuned
    assert factories["gmm_hub"]() is not ours
    assert factories["logistic (balanced)"]().class_weight == "balanced"
    assert isinstance(factories["original (undersampled 2-GMM)"](), UndersampledGMM)


# -------------------------------------------------------------- run_benchmark


@pytest.fixture(scope="module")
def breast_cancer_rows():
    with threadpool_limits(1):
        return run_benchmark(
            ["breast_cancer"],
            models=["gmm_hub", "original (undersampled 2-GMM)", "GaussianNB"],
            n_splits=3,
            n_jobs=1,
            progress=False,
        )


def test_run_benchmark_breast_cancer_rows(breast_cancer_rows):
    rows = breast_cancer_rows
    assert [r["model"] for r in rows] == ["gmm_hub", "original (undersampled 2-GMM)", "GaussianNB"]
    for row in rows:
        assert row["dataset"] == "breast_cancer"
        assert row["status"] == "ok"
        assert row["seconds"] > 0
        for metric in METRICS:
            assert 0.0 <= row[metric] <= 1.0
            assert 0.0 <= row[f"{metric}_std"] < 0.2
    ours = rows[0]
    assert ours["balanced_accuracy"] > 0.9  # breast cancer is easy


def test_run_benchmark_failed_model_is_recorded(tmp_path):
    # 2 minority rows -> 2 folds, each training on 1 rare row: QDA cannot estimate
    # that class's covariance in any scikit-learn version (ValueError or LinAlgError).
    rng = np.random.RandomState(RND_SEED)
    frame = pd.DataFrame(rng.normal(size=(62, 8)), columns=[f"x{i}" for i in range(8)])
    frame["label"] = ["common"] * 60 + ["rare"] * 2
    frame.loc[60:, "x0"] += 4
    path = tmp_path / "tiny.csv"
    frame.to_csv(path, index=False)
    rows = run_benchmark([f"csv:{path}"], models=["QDA", "GaussianNB"], n_splits=3, n_jobs=1, progress=False)
    by_model = {r["model"]: r for r in rows}
    assert by_model["QDA"]["status"].startswith(("failed: LinAlgError", "failed: ValueError"))
    assert "balanced_accuracy" not in by_model["QDA"]
    assert by_model["GaussianNB"]["status"] == "ok"


def test_run_benchmark_unknown_model_raises():
    with pytest.raises(ValueError, match=r"Unknown model\(s\) \['xgboost'\]; choose from"):
        run_benchmark(["breast_cancer"], models=["gmm_hub", "xgboost"], progress=False)


def test_run_benchmark_unknown_dataset_raises():
    with pytest.raises(ValueError, match="no_such_set"):
        run_benchmark(["no_such_set"], models=["GaussianNB"], progress=False)


# ------------------------------------------------------------------ summarise


def test_summarise_counts_and_paired_wins():
    def row(ds, model, ba, f1=0.5, status="ok"):
        if status != "ok":
            return {"dataset": ds, "model": model, "status": status}
        return {"dataset": ds, "model": model, "status": status, "balanced_accuracy": ba, "f1_macro": f1}

    rows = [
        row("a", "gmm_hub", 0.9),
        row("a", "QDA", 0.8),
        row("a", "GaussianNB", 0.95),
        row("b", "gmm_hub", 0.7),
        row("b", "QDA", None, status="failed: LinAlgError: x"),
        row("b", "GaussianNB", 0.6),
        row("c", "gmm_hub", 0.6),
        row("c", "QDA", 0.5),
        row("c", "GaussianNB", 0.5),
    ]
    summary = {e["model"]: e for e in summarise(rows)}
    assert summary["gmm_hub"]["n_datasets"] == 3
    assert summary["gmm_hub"]["balanced_accuracy"] == pytest.approx((0.9 + 0.7 + 0.6) / 3)
    assert summary["QDA"]["n_datasets"] == 2  # the failed run is not averaged
    assert summary["QDA"]["balanced_accuracy"] == pytest.approx(0.65)
    assert summary["QDA"]["gmm_hub_on_same"] == pytest.approx(0.75)
    assert summary["QDA"]["gmm_hub_wins"] == 2
    assert summary["GaussianNB"]["gmm_hub_wins"] == 2
    assert summary["GaussianNB"]["f1_macro"] == pytest.approx(0.5)


def test_summarise_model_that_never_ran_has_nan_means():
    rows = [
        {"dataset": "a", "model": "gmm_hub", "status": "ok", "balanced_accuracy": 0.9, "f1_macro": 0.8},
        {"dataset": "a", "model": "QDA", "status": "failed: ValueError: x"},
    ]
    qda = next(e for e in summarise(rows) if e["model"] == "QDA")
    assert qda["n_datasets"] == 0 and math.isnan(qda["balanced_accuracy"])
