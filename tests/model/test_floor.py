"""The covariance floor chosen by the cross-validated balanced Brier score."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from gmm_hub import GMMClassifier
from gmm_hub.model._floor import FLOOR_FOLDS, FLOOR_GRID, FLOOR_SHAPES, FLOOR_START, fading
from gmm_hub.model._selection import REFIT_EXCESS_NATS, n_parameters

RND_SEED = 0
#: A class fitted on all its rows had (folds - 1) / folds of them in each fold's fit.
FOLD_SHARE = (FLOOR_FOLDS - 1) / FLOOR_FOLDS


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
    # every multiplier in both shapes, the numerical-only one (where the shape makes no difference) once
    assert m.floor_losses_.shape == (2 * len(FLOOR_GRID) - 1,) and np.isfinite(m.floor_losses_).all()
    assert m.floor_scale_.shape == (2,) and set(m.floor_scale_) <= set(FLOOR_GRID)
    assert m.floor_shape_.shape == (2,) and set(m.floor_shape_) <= set(FLOOR_SHAPES)
    assert set(m.fit_seconds_) >= {"floor", "selection", "refit"}


def _shared_shape(n_major: int, n_minor: int, rows_seed: int = RND_SEED, d: int = 8):
    """Classes of one strongly correlated shape (variances 1 to 1e-4), the minority shifted along a thin direction."""
    basis = np.linalg.qr(np.random.default_rng(RND_SEED).normal(size=(d, d)))[0]
    mixing = basis * np.sqrt(np.geomspace(1.0, 1e-4, d))
    X = np.random.default_rng(rows_seed).normal(size=(n_major + n_minor, d)) @ mixing.T
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    X[y == 1] += 2.5 * mixing[:, d - 2]  # 2.5 sds along the second-thinnest direction
    return X, y


def test_a_minority_of_the_majoritys_shape_gets_a_floor_spread_like_it():
    # twelve rows in eight dimensions need a strong floor; on the diagonal it swamps the thin
    # directions the minority is told apart in, spread like the pooled correlation it keeps them
    X, y = _shared_shape(2000, 12)
    X_te, y_te = _shared_shape(4000, 400, rows_seed=RND_SEED + 1)
    auto, diagonal = _fit(X, y, feature_transform=None), _fit(X, y, feature_transform=None, floor_shape="diagonal")
    assert auto.floor_shape_[1] == "pooled" and auto.floor_scale_[1] > FLOOR_GRID[0]
    assert set(diagonal.floor_shape_) == {"diagonal"}
    ba = [balanced_accuracy_score(y_te, m.predict(X_te)) for m in (auto, diagonal)]
    assert ba[0] > ba[1] + 0.05


def test_a_fixed_shape_is_cross_validated_over_the_multipliers_alone():
    X, y = _thin(300)
    for shape in FLOOR_SHAPES:
        m = _fit(X, y, floor_shape=shape)
        assert set(m.floor_shape_) == {shape} and m.floor_losses_.shape == (len(FLOOR_GRID),)
    fixed = _fit(X, y, reg_covar=0.2, floor_shape="diagonal")
    np.testing.assert_array_equal(fixed.floor_shape_, ["diagonal", "diagonal"])


def test_a_pooled_floor_adds_the_pooled_correlation_scaled_by_each_features_floor():
    # one Gaussian per class, fitted on all its rows: its covariance is the class's scatter plus the floor matrix
    from gmm_hub.model._prior import pooled_correlation

    X, y = _shared_shape(400, 40)
    m = _fit(X, y, feature_transform=None, n_components=1, covariance_type="full", reg_covar=0.1, floor_shape="pooled")
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    corr = pooled_correlation(Z, y, 2)
    for k in range(2):
        root = np.sqrt(m.variance_floor_[k])
        rows = X[y == k]
        expected = np.cov(rows, rowvar=False, bias=True) + root[:, None] * corr * root[None, :]
        np.testing.assert_allclose(m.gmms_[k].covariances_[0], expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("bad", ["round", None, 1.0])
def test_floor_shape_bad_value_is_refused(bad):
    X, y = _thin(50)
    with pytest.raises(ValueError, match="floor_shape must be"):
        GMMClassifier(floor_shape=bad).fit(X, y)


def test_floor_fades_where_the_signal_lives_in_thin_directions():
    # a floor of 0.15 of each feature's variance would swamp the separating direction
    X, y = _thin(2000)
    m = _fit(X, y, feature_transform=None)
    rng = np.random.default_rng(RND_SEED)
    thin = np.linalg.qr(rng.normal(size=(4, 4)))[0][:, 3]  # _thin's separating direction (unit length)
    for k, gmm in enumerate(m.gmms_):  # each mixture's variance along it is the class's, not the floor's
        spread = gmm.covariances_ if gmm.covariance_type == "full" else np.diag(gmm.covariances_[0])[None]
        second = np.einsum("j,jde->de", gmm.weights_, spread + np.einsum("jd,je->jde", gmm.means_, gmm.means_))
        mean = gmm.weights_ @ gmm.means_
        variance = thin @ (second - np.outer(mean, mean)) @ thin
        assert variance == pytest.approx(np.var(X[y == k] @ thin), rel=0.1)
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
    # breast cancer folds pick floors of 0.5; a search under them would choose spherical mixtures: the
    # configuration is the one selected under the start floor, refitted under the chosen one
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    chosen, start = _fit(X, y), _fit(X, y, reg_covar=FLOOR_START)  # the floor it is selected under
    assert chosen.n_components_ == start.n_components_
    assert chosen.covariance_types_ == start.covariance_types_
    d, counts = X.shape[1], np.bincount(y)
    variance = chosen._to_model_units(X).var(axis=0)  # the floor is relative to the features the mixtures see
    for k, gmm in enumerate(chosen.gmms_):  # refitted with the chosen floor
        folds_floor = chosen.floor_scale_[k] * (1 + d / counts[k]) * variance
        # fitted on all its rows, a third more than each fold's: continuous features keep 2/3 of it
        kept = chosen.variance_floor_[k] / folds_floor
        assert np.all(np.isclose(kept, FOLD_SHARE, rtol=1e-9) | np.isclose(kept, 1.0, rtol=1e-9))
        assert np.isclose(kept, FOLD_SHARE, rtol=1e-9).mean() > 0.5
        floor = chosen.variance_floor_[k]
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


def test_a_large_separated_class_gets_its_maximum_likelihood_fit():
    # separated classes with a thin direction: any floor classifies them, only a weak one fits them
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(RND_SEED)
    mixing = np.linalg.qr(rng.normal(size=(5, 5)))[0] * [1.0, 1.0, 0.5, 0.1, 0.02]
    X = rng.normal(size=(8000, 5)) @ mixing.T
    y = np.r_[np.zeros(6000, int), np.ones(2000, int)]
    X[y == 1] += 3.0
    train = rng.permutation(len(y)) < 6000
    m = _fit(X[train], y[train], feature_transform=None)
    ours = m.class_log_likelihood(X[~train])[y[~train] == 0, 0].mean()
    ml = GaussianMixture(1, random_state=RND_SEED).fit(X[train & (y == 0)]).score(X[~train & (y == 0)])
    assert m.floor_scale_[0] <= 1e-3
    assert abs(ours - ml) <= 0.01 * abs(ml)


def test_a_continuous_floor_fades_as_a_fixed_prior_would_and_a_quantised_one_stays():
    rng = np.random.default_rng(RND_SEED)
    Z = np.column_stack([rng.normal(size=3000), rng.integers(0, 5, size=3000).astype(float)])
    y_index = np.r_[np.zeros(2000, int), np.ones(1000, int)]
    chosen_at = np.array([400.0, 200.0])
    keep = fading(chosen_at, chosen_at, Z, y_index, None)
    np.testing.assert_array_equal(keep, 1.0)  # on the folds' rows: all of it
    keep = fading(chosen_at, 10 * chosen_at, Z, y_index, None)
    np.testing.assert_allclose(keep[:, 0], 0.1)  # ten times the rows: a tenth (1 / n)
    np.testing.assert_array_equal(keep[:, 1], 1.0)  # five values: the floor spreads them, it never fades
    np.testing.assert_array_equal(fading(chosen_at, chosen_at / 2, Z, y_index, None), 1.0)  # never stronger


def test_the_final_floor_is_the_folds_choice_scaled_to_the_final_fits_rows():
    X, y = _thin(3000)
    X = np.column_stack([X, np.random.default_rng(RND_SEED).integers(0, 3, size=len(y))])  # a quantised column
    m = _fit(X, y, selection_size=600, feature_transform=None)
    need = np.array([np.ceil(n_parameters(g) / (2 * REFIT_EXCESS_NATS)) for g in m.gmms_])
    fit_rows = np.clip(need, 600, 3000)  # the refit's rows: enough for the estimate, never below the selection's
    assert np.all(fit_rows > 600)
    d = X.shape[1]
    variance = m._to_model_units(X).var(axis=0)
    for k in range(2):
        full = m.floor_scale_[k] * (1 + d / 3000) * variance  # the folds' floor at the class's size
        keep = m.variance_floor_[k] / full
        np.testing.assert_allclose(keep[:4], FOLD_SHARE * 600 / fit_rows[k], rtol=1e-9)
        np.testing.assert_allclose(keep[4], 1.0, rtol=1e-9)


def _fold_fits(X, y, monkeypatch):
    """Every fold fit of the floor's cross-validation: (components, training rows, scored rows)."""
    from gmm_hub.model import _floor

    seen = []
    real = _floor._held_out

    def spy(gmm, prior, train, test):
        seen.append((gmm.n_components, train, test))
        return real(gmm, prior, train, test)

    monkeypatch.setattr(_floor, "_held_out", spy)
    model = _fit(X, y, n_components=1, covariance_type="full", selection_size=1000)
    return model, seen


@pytest.mark.parametrize(("n_major", "n_minor", "major_fits"), [(1500, 60, 1), (300, 200, FLOOR_FOLDS)])
def test_a_large_class_is_refitted_on_one_fold_and_scores_only_rows_it_never_saw(
    n_major, n_minor, major_fits, monkeypatch
):
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(n_major + n_minor, 3))
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    X[y == 1] += 1.5
    model, seen = _fold_fits(X, y, monkeypatch)
    n_options = len(model.floor_losses_)
    assert np.isfinite(model.floor_losses_).all()  # every scored row has every class's score
    big = [s for s in seen if s[1].mean() < 0]  # the majority's fits (standardised, it lies below the minority)
    assert len(big) == major_fits * n_options
    assert len(seen) - len(big) == FLOOR_FOLDS * n_options  # the smallest class: every fold
    for _, train, test in seen:  # continuous rows: a scored row equal to a training row would be a leak
        assert not (test[:, None, :] == train[None, :, :]).all(axis=2).any()


def _brier(held_out, log_prior, ys, choice):
    """The balanced Brier score of one choice of options, written out."""
    from scipy.special import logsumexp

    n_classes = held_out.shape[1]
    jll = held_out[list(choice), np.arange(n_classes)].T + log_prior
    with np.errstate(invalid="ignore"):
        post = np.exp(jll - logsumexp(jll, axis=1, keepdims=True))
    brier = ((post - np.eye(n_classes)[ys]) ** 2).sum(axis=1)
    value = np.mean([brier[ys == k].mean() for k in range(n_classes)])
    return value if np.isfinite(value) else np.inf


def _option_losses(held_out, log_prior, ys, choice, k):
    from gmm_hub.model._floor import _balanced, _option_briers

    return _balanced(_option_briers(held_out, log_prior, ys, choice, k), ys, held_out.shape[1])


@pytest.mark.parametrize("seed", range(4))
def test_two_class_pair_losses_equal_the_loss_of_each_pair_and_pick_the_first_minimum(seed):
    from itertools import product

    rng = np.random.default_rng(seed)
    options, n = 6, 300
    ys = (rng.random(n) < 0.1).astype(int)
    held_out = rng.normal(-20, 3, size=(options, 2, n))
    held_out[3] = held_out[1]  # equal options: equal losses, the earlier pair wins
    held_out[4, 1, np.flatnonzero(ys == 1)[:3]] = -np.inf  # no density for rows of its own class: a sure miss, 2
    held_out[5, :, np.flatnonzero(ys == 0)[:2]] = -np.inf  # rows no class can score: no posterior at all
    log_prior = np.log([0.5, 0.5])

    def reference(choice):
        return _brier(held_out, log_prior, ys, choice)

    pairs = np.vstack([_option_losses(held_out, log_prior, ys, (i, 0), 1) for i in range(options)])
    expected = np.array([[reference((i, j)) for j in range(options)] for i in range(options)])
    np.testing.assert_allclose(pairs, expected, rtol=1e-13)
    assert np.isinf(pairs[5, 5]) and np.isfinite(np.delete(pairs.ravel(), 5 * options + 5)).all()
    assert np.unravel_index(int(np.argmin(pairs)), pairs.shape) == min(product(range(options), repeat=2), key=reference)


@pytest.mark.parametrize("seed", range(3))
def test_each_classs_option_losses_equal_the_loss_of_each_choice(seed):
    rng = np.random.default_rng(seed)
    options, n_classes, n = 5, 4, 400
    ys = rng.integers(0, n_classes, size=n)
    held_out = rng.normal(-20, 4, size=(options, n_classes, n))
    held_out[2, 1, np.flatnonzero(ys == 1)[:2]] = -np.inf  # a class with no density for some of its rows
    log_prior = np.log(rng.dirichlet(np.ones(n_classes)))
    choice = tuple(rng.integers(0, options, size=n_classes))
    for k in range(n_classes):
        expected = [_brier(held_out, log_prior, ys, (*choice[:k], i, *choice[k + 1 :])) for i in range(options)]
        np.testing.assert_allclose(_option_losses(held_out, log_prior, ys, choice, k), expected, rtol=1e-12)


def _paired_standard_error(briers, ys, best):
    """The standard error of each option's balanced excess over option ``best``, written out."""
    classes = np.unique(ys)
    excess = briers - briers[best]
    return np.array(
        [np.sqrt(sum(np.var(e[ys == c], ddof=1) / (ys == c).sum() for c in classes)) / len(classes) for e in excess]
    )


@pytest.mark.parametrize("seed", range(5))
def test_the_choice_is_within_one_standard_error_of_the_best_and_the_likeliest_there(seed):
    from gmm_hub.model._floor import _balanced, _choose

    rng = np.random.default_rng(seed)
    options, n = 8, 400
    ys = rng.integers(0, 3, size=n)
    base = rng.random(n) * 0.3
    briers = np.clip(base + rng.normal(0, 0.05, size=(options, n)) + rng.random((options, 1)) * 0.02, 0, 2)
    likelihood = rng.normal(size=options)
    pick = _choose(briers, ys, 3, likelihood)
    loss = _balanced(briers, ys, 3)
    best = int(np.argmin(loss))
    near = loss - loss[best] <= _paired_standard_error(briers, ys, best)
    assert near[pick] and likelihood[pick] == likelihood[near].max()


def test_an_option_that_classifies_worse_beyond_the_noise_loses_whatever_its_likelihood():
    from gmm_hub.model._floor import _choose

    rng = np.random.default_rng(0)
    n = 500
    ys = (rng.random(n) < 0.2).astype(int)
    good = rng.random(n) * 0.1
    briers = np.vstack([good + 0.3, good])  # option 0 misclassifies every row a little more
    assert _choose(briers, ys, 2, np.array([0.0, -100.0])) == 1


def test_scores_that_differ_by_rounding_are_a_tie_the_likelihood_breaks():
    from gmm_hub.model._floor import _choose

    # every option classifies every row perfectly; the scores differ only by the tails of the posteriors
    ys = np.r_[np.zeros(300, int), np.ones(20, int)]
    briers = np.full((4, len(ys)), 1e-30)
    briers[0, 5] = 1e-22  # one row carries each of these excesses: exactly one standard error, a tie
    briers[2, 301] = 1e-11
    briers[3, [3, 7, 301]] = 1e-11  # three rows that agree are evidence, beyond one standard error
    assert _choose(briers, ys, 2, np.array([-3.0, -5.0, -2.0, -1.0])) == 2
    assert _choose(briers, ys, 2, np.array([-3.0, -5.0, -4.0, -1.0])) == 0
    # no likelihood to break the tie with: the lowest score among the options that tie
    assert _choose(briers, ys, 2, np.full(4, np.nan)) == 1
    assert _choose(briers, ys, 2, np.zeros(4)) == 1


@pytest.mark.parametrize("subsampled", [False, True])
def test_a_class_beside_a_subsampled_class_is_not_decided_by_its_density(monkeypatch, subsampled):
    from gmm_hub.model import _floor

    seen = []
    real = _floor._choose

    def spy(briers, ys, n_classes, likelihood):
        seen.append(likelihood)
        return real(briers, ys, n_classes, likelihood)

    monkeypatch.setattr(_floor, "_choose", spy)
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(1260, 3))
    y = np.r_[np.zeros(1200, int), np.ones(60, int)]
    X[y == 1] += 2.0
    _fit(X, y, n_components=1, covariance_type="full", selection_size=600 if subsampled else None)
    (likelihood,) = seen  # two classes: one choice among the 121 pairs (class 0's option, class 1's)
    pairs = likelihood.reshape(11, 11)
    # the majority's density decides either way; the minority's only where the folds score all the majority's
    # rows (beside a subsampled majority its false alarms among the unscored rows go unseen)
    assert np.ptp(pairs[:, 0]) > 0
    assert (np.ptp(pairs[0]) == 0) == subsampled


def test_admissible_options_are_those_within_one_standard_error_of_the_likeliest():
    from gmm_hub.model._floor import _admissible

    rng = np.random.default_rng(RND_SEED)
    best = rng.normal(size=400)
    noise = rng.normal(scale=0.5, size=400)
    own = np.vstack(
        [
            best - 0.5,  # short by 0.5 on every row: certain, inadmissible
            best,  # the likeliest
            best + noise - noise.mean() - 0.001,  # short by far less than the noise: a tie
            best + noise - noise.mean() - 0.5,  # short by 0.5 against a standard error of 0.025
            np.r_[best[:-1], -np.inf],  # one row it gives no density
        ]
    )
    np.testing.assert_array_equal(_admissible(own), [False, True, True, False, False])
    # the likeliest is always admissible, even where nothing else has a finite likelihood
    np.testing.assert_array_equal(_admissible(np.vstack([np.full(5, -np.inf), np.zeros(5)])), [False, True])
    np.testing.assert_array_equal(_admissible(np.zeros((3, 1))), [True, True, True])  # one row: no noise to judge


def test_a_class_its_rows_determine_keeps_a_floor_admissible_for_them_and_a_dozen_rows_are_not_held(monkeypatch):
    from gmm_hub.model import _floor

    seen, passed = [], []
    real, choose = _floor._admissible, _floor._choose
    monkeypatch.setattr(_floor, "_admissible", lambda own: seen.append(real(own)) or seen[-1])
    monkeypatch.setattr(_floor, "_choose", lambda briers, *a: passed.append(briers) or choose(briers, *a))
    rng = np.random.default_rng(RND_SEED)
    mixing = np.linalg.qr(rng.normal(size=(10, 10)))[0] * np.logspace(0, np.log10(0.02), 10)
    centres = rng.normal(scale=2.0, size=(3, 10))
    latent = np.vstack(
        [centres[rng.integers(0, 3, 3000)] + rng.normal(size=(3000, 10)), rng.normal(3.0, size=(12, 10))]
    )
    X, y = latent @ mixing.T, np.r_[np.zeros(3000, int), np.ones(12, int)]
    m = _fit(X, y)
    options = [(c, s) for s in FLOOR_SHAPES for c in FLOOR_GRID if s == FLOOR_SHAPES[0] or c > FLOOR_GRID[0]]
    allowed = np.array(seen).T  # (options, classes), before the exemptions
    majority = allowed[:, 0]
    assert not majority.all()  # the rule binds: 2,000 rows per fold determine the majority's mixture
    assert majority[options.index((m.floor_scale_[0], m.floor_shape_[0]))]
    # the minority's 8 rows per fold are fewer than its mixture's parameters: every option stays open to it
    withheld = np.isnan(passed[0]).all(axis=1).reshape(len(options), len(options))
    np.testing.assert_array_equal(withheld, np.repeat(~majority[:, None], len(options), axis=1))


def test_a_class_with_a_discrete_feature_is_not_held_to_its_density(monkeypatch):
    from gmm_hub.model import _floor

    seen = []
    real = _floor._choose
    monkeypatch.setattr(_floor, "_choose", lambda briers, *a: seen.append(briers) or real(briers, *a))
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(1500, 3))
    X[:, 2] = rng.integers(0, 3, size=1500)  # three values: its held-out likelihood rewards spikes
    y = np.r_[np.zeros(1400, int), np.ones(100, int)]
    X[y == 1, :2] += 1.5
    _fit(X, y, n_components=1)
    (pairs,) = seen
    assert np.isfinite(pairs).all()  # no option withheld from either class
    seen.clear()
    _fit(X[:, :2], y, n_components=1)  # continuous features only: the density rule applies
    assert np.isnan(seen[0]).all(axis=1).any()
