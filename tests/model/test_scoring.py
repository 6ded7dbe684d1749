"""Fused scoring: agreement with scikit-learn, float32 tolerance, blocks, huge inputs, caching."""

from __future__ import annotations

import copy
import pickle
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.mixture import GaussianMixture

from gmm_hub.exceptions import InvalidInputError
from gmm_hub.model._classifier import GMMClassifier
from gmm_hub.model._scoring import FusedScorer, fused_scorer

RND_SEED = 0
N_FEATURES = 4
# Documented float32 tolerance (README, GMMClassifier docstring): joint log-likelihoods
# within 1e-5 relative of float64 on standardised features, posteriors within 1e-4.
FLOAT32_RTOL = 1e-5
FLOAT32_PROBA_ATOL = 1e-4


def _mixtures(kinds, seed=RND_SEED, n_features=N_FEATURES):
    """One fitted GaussianMixture per covariance type in ``kinds`` (one per class)."""
    rng = np.random.default_rng(seed)
    gmms = []
    for i, kind in enumerate(kinds):
        X = rng.normal(size=(400, n_features)) @ rng.normal(size=(n_features, n_features)) * 0.5 + i
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmms.append(GaussianMixture(3, covariance_type=kind, random_state=seed).fit(X))
    return gmms


def _reference(gmms, log_prior, X):
    return np.column_stack([g.score_samples(X) for g in gmms]) + log_prior


def _rows(n=2000, seed=RND_SEED, n_features=N_FEATURES):
    return np.random.default_rng(seed + 1).normal(scale=1.5, size=(n, n_features))


KINDS = [
    ("full", "full"),
    ("tied", "tied", "tied"),
    ("diag", "diag"),
    ("spherical", "spherical"),
    ("full", "tied", "diag", "spherical"),  # covariance_type="auto" can mix them
]


@pytest.mark.parametrize("kinds", KINDS, ids="-".join)
def test_fused_scorer_equals_score_samples(kinds):
    gmms = _mixtures(kinds)
    log_prior = np.log(np.arange(1, len(kinds) + 1) / sum(range(1, len(kinds) + 1)))
    X = _rows()
    got = FusedScorer(gmms, log_prior).joint_log_likelihood(X)
    np.testing.assert_allclose(got, _reference(gmms, log_prior, X), rtol=1e-9, atol=1e-12)


def _factor(gmm, k, d):
    """Component ``k``'s precision Cholesky factor as a (d, d) matrix."""
    prec = gmm.precisions_cholesky_
    if gmm.covariance_type == "full":
        return prec[k]
    if gmm.covariance_type == "tied":
        return prec
    return np.diag(prec[k]) if gmm.covariance_type == "diag" else np.eye(d) * prec[k]


def _float32_error_bound(gmms, log_prior, X):
    """A rigorous per-row bound on |float32 score - exact score| (Higham, 2002, ch. 3).

    float32 mode projects ``a = x - centre`` (``centre``: the mean of every
    component mean; subtracted in float64, then rounded) with the factor and
    offset ``-(mean - centre) @ factor`` rounded to float32. A residual
    ``y_j = sum_i a_i w_ij`` of ``d + 1`` terms then errs by at most
    ``e_j = gamma(d + 3) * sum_i |a_i w_ij|``, so a squared norm summed in
    float32 errs by ``sum_j (2 |y_j| e_j + e_j**2) + gamma(d + 2) * sum_j
    (|y_j| + e_j)**2``, a log-density by half that, and the logsumexp (1-Lipschitz,
    exponentials in float32) by that plus ``5 u`` per component.
    """
    u = 2.0**-24
    d = X.shape[1]

    def gamma(m):
        return m * u / (1 - m * u)

    means = np.vstack([g.means_ for g in gmms])
    a = X - means.mean(axis=0)
    bounds = []
    for g in gmms:
        per_component = []
        for k in range(g.n_components):
            factor = _factor(g, k, d)
            offset = -(g.means_[k] - means.mean(axis=0)) @ factor
            y = np.abs(a @ factor + offset)
            e = gamma(d + 3) * (np.abs(a) @ np.abs(factor) + np.abs(offset))
            per_component.append(0.5 * (np.sum(2 * y * e + e**2, axis=1) + gamma(d + 2) * np.sum((y + e) ** 2, axis=1)))
        bounds.append(np.max(per_component, axis=0) + 5 * u * g.n_components)
    return np.column_stack(bounds)


@pytest.mark.parametrize("kinds", KINDS, ids="-".join)
@pytest.mark.parametrize("n_features", [N_FEATURES, 25])  # 25: several column blocks
@pytest.mark.parametrize("shift", [0.0, 1e3])  # far from the origin, only centring keeps the bound
def test_fused_scorer_float32_within_its_rounding_bound(kinds, n_features, shift):
    for seed in range(3):
        gmms = _mixtures(kinds, seed=seed, n_features=n_features)
        for g in gmms:
            g.means_ = g.means_ + shift
        log_prior = np.log(np.full(len(kinds), 1 / len(kinds)))
        X = _rows(seed=seed, n_features=n_features) + shift
        ref = _reference(gmms, log_prior, X)
        got = FusedScorer(gmms, log_prior, dtype="float32").joint_log_likelihood(X)
        assert got.dtype == np.float64
        excess = np.abs(got - ref) - (_float32_error_bound(gmms, log_prior, X) + 1e-12 * np.abs(ref))
        assert excess.max() <= 0, f"seed {seed}: {excess.max():.3g} over the bound"


def test_fused_scorer_float32_within_documented_tolerance_on_standardised_data():
    # the documented figures: 1e-5 relative on scores, 1e-4 on posteriors, for standardised features
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(4000, 12)) @ rng.normal(size=(12, 12))
    X[:400] += 1.5
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = np.r_[np.ones(400, int), np.zeros(3600, int)]
    model = GMMClassifier(max_components=3, feature_transform=None, random_state=RND_SEED).fit(X, y)
    fast = clone(model).set_params(scoring_dtype="float32")
    fast.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    np.testing.assert_allclose(fast._joint_log_likelihood(X), model._joint_log_likelihood(X), rtol=FLOAT32_RTOL)
    np.testing.assert_allclose(fast.predict_proba(X), model.predict_proba(X), atol=FLOAT32_PROBA_ATOL)


def test_fused_scorer_float32_centres_data_far_from_origin():
    # float32 projects x - centre: an offset of 1e4 on every feature costs no accuracy
    gmms = _mixtures(("full", "diag"))
    for g in gmms:
        g.means_ = g.means_ + 1e4
    X = _rows() + 1e4
    ref = _reference(gmms, np.zeros(2), X)
    got = FusedScorer(gmms, np.zeros(2), dtype="float32").joint_log_likelihood(X)
    np.testing.assert_allclose(got, ref, rtol=FLOAT32_RTOL)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_scorer_blocks_do_not_change_results(dtype):
    gmms = _mixtures(("full", "spherical", "tied"))
    scorer = FusedScorer(gmms, np.zeros(3), dtype=dtype, block_bytes=1)
    assert scorer.block_rows == 64
    X = _rows(3 * 64 + 5)
    whole = FusedScorer(gmms, np.zeros(3), dtype=dtype).joint_log_likelihood(X)
    one_by_one = np.vstack([scorer.joint_log_likelihood(X[i : i + 1]) for i in range(len(X))])
    # identical here; the tolerance allows only for BLAS kernels that round edge rows differently
    rtol = 1e-13 if dtype == "float64" else 1e-6
    for n in (63, 64, 65, 128, 3 * 64 + 5):  # around and across block boundaries
        np.testing.assert_allclose(scorer.joint_log_likelihood(X[:n]), whole[:n], rtol=rtol)
    np.testing.assert_allclose(one_by_one, whole, rtol=rtol)
    rescued = np.vstack([scorer._rescaled(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(rescued, scorer._rescaled(X), rtol=1e-13)


def test_fused_scorer_shared_by_threads_keeps_calls_apart():
    # one cached scorer serves every thread: each call has its own working arrays
    gmms = _mixtures(("full", "diag"))
    scorer = FusedScorer(gmms, np.zeros(2), block_bytes=1)
    inputs = [_rows(64 * 7 + i, seed=i) for i in range(8)]
    serial = [scorer.joint_log_likelihood(X) for X in inputs]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(scorer.joint_log_likelihood, inputs))
    for got, want in zip(threaded, serial, strict=True):
        np.testing.assert_array_equal(got, want)


def test_fused_scorer_rescaled_path_agrees_on_ordinary_rows():
    # the overflow rescue equals the direct path up to a per-row constant
    gmms = _mixtures(("full", "tied", "diag", "spherical"))
    scorer = FusedScorer(gmms, np.log([0.1, 0.2, 0.3, 0.4]))
    X = _rows(500)
    direct = scorer.joint_log_likelihood(X)
    rescued = scorer._rescaled(X)
    direct -= direct.max(axis=1, keepdims=True)
    rescued -= rescued.max(axis=1, keepdims=True)
    np.testing.assert_allclose(rescued, direct, rtol=1e-9, atol=1e-9)


def _spherical(mean, variance, n_features=2):
    gmm = GaussianMixture(1, covariance_type="spherical")
    gmm.weights_ = np.array([1.0])
    gmm.means_ = np.full((1, n_features), float(mean))
    gmm.precisions_cholesky_ = np.array([1 / np.sqrt(variance)])
    return gmm


@pytest.mark.parametrize("value", [1e154, 1e200, -1e300, np.finfo(float).max, -np.finfo(float).max])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_scorer_huge_inputs_nearest_class_wins(value, dtype):
    # same variance: the nearer mean wins; same mean: the wider class wins
    log_prior = np.log([0.5, 0.5])
    near = FusedScorer([_spherical(-1, 1), _spherical(1, 1)], log_prior, dtype=dtype)
    wide = FusedScorer([_spherical(0, 1), _spherical(0, 4)], log_prior, dtype=dtype)
    x = np.full((1, 2), value)
    jll = near.joint_log_likelihood(x)
    assert np.isfinite(jll.max()) and np.argmax(jll) == int(value > 0)
    jll = wide.joint_log_likelihood(x)
    assert np.isfinite(jll.max()) and np.argmax(jll) == 1


@pytest.fixture(scope="module")
def binary_model():
    rng = np.random.default_rng(RND_SEED)
    X = np.vstack([rng.normal(0, 1, (300, 3)), rng.normal(1.5, 0.6, (40, 3))])
    y = np.r_[np.zeros(300, int), np.ones(40, int)]
    return GMMClassifier(max_components=2, threshold=0.3, random_state=RND_SEED).fit(X, y)


@pytest.fixture(scope="module")
def multiclass_model():
    rng = np.random.default_rng(RND_SEED + 1)
    X = np.vstack([rng.normal(c, 0.5 + 0.3 * c, (120, 3)) for c in range(3)])
    y = np.repeat(["a", "b", "c"], 120)
    return GMMClassifier(max_components=2, random_state=RND_SEED).fit(X, y)


def _assert_sound(model, X):
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    log_proba = model.predict_log_proba(X)
    assert not np.isnan(log_proba).any() and np.all(log_proba <= 0)
    pred = model.predict(X)
    decision = model.decision_function(X)
    assert not np.isnan(decision).any()
    if len(model.classes_) == 2:
        np.testing.assert_array_equal(pred, model.classes_[(decision > 0).astype(int)])
        clear = np.abs(proba[:, 1] - model.threshold_) > 1e-9
        np.testing.assert_array_equal(pred[clear], model.classes_[(proba[clear, 1] > model.threshold_).astype(int)])
    else:
        top2 = np.sort(proba, axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 1e-12
        np.testing.assert_array_equal(pred[clear], model.classes_[np.argmax(proba[clear], axis=1)])


finite_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.just(3)),
    elements=st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=60, deadline=None)
@given(X=finite_rows, dtype=st.sampled_from(["float64", "float32"]))
def test_predict_any_finite_input_gives_sound_probabilities(binary_model, multiclass_model, X, dtype):
    for model in (binary_model, multiclass_model):
        _assert_sound(copy.copy(model).set_params(scoring_dtype=dtype), X)


def test_predict_huge_value_does_not_flip_to_class_zero(binary_model):
    # the attack of issue 14: one huge feature used to give NaN and class 0
    x = np.array([[0.0, 0.0, 1e200]])
    proba = binary_model.predict_proba(x)
    assert np.all(np.isfinite(proba))
    # far from both classes, the wider one (class 0, unit variance) is the more likely
    assert binary_model.predict(x)[0] == 0 and proba[0, 0] == 1.0
    _assert_sound(binary_model, np.array([[1.5, 1.5, 1.5], [1e160, 1e160, 1e160], [-1e308, 1e308, 0]]))


def test_predict_refuses_nan_and_infinity_naming_rows_and_columns(binary_model):
    X = pd.DataFrame(np.random.default_rng(2).normal(size=(40, 3)), columns=["a", "b", "c"])
    model = clone(binary_model).fit(X, np.arange(40) % 2)
    bad = X.head(5).copy()
    bad.iloc[1, 2] = np.nan
    bad.iloc[4, 0] = np.inf
    with pytest.raises(InvalidInputError, match=r"NaN or infinity in 2 row\(s\) \(rows 1, 4; column\(s\) a, c\)"):
        model.predict(bad)
    with pytest.raises(ValueError, match="Impute or drop"):
        binary_model.predict_proba(np.array([[0.0, -np.inf, 0.0]]))


def test_predict_sums_overflow_but_values_finite_is_accepted(binary_model):
    X = np.full((4, 3), np.finfo(float).max)  # the sum overflows; every value is finite
    _assert_sound(binary_model, X)


def test_scoring_dtype_set_on_fitted_model(binary_model):
    X = np.random.default_rng(3).normal(size=(500, 3))
    fast = copy.deepcopy(binary_model).set_params(scoring_dtype="float32")
    np.testing.assert_allclose(fast.predict_proba(X), binary_model.predict_proba(X), atol=FLOAT32_PROBA_ATOL)
    bad = copy.copy(binary_model)
    bad.scoring_dtype = "float16"
    with pytest.raises(InvalidInputError, match=r"scoring_dtype must be one of .*float32.*, got 'float16'"):
        bad.predict(X)


def test_scorer_cached_outside_the_estimator_and_rebuilt_after_refit(binary_model):
    X = np.random.default_rng(4).normal(size=(50, 3))
    model = copy.deepcopy(binary_model)
    before = dict(vars(model))
    model.predict_proba(X)
    assert vars(model).keys() == before.keys()  # predict adds no attribute: bundles are unchanged
    assert fused_scorer(model) is fused_scorer(model)
    first = fused_scorer(model)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    rng = np.random.default_rng(5)
    model.fit(rng.normal(size=(80, 3)), np.r_[np.zeros(60, int), np.ones(20, int)])
    assert fused_scorer(model) is not first
    np.testing.assert_allclose(
        model._joint_log_likelihood(X),
        _reference(model.gmms_, np.log(model.class_prior_), model._to_model_units(X)),
        rtol=1e-9,
    )


def test_predict_memory_does_not_grow_with_rows(binary_model):
    model = copy.deepcopy(binary_model)
    peaks = []
    for n in (100_000, 400_000):
        X = np.random.default_rng(6).normal(size=(n, 3))
        model.predict(X[:10])  # build the scorer outside the measurement
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            pred = model.predict(X)
            peaks.append(tracemalloc.get_traced_memory()[1] - base - pred.nbytes)
        finally:
            tracemalloc.stop()
    # a block's working memory (4 MiB) and the label indices, never an (n, n_classes) array
    assert peaks[1] < 8 * 2**20 + 400_000 * 8
    assert peaks[1] - peaks[0] <= 300_000 * 8 + 2**20


def test_fused_scorer_skips_only_zero_rows_of_the_factors():
    # scikit-learn's factors are upper triangular: later column blocks read more inputs;
    # any other factor (here with entries below the diagonal) is projected whole
    gmms = _mixtures(("full", "tied"), n_features=25)
    X = _rows(n_features=25)
    assert [inputs for inputs, _, _ in FusedScorer(gmms, np.zeros(2))._dense_blocks] == [1 + 8, 1 + 17, 1 + 25]
    lower = np.tril(np.random.default_rng(RND_SEED).normal(scale=0.1, size=(25, 25)), -1)
    for g in gmms:
        g.precisions_cholesky_ = g.precisions_cholesky_ + lower
    scorer = FusedScorer(gmms, np.zeros(2))
    assert [inputs for inputs, _, _ in scorer._dense_blocks] == [1 + 25]
    np.testing.assert_allclose(scorer.joint_log_likelihood(X), _reference(gmms, np.zeros(2), X), rtol=1e-9)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_class_logsumexp_clamps_only_what_adds_nothing(dtype):
    # terms whose exp would be subnormal are clamped for speed: the result is the exact logsumexp,
    # and a class whose every term is -inf (or NaN) still says so, which triggers the rescue
    from scipy.special import logsumexp

    gmms = _mixtures(("full", "diag"))
    scorer = FusedScorer(gmms, np.zeros(2), dtype=dtype)
    first, second = scorer._classes
    log_prob = np.empty((second.stop, 6))
    log_prob[first] = np.array([-90.0, -100.0, -700.0, -720.0, -1e4, -np.inf])  # one case per column
    log_prob[first.start] = -5.0  # each row's largest term
    log_prob[second, :4] = -50.0 - 30.0 * np.arange(second.stop - second.start)[:, None]
    log_prob[second, 4] = -np.inf
    log_prob[second, 5] = np.nan
    got = scorer._class_logsumexp(log_prob)
    want = np.vstack([logsumexp(log_prob[first], axis=0), logsumexp(log_prob[second], axis=0)])
    np.testing.assert_allclose(got[:, :4], want[:, :4], rtol=1e-15 if dtype == "float64" else 1e-7)
    np.testing.assert_allclose(got[0, 4:], want[0, 4:], rtol=1e-15 if dtype == "float64" else 1e-7)
    assert got[1, 4] == -np.inf and np.isnan(got[1, 5])
