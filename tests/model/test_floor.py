"""The covariance floor chosen by cross-validated balanced log-loss."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gmm_hub import GMMClassifier
from gmm_hub.model._floor import FLOOR_GRID

RND_SEED = 0


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GMMClassifier(random_state=RND_SEED, **params).fit(X, y)


def _thin(n: int, seed: int = RND_SEED):
    """Two large Gaussian classes told apart only along a direction of tiny variance."""
    rng = np.random.default_rng(seed)
    mixing = np.linalg.qr(rng.normal(size=(4, 4)))[0] * [1.0, 1.0, 1.0, 0.01]
    X = rng.normal(size=(2 * n, 4)) @ mixing.T
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    X[y == 1] += 0.03 * mixing[:, 3] / np.linalg.norm(mixing[:, 3])  # three thin-direction sds apart
    return X, y


def test_chosen_multipliers_are_on_the_grid_and_recorded():
    X, y = _thin(600)
    m = _fit(X, y)
    assert m.floor_losses_.shape == (len(FLOOR_GRID),) and np.isfinite(m.floor_losses_).all()
    assert m.floor_scale_.shape == (2,) and set(m.floor_scale_) <= set(FLOOR_GRID)
    assert set(m.fit_seconds_) >= {"floor", "selection", "refit"}


def test_floor_fades_where_the_signal_lives_in_thin_directions():
    # a floor of 0.15 of each feature's variance would swamp the separating direction
    X, y = _thin(2000)
    m = _fit(X, y, feature_transform=None)
    assert np.all(m.floor_scale_ <= 1e-3)
    assert (m.predict(X) == y).mean() > 0.9


def test_floor_stays_where_few_rows_of_discrete_features_overlap():
    rng = np.random.default_rng(RND_SEED)
    n0, n1 = 300, 12
    X = np.vstack([rng.poisson(2.0, size=(n0, 6)), rng.poisson(2.6, size=(n1, 6))]).astype(float)
    y = np.r_[np.zeros(n0, int), np.ones(n1, int)]
    m = _fit(X, y)
    assert m.floor_scale_[1] >= 0.05  # integer counts: an unsmoothed density would sit on spikes


def test_floor_choice_is_reproducible_and_a_number_turns_it_off():
    X, y = _thin(300)
    a, b = _fit(X, y), _fit(X, y)
    np.testing.assert_array_equal(a.floor_losses_, b.floor_losses_)
    fixed = _fit(X, y, reg_covar=0.2)
    np.testing.assert_array_equal(fixed.floor_scale_, [0.2, 0.2])
    assert fixed.floor_losses_ is None and "floor" not in fixed.fit_seconds_


@pytest.mark.parametrize("prior_rows", [5.0, "auto"])
def test_under_the_prior_the_floor_is_numerical_only(prior_rows):
    X, y = _thin(200)
    m = _fit(X, y, prior_rows=prior_rows)
    np.testing.assert_array_equal(m.floor_scale_, [1e-6, 1e-6])
    assert m.floor_losses_ is None


def test_the_configuration_cross_validated_is_the_one_kept():
    # breast cancer folds pick floors of 0.5; a search under them would choose spherical mixtures
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    chosen, start = _fit(X, y), _fit(X, y, reg_covar=0.15)
    assert chosen.n_components_ == start.n_components_
    assert chosen.covariance_types_ == start.covariance_types_
    d, counts = X.shape[1], np.bincount(y)
    variance = chosen._to_model_units(X).var(axis=0)  # the floor is relative to the features the mixtures see
    for k, gmm in enumerate(chosen.gmms_):  # refitted with the chosen floor
        floor = chosen.floor_scale_[k] * (1 + d / counts[k]) * variance
        np.testing.assert_allclose(chosen.variance_floor_[k], floor, rtol=1e-9)
        assert np.all(np.diagonal(gmm.covariances_, axis1=-2, axis2=-1) >= floor * (1 - 1e-9))


def test_four_classes_get_a_multiplier_each_by_coordinate_descent():
    rng = np.random.default_rng(RND_SEED)
    centres = np.eye(4) * 4
    sizes = [400, 200, 60, 20]
    X = np.vstack([rng.normal(size=(n, 4)) + c for n, c in zip(sizes, centres, strict=True)])
    y = np.repeat(np.arange(4), sizes)
    m = _fit(X, y, max_components=2)
    assert m.floor_scale_.shape == (4,) and set(m.floor_scale_) <= set(FLOOR_GRID)
    assert (m.predict(X) == y).mean() > 0.95
