"""Tests for gmm_hub.model._prior: units, the MAP covariance prior, its strength and the floor."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.mixture import GaussianMixture

from gmm_hub.model._classifier import GMMClassifier
from gmm_hub.model._em import MAPGaussianMixture, Moments, shrunk_parameters, to_input_units
from gmm_hub.model._floor import FLOOR_FOLDS
from gmm_hub.model._prior import (
    CovariancePrior,
    dequantisation_floor,
    held_out_prior_rows,
    pooled_correlation,
    prior_weight,
    standardise,
)

RND_SEED = 0
TYPES = ("full", "tied", "diag", "spherical")


def _imbalanced(seed=RND_SEED, n_major=600, n_minor=25, d=5):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d))
    X = np.vstack([rng.normal(size=(n_major, d)) @ mix, rng.normal(1.0, 0.7, size=(n_minor, d)) @ mix])
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    return X, y


# --------------------------------------------------------------------- units


@pytest.mark.parametrize(("seed", "prior_rows"), [(0, 0.0), (1, 0.0), (2, "auto"), (3, "auto")])
def test_rescaling_features_leaves_predictions_unchanged(seed, prior_rows):
    X, y = _imbalanced(seed)
    factors = 10.0 ** np.random.default_rng(seed + 10).uniform(-3, 3, X.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = GMMClassifier(prior_rows=prior_rows, random_state=RND_SEED).fit(X, y)
        b = GMMClassifier(prior_rows=prior_rows, random_state=RND_SEED).fit(X * factors, y)
    assert a.n_components_ == b.n_components_ and a.covariance_types_ == b.covariance_types_
    np.testing.assert_allclose(a.prior_rows_, b.prior_rows_, rtol=1e-6)
    assert np.mean(a.predict(X) == b.predict(X * factors)) >= 0.99
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X * factors), atol=1e-5)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    exponents=st.lists(st.floats(-3, 3), min_size=3, max_size=3),
    shifts=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3),
)
def test_affine_change_of_units_is_a_property(exponents, shifts):
    X, y = _imbalanced(n_major=200, n_minor=15, d=3)
    scaled = X * 10.0 ** np.array(exponents) + np.array(shifts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = GMMClassifier(max_components=2, random_state=RND_SEED).fit(scaled, y)
    assert np.mean(_small_fit_predictions() == b.predict(scaled)) >= 0.99


@functools.cache
def _small_fit_predictions() -> np.ndarray:
    """The property test's reference, in the original units: the same for every example, so fitted once."""
    X, y = _imbalanced(n_major=200, n_minor=15, d=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GMMClassifier(max_components=2, random_state=RND_SEED).fit(X, y).predict(X)


@pytest.mark.parametrize("kind", TYPES)
def test_to_input_units_gives_the_same_density_up_to_the_jacobian(kind):
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 3)) * [1e-3, 1.0, 1e3] + [5.0, -2.0, 1e4]
    Z, center, scale = standardise(X)
    z_model = GaussianMixture(2, covariance_type=kind, random_state=RND_SEED).fit(Z)
    x_model = to_input_units(z_model, center, scale)
    np.testing.assert_allclose(x_model.score_samples(X), z_model.score_samples(Z) - np.log(scale).sum(), rtol=1e-9)
    assert x_model.covariance_type == ("diag" if kind == "spherical" else kind)


def test_standardise_keeps_constant_features_unscaled():
    X = np.array([[1.0, 3.0], [2.0, 3.0], [3.0, 3.0]])
    Z, center, scale = standardise(X)
    np.testing.assert_allclose(center, [2.0, 3.0])
    assert scale[1] == 1.0 and scale[0] > 0
    np.testing.assert_array_equal(Z[:, 1], 0.0)
    assert X[0, 0] == 1.0  # a copy unless asked


def test_standardise_is_numpys_mean_and_std_in_place_or_not():
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(5000, 4)) * [1e-6, 1.0, 1e3, 1e8] + [1e3, -5.0, 0.0, 1e9]
    Z, center, scale = standardise(X)
    np.testing.assert_allclose(center, X.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(scale, X.std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(Z, (X - X.mean(axis=0)) / X.std(axis=0), rtol=1e-10, atol=1e-12)
    W = X.copy()
    same, _, _ = standardise(W, copy=False)
    assert same is W
    np.testing.assert_array_equal(W, Z)


# ------------------------------------------------------------ prior and floor


@pytest.mark.parametrize("kind", TYPES)
def test_no_prior_is_the_maximum_likelihood_m_step(kind):
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(300, 4))
    resp = rng.dirichlet(np.ones(3), size=300)
    prior = CovariancePrior(target=np.eye(4) * 7.0, rows=0.0, floor=np.full(4, 1e-6))
    nk, means, cov = shrunk_parameters(Moments.of(X, resp, kind in ("diag", "spherical")), kind, prior)
    from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

    ref_nk, ref_means, ref_cov = _estimate_gaussian_parameters(X, resp, 1e-6, kind)
    np.testing.assert_allclose(nk, ref_nk, rtol=1e-12)
    np.testing.assert_allclose(means, ref_means, rtol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10)


@settings(max_examples=20, deadline=None)
@given(
    exponents=st.lists(st.floats(-3, 3), min_size=4, max_size=4),
    n_minor=st.integers(2, 40),
    seed=st.integers(0, 2**16),
)
def test_pooled_correlation_is_a_well_conditioned_correlation_free_of_units(exponents, n_minor, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60 + n_minor, 4)) @ rng.normal(size=(4, 4))
    y = np.r_[np.zeros(60, int), np.ones(n_minor, int)]
    X[y == 1] += 5.0  # far apart: a pooled *within-class* estimate must not see the shift
    corr = pooled_correlation(X, y, 2)
    np.testing.assert_allclose(np.diag(corr), 1.0, rtol=1e-12)
    np.testing.assert_allclose(corr, corr.T, rtol=0, atol=1e-15)
    assert np.linalg.eigvalsh(corr).min() > 1e-6  # Ledoit-Wolf shrinkage: positive definite whatever the rows
    np.testing.assert_allclose(pooled_correlation(X * 10.0 ** np.array(exponents), y, 2), corr, atol=1e-9)


def test_pooled_correlation_is_the_within_class_correlation_given_many_rows():
    rng = np.random.default_rng(RND_SEED)
    cov = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, -0.3], [0.0, -0.3, 1.0]])
    X = rng.multivariate_normal(np.zeros(3), cov, size=40_000)
    y = (rng.random(40_000) < 0.1).astype(int)
    X[y == 1] += [3.0, -2.0, 1.0]
    np.testing.assert_allclose(pooled_correlation(X, y, 2), cov, atol=0.02)


def test_a_shaped_floor_spreads_the_same_variances_like_the_correlation():
    rng = np.random.default_rng(RND_SEED)
    X, resp = rng.normal(size=(200, 3)), rng.dirichlet(np.ones(2), size=200)
    floor, corr = np.array([0.1, 0.4, 0.9]), np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.0]])
    plain = CovariancePrior(target=np.zeros((3, 3)), rows=0.0, floor=floor)
    shaped = CovariancePrior(target=np.zeros((3, 3)), rows=0.0, floor=floor, shape=corr)
    np.testing.assert_allclose(np.diag(shaped.floor_matrix()), floor)
    np.testing.assert_allclose(plain.floor_matrix(), np.diag(floor))
    for kind in TYPES:
        moments = Moments.of(X, resp, kind in ("diag", "spherical"))
        _, _, a = shrunk_parameters(moments, kind, plain)
        _, _, b = shrunk_parameters(moments, kind, shaped)
        if kind in ("diag", "spherical"):  # only the variances enter: the shape changes nothing
            np.testing.assert_array_equal(a, b)
        else:
            off = shaped.floor_matrix() - np.diag(floor)
            np.testing.assert_allclose(b - a, np.broadcast_to(off, a.shape), rtol=0, atol=1e-12)


def test_prior_weight_fades_with_rows_and_is_total_for_infinite_rows():
    np.testing.assert_allclose(prior_weight(np.array([10.0, 990.0]), 10.0), [0.5, 0.01])
    assert prior_weight(5.0, float("inf")) == 1.0
    assert prior_weight(5.0, 0.0) == 0.0


def test_large_class_gets_the_maximum_likelihood_fit_even_with_thin_directions():
    # credit-card-like: a class of many rows whose smallest variance is 1e-3 of its largest
    rng = np.random.default_rng(RND_SEED)
    basis = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    X = rng.normal(size=(20_000, 6)) * np.sqrt([1, 1, 1, 1e-2, 1e-3, 1e-3]) @ basis.T
    fat_target = np.eye(6)  # the other classes' shape: far wider in the thin directions
    floor = np.full(6, 1e-6)
    rows = held_out_prior_rows(X[:10_000], fat_target, floor, np.random.RandomState(RND_SEED))
    assert prior_weight(len(X), rows) < 1e-3
    gmm = MAPGaussianMixture(1, covariance_type="full", random_state=RND_SEED)
    gmm.prior = CovariancePrior(target=fat_target, rows=rows, floor=floor)
    gmm.fit(X)
    ml = np.cov(X, rowvar=False, bias=True)
    assert np.abs(np.linalg.eigvalsh(np.linalg.solve(ml, gmm.covariances_[0])) - 1).max() < 0.01


def test_tiny_class_is_shrunk_toward_the_target_rather_than_collapsing():
    rng = np.random.default_rng(RND_SEED)
    target = np.diag(np.linspace(0.5, 2.0, 10))
    few = rng.multivariate_normal(np.zeros(10), target, size=6)  # fewer rows than features
    rows = held_out_prior_rows(few, target, np.full(10, 1e-6), np.random.RandomState(RND_SEED))
    assert rows > len(few)  # the prior outweighs six rows in ten dimensions
    gmm = MAPGaussianMixture(1, covariance_type="full", random_state=RND_SEED)
    gmm.prior = CovariancePrior(target=target, rows=rows, floor=np.full(10, 1e-6))
    gmm.fit(few)
    assert np.linalg.eigvalsh(gmm.covariances_[0]).min() > 0.1  # ML would have four zero eigenvalues


def test_dequantisation_floor_is_the_spacing_variance_of_discrete_features():
    rng = np.random.default_rng(RND_SEED)
    Z = np.column_stack([rng.integers(0, 2, 500), rng.integers(0, 5, 500) * 0.5, rng.normal(size=500)])
    floor = dequantisation_floor(Z)
    np.testing.assert_allclose(floor[:2], [1 / 12, 0.25 / 12])
    assert floor[2] < 1e-6


def test_one_hot_column_constant_within_a_class_keeps_its_spacing_variance():
    rng = np.random.default_rng(RND_SEED)
    n = 400
    onehot = (rng.random(n) < 0.3).astype(float)
    X = np.column_stack([rng.normal(size=n), onehot])
    y = np.r_[np.zeros(n - 30, int), np.ones(30, int)]
    X[y == 1, 1] = 0.0  # the category never occurs in the minority
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = GMMClassifier(feature_transform=None, prior_rows="auto", covariance_type="full", random_state=RND_SEED).fit(
            X, y
        )
    variances = np.concatenate([np.diagonal(g.covariances_, axis1=1, axis2=2)[:, 1] for g in m.gmms_])
    assert variances.min() >= 1 / 12 * (1 - 1e-9)
    np.testing.assert_allclose(m.variance_floor_[:, 1], 1 / 12 + 1e-6 * X[:, 1].var(), rtol=1e-9)
    assert np.all(np.isfinite(m.predict_proba(X)))


def test_prior_rows_zero_is_maximum_likelihood_and_a_number_is_used_for_every_class():
    X, y = _imbalanced()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ml = GMMClassifier(
            feature_transform=None, prior_rows=0, reg_covar=0.0, covariance_type="full", n_components=1
        ).fit(X, y)
        fixed = GMMClassifier(feature_transform=None, prior_rows=12.5, covariance_type="full", n_components=1).fit(X, y)
    np.testing.assert_array_equal(ml.prior_rows_, [0.0, 0.0])
    np.testing.assert_allclose(ml.gmms_[0].covariances_[0], np.cov(X[y == 0], rowvar=False, bias=True), rtol=1e-4)
    np.testing.assert_array_equal(fixed.prior_rows_, [12.5, 12.5])


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "strong"])
def test_prior_rows_bad_value_is_refused(bad):
    X, y = _imbalanced()
    with pytest.raises(ValueError, match="prior_rows must be"):
        GMMClassifier(prior_rows=bad).fit(X, y)


def test_default_floor_is_relative_with_its_cross_validated_multiplier():
    X, y = _imbalanced()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = GMMClassifier(feature_transform=None, random_state=RND_SEED).fit(X * 1e3, y)
    d, counts = X.shape[1], np.bincount(y)
    share = (FLOOR_FOLDS - 1) / FLOOR_FOLDS  # continuous features, fitted on all rows: the folds' floor fades to 2/3
    expected = share * (m.floor_scale_ * (1 + d / counts))[:, None] * (X * 1e3).var(axis=0)
    np.testing.assert_allclose(m.variance_floor_, expected, rtol=1e-9)
    np.testing.assert_array_equal(m.prior_rows_, [0.0, 0.0])
