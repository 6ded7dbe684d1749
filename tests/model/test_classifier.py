"""Tests of gmm_hub.model._classifier.GMMClassifier (behaviour beyond sklearn's check_estimator)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from gmm_hub import GMMClassifier
from gmm_hub.exceptions import InvalidInputError
from gmm_hub.model._floor import FLOOR_FALLBACK, FLOOR_START

RND_SEED = 0


@pytest.fixture(autouse=True)
def _one_thread():
    # Small EM fits: spinning OpenMP/BLAS threads only cost time on a busy machine.
    with threadpool_limits(1):
        yield


def _imbalanced(n_major: int, n_minor: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping 2-D Gaussians, minority shifted by 1.5 on both axes."""
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.normal(size=(n_major, 2)), rng.normal(size=(n_minor, 2)) + 1.5])
    return X, np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]


def _three_classes(seed: int = RND_SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    centers = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0], [0.0, 6.0, 0.0]])
    X = np.vstack([c + rng.normal(size=(n, 3)) for c, n in zip(centers, (120, 60, 30), strict=True)])
    return X, np.repeat(np.array(["a", "b", "c"]), (120, 60, 30))


X_TRAIN, Y_TRAIN = _imbalanced(1000, 50, RND_SEED)
X_TEST, Y_TEST = _imbalanced(4000, 200, RND_SEED + 1)


@pytest.fixture(scope="module")
def binary_model():
    with threadpool_limits(1):
        return GMMClassifier(random_state=RND_SEED, max_components=3).fit(X_TRAIN, Y_TRAIN)


@pytest.fixture(scope="module")
def multiclass_model():
    X, y = _three_classes()
    with threadpool_limits(1):
        return GMMClassifier(random_state=RND_SEED, max_components=2).fit(X, y), X, y


# --------------------------------------------------------------- fitted state


def test_gmmclassifier_binary_fitted_attributes(binary_model):
    m = binary_model
    np.testing.assert_array_equal(m.classes_, [0, 1])
    np.testing.assert_array_equal(m.class_counts_, [1000, 50])
    np.testing.assert_allclose(m.class_prior_, [0.5, 0.5])
    assert m.n_features_in_ == 2
    assert len(m.gmms_) == 2 and m.threshold_ == 0.5
    assert m.n_components_ == [g.n_components for g in m.gmms_]
    stored = {"spherical": "diag"}  # spherical in standardised units only
    assert [stored.get(c, c) for c in m.covariance_types_] == [g.covariance_type for g in m.gmms_]


def test_gmmclassifier_multiclass_gmms_aligned_with_classes(multiclass_model):
    m, X, y = multiclass_model
    np.testing.assert_array_equal(m.classes_, ["a", "b", "c"])
    np.testing.assert_array_equal(m.class_counts_, [120, 60, 30])
    assert m.threshold_ is None
    assert len(m.gmms_) == len(m.classes_)
    for label, gmm in zip(m.classes_, m.gmms_, strict=True):
        assert isinstance(gmm, GaussianMixture)
        check_is_fitted(gmm)
        # each mixture was fitted on its own class: its overall mean is that class's mean
        mixture_mean = gmm.weights_ @ gmm.means_  # in the units of the transformed features
        np.testing.assert_allclose(mixture_mean, m._to_model_units(X[y == label]).mean(axis=0), atol=0.05)
    assert (m.predict(X) == y).mean() > 0.95


def test_gmmclassifier_predict_proba_is_bayes_posterior(multiclass_model):
    m, X, _ = multiclass_model
    proba = m.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    U = m._to_model_units(X)
    joint = np.column_stack([g.score_samples(U) for g in m.gmms_]) + np.log(m.class_prior_)
    expected = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    np.testing.assert_allclose(proba, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.predict_log_proba(X), np.log(expected), rtol=1e-8, atol=1e-10)


def test_gmmclassifier_binary_predict_proba_is_bayes_posterior(binary_model):
    m = binary_model
    proba = m.predict_proba(X_TEST[:500])
    U = m._to_model_units(X_TEST[:500])
    joint = np.column_stack([g.score_samples(U) for g in m.gmms_]) + np.log(m.class_prior_)
    expected = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    np.testing.assert_allclose(proba, expected, rtol=1e-10, atol=1e-12)


def test_gmmclassifier_decision_function_sign_matches_predict(binary_model):
    scores = binary_model.decision_function(X_TEST)
    pred = binary_model.predict(X_TEST)
    assert scores.shape == (len(X_TEST),)
    np.testing.assert_array_equal(pred, binary_model.classes_[(scores > 0).astype(int)])
    assert 0 < pred.sum() < len(pred)


def test_gmmclassifier_decision_function_multiclass_argmax_matches_predict(multiclass_model):
    m, X, _ = multiclass_model
    scores = m.decision_function(X)
    assert scores.shape == (len(X), 3)
    np.testing.assert_array_equal(m.predict(X), m.classes_[scores.argmax(axis=1)])


def test_gmmclassifier_fit_on_dataframe_sets_feature_names():
    X = pd.DataFrame(X_TRAIN[:300], columns=["height", "weight"])
    y = Y_TRAIN[:300].copy()
    y[:20] = 1
    m = GMMClassifier(random_state=RND_SEED, max_components=1).fit(X, y)
    np.testing.assert_array_equal(m.feature_names_in_, ["height", "weight"])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(m.predict(X), m.predict(X.to_numpy()))
    with pytest.raises(ValueError, match="feature names"):
        m.predict(X.rename(columns={"weight": "mass"}))


# ------------------------------------------------------------------ priors


def test_gmmclassifier_priors_balanced_recalls_more_minority_than_empirical():
    kw = {"random_state": RND_SEED, "max_components": 1, "covariance_type": "full"}
    balanced = GMMClassifier(priors="balanced", **kw).fit(X_TRAIN, Y_TRAIN)
    empirical = GMMClassifier(priors="empirical", **kw).fit(X_TRAIN, Y_TRAIN)
    np.testing.assert_allclose(empirical.class_prior_, [1000 / 1050, 50 / 1050])
    recall_balanced = recall_score(Y_TEST, balanced.predict(X_TEST))
    recall_empirical = recall_score(Y_TEST, empirical.predict(X_TEST))
    assert recall_balanced > recall_empirical + 0.2
    # same mixtures, only the prior differs: the empirical rule predicts a subset of positives
    assert not np.any(empirical.predict(X_TEST) & ~balanced.predict(X_TEST).astype(bool))


def test_gmmclassifier_priors_array_shifts_decision():
    kw = {"random_state": RND_SEED, "max_components": 1, "covariance_type": "full"}
    favour_minority = GMMClassifier(priors=[0.2, 0.8], **kw).fit(X_TRAIN, Y_TRAIN)
    balanced = GMMClassifier(**kw).fit(X_TRAIN, Y_TRAIN)
    np.testing.assert_allclose(favour_minority.class_prior_, [0.2, 0.8])
    assert favour_minority.predict(X_TEST).sum() > balanced.predict(X_TEST).sum()


@pytest.mark.parametrize(
    ("priors", "match"),
    [
        ([0.2, 0.2], "sum to 1"),
        ([1.5, -0.5], "positive"),
        ([0.5, 0.3, 0.2], "one value per class"),
        ("uniform", "priors must be"),
    ],
)
def test_gmmclassifier_bad_priors_raise(priors, match):
    with pytest.raises(ValueError, match=match):
        GMMClassifier(priors=priors).fit(X_TRAIN[:100], np.r_[np.zeros(90), np.ones(10)])


# --------------------------------------------------------------- threshold


def test_gmmclassifier_higher_threshold_predicts_fewer_positives():
    counts = []
    for threshold in (0.2, 0.5, 0.8):
        m = GMMClassifier(threshold=threshold, random_state=RND_SEED, max_components=1, covariance_type="full").fit(
            X_TRAIN, Y_TRAIN
        )
        assert m.threshold_ == threshold
        pred = m.predict(X_TEST)
        np.testing.assert_array_equal(pred, (m.predict_proba(X_TEST)[:, 1] > threshold).astype(int))
        counts.append(pred.sum())
    assert counts[0] > counts[1] > counts[2]


def test_gmmclassifier_threshold_f1_macro_tuned_improves_held_out_f1(binary_model):
    tuned = GMMClassifier(threshold="f1_macro", random_state=RND_SEED, max_components=3).fit(X_TRAIN, Y_TRAIN)
    assert 0.5 < tuned.threshold_ < 1.0  # balanced priors over-predict the minority
    pred = tuned.predict(X_TEST)
    np.testing.assert_array_equal(pred, (tuned.predict_proba(X_TEST)[:, 1] > tuned.threshold_).astype(int))
    f1_tuned = f1_score(Y_TEST, pred, average="macro")
    f1_default = f1_score(Y_TEST, binary_model.predict(X_TEST), average="macro")
    assert f1_tuned > f1_default + 0.05


def test_gmmclassifier_threshold_balanced_accuracy_tuned_not_worse(binary_model):
    tuned = GMMClassifier(threshold="balanced_accuracy", random_state=RND_SEED, max_components=3).fit(X_TRAIN, Y_TRAIN)
    assert 0.0 < tuned.threshold_ < 1.0 and tuned.threshold_ != 0.5
    ba_tuned = balanced_accuracy_score(Y_TEST, tuned.predict(X_TEST))
    ba_default = balanced_accuracy_score(Y_TEST, binary_model.predict(X_TEST))
    # balanced priors at 0.5 are already the Bayes rule for balanced accuracy
    assert ba_tuned >= ba_default - 0.01


def test_gmmclassifier_composes_with_tuned_threshold_classifier_cv():
    # scikit-learn's own threshold tuner takes the classifier as it is: it refits it per fold
    # and cuts its predict_proba, which must then be the whole story of its predictions
    from sklearn.model_selection import TunedThresholdClassifierCV

    wrapped = TunedThresholdClassifierCV(
        GMMClassifier(random_state=RND_SEED, max_components=3), scoring="f1_macro", cv=3, random_state=RND_SEED
    ).fit(X_TRAIN, Y_TRAIN)
    assert 0.0 < wrapped.best_threshold_ < 1.0
    proba = wrapped.estimator_.predict_proba(X_TEST)[:, 1]
    np.testing.assert_array_equal(wrapped.predict(X_TEST), (proba >= wrapped.best_threshold_).astype(int))
    # the built-in tuning is the same idea at a fraction of the cost: both beat the untuned rule
    f1_default = f1_score(Y_TEST, wrapped.estimator_.predict(X_TEST), average="macro")
    assert f1_score(Y_TEST, wrapped.predict(X_TEST), average="macro") > f1_default + 0.05


def test_gmmclassifier_threshold_on_multiclass_warns_and_uses_argmax():
    X, y = _three_classes()
    with pytest.warns(UserWarning, match="binary problems only"):
        m = GMMClassifier(threshold=0.9, max_components=1, random_state=RND_SEED).fit(X, y)
    assert m.threshold_ is None
    np.testing.assert_array_equal(m.predict(X), m.classes_[m.predict_proba(X).argmax(axis=1)])


# --------------------------------------------------------------- bad input


def test_gmmclassifier_fit_nan_raises():
    X = X_TRAIN.copy()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GMMClassifier().fit(X, Y_TRAIN)


def test_gmmclassifier_fit_inf_raises():
    X = X_TRAIN.copy()
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GMMClassifier().fit(X, Y_TRAIN)


def test_gmmclassifier_predict_nan_raises(binary_model):
    with pytest.raises(ValueError, match="NaN"):
        binary_model.predict(np.array([[0.0, np.nan]]))


def test_gmmclassifier_predict_wrong_number_of_columns_raises(binary_model):
    with pytest.raises(ValueError, match=r"3 features.*expecting 2"):
        binary_model.predict(np.zeros((4, 3)))


def test_gmmclassifier_single_class_raises():
    with pytest.raises(ValueError, match=r"at least 2 classes.*got 1 class"):
        GMMClassifier().fit(X_TRAIN[:50], np.zeros(50))


def test_gmmclassifier_no_rows_raises():
    with pytest.raises(ValueError, match="0 sample"):
        GMMClassifier().fit(np.empty((0, 2)), np.empty(0))


def test_gmmclassifier_non_numeric_data_points_to_tabular_pipeline():
    X = pd.DataFrame({"colour": ["red", "blue"] * 20, "size": np.arange(40.0)})
    with pytest.raises(InvalidInputError, match=r"numeric features.*tabular_pipeline"):
        GMMClassifier().fit(X, [0, 1] * 20)


def test_gmmclassifier_predict_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted"):
        GMMClassifier().predict(X_TRAIN)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_components": 0}, "n_components must be"),
        ({"n_components": "aic"}, "n_components must be"),
        ({"max_components": 0}, "max_components must be"),
        ({"covariance_type": "diagonal"}, "covariance_type must be one of"),
        ({"threshold": 1.5}, r"threshold must be a float in \(0, 1\)"),
        ({"threshold": "accuracy"}, "threshold must be"),
        ({"threshold": True}, "threshold must be"),
        ({"cv": 1}, "cv must be an int >= 2"),
        ({"reg_covar": -1.0}, "reg_covar must be a non-negative float"),
        ({"selection_size": 1}, "selection_size must be"),
        ({"n_init": 0}, "n_init must be a positive int"),
        ({"max_iter": 2.5}, "max_iter must be a positive int"),
        ({"tol": -1}, "tol must be a non-negative float"),
    ],
)
def test_gmmclassifier_bad_parameter_raises(params, match):
    with pytest.raises(ValueError, match=match):
        GMMClassifier(**params).fit(X_TRAIN[:100], np.r_[np.zeros(90), np.ones(10)])


# --------------------------------------------------- small classes and BIC


def _tiny_minority(n_minor: int, n_features: int = 5):
    rng = np.random.RandomState(RND_SEED)
    X = rng.normal(size=(150 + n_minor, n_features))
    X[150:] += 3.0
    return X, np.array(["common"] * 150 + ["rare"] * n_minor)


def test_gmmclassifier_tiny_class_falls_back_with_warning():
    X, y = _tiny_minority(4)
    with pytest.warns(UserWarning, match=r"'rare'.* 4 rows"):
        m = GMMClassifier(covariance_type="full", random_state=RND_SEED).fit(X, y)
    rare = list(m.classes_).index("rare")
    assert m.covariance_types_[rare] != "full"
    assert (m.predict(X[150:]) == "rare").all()


def test_gmmclassifier_tiny_class_default_settings_fit_and_predict():
    X, y = _tiny_minority(4)
    m = GMMClassifier(random_state=RND_SEED).fit(X, y)
    assert (m.predict(X[150:]) == "rare").all()


def test_gmmclassifier_one_row_class_falls_back_with_warning():
    X, y = _tiny_minority(1)
    with pytest.warns(UserWarning, match=r"'rare'.* 1 row"):
        m = GMMClassifier(random_state=RND_SEED).fit(X, y)
    assert m.predict(X[150:]) == ["rare"]
    # no fold can hold its row out: every class gets the strong fallback floor, not the weak selection one
    assert FLOOR_FALLBACK > FLOOR_START
    np.testing.assert_array_equal(m.floor_scale_, FLOOR_FALLBACK)


def test_gmmclassifier_tuned_threshold_two_row_class_does_not_crash():
    X, y = _tiny_minority(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = GMMClassifier(threshold="f1_macro", random_state=RND_SEED).fit(X, y)
    assert 0.0 < m.threshold_ < 1.0


def test_gmmclassifier_bic_picks_one_component_for_one_blob_and_more_for_three():
    rng = np.random.RandomState(RND_SEED)
    one_blob = rng.normal(size=(300, 2))
    three_blobs = np.vstack([c + rng.normal(size=(100, 2)) for c in ([8, 0], [0, 8], [8, 8])])
    X = np.vstack([one_blob, three_blobs])
    y = np.r_[np.zeros(300, int), np.ones(300, int)]
    m = GMMClassifier(random_state=RND_SEED, covariance_type="full").fit(X, y)
    assert m.n_components_[0] == 1
    assert m.n_components_[1] == 3


def test_gmmclassifier_fixed_n_components_is_used():
    m = GMMClassifier(n_components=2, covariance_type="diag", random_state=RND_SEED).fit(X_TRAIN, Y_TRAIN)
    assert m.n_components_ == [2, 2]
    assert m.covariance_types_ == ["diag", "diag"]


def test_gmmclassifier_same_seed_same_model():
    a = GMMClassifier(random_state=3, max_components=2).fit(X_TRAIN, Y_TRAIN)
    b = GMMClassifier(random_state=3, max_components=2).fit(X_TRAIN, Y_TRAIN)
    np.testing.assert_array_equal(a.predict_proba(X_TEST), b.predict_proba(X_TEST))
