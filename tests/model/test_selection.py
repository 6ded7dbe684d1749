"""Tests for gmm_hub.model._selection: candidates, subsamples, fallbacks, warnings, progress."""

from __future__ import annotations

import logging
import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gmm_hub.model import _selection
from gmm_hub.model._classifier import GMMClassifier
from gmm_hub.model._floor import FLOOR_START
from gmm_hub.model._prior import (
    CovariancePrior,
)
from gmm_hub.model._selection import (
    ACCELERATED_ROWS,
    Candidate,
    _fit_one,
    _selection_rows,
    bic_score,
    candidates_for,
    fit_class_mixtures,
)

RND_SEED = 0


def _two_classes(n_major=3000, n_minor=40, n_features=4, seed=RND_SEED):
    rng = np.random.default_rng(seed)
    X = np.vstack(
        [
            np.vstack(
                [rng.normal(-2, 1, (n_major // 2, n_features)), rng.normal(2, 1, (n_major - n_major // 2, n_features))]
            ),
            rng.normal(0, 0.5, (n_minor, n_features)) + np.r_[3.0, np.zeros(n_features - 1)],
        ]
    )
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    return X, y


# ----------------------------------------------------------------- candidates_for


def test_candidates_for_enough_rows_lists_every_configuration_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = candidates_for("a", 1000, 5, "bic", 3, "auto")
    # tied with one component is the full one and is not fitted twice
    assert Candidate(1, "tied") not in found
    assert len(found) == 3 * 4 - 1
    assert {c.covariance_type for c in found} == {"full", "tied", "diag", "spherical"}


def test_candidates_for_int_components_falls_back_to_fewer_with_warning():
    # 70 rows, 30 features: full covariance affords 2 components (2 * 31 <= 70), not 3
    with pytest.warns(UserWarning, match=r"Class 'fraud' has only 70 rows for 30 features") as rec:
        found = candidates_for("fraud", 70, 30, 3, 5, "full")
    assert found == [Candidate(2, "full")]
    assert "falling back to full covariance with 2 component(s)" in str(rec[0].message)


def test_candidates_for_fewer_rows_than_features_falls_back_to_diag():
    with pytest.warns(UserWarning, match=r"Class 7 has only 10 rows for 30 features.*diag"):
        found = candidates_for(np.int64(7), 10, 30, "bic", 5, "full")
    assert found == [Candidate(k, "diag") for k in range(1, 6)]


def test_candidates_for_int_components_falls_back_to_diag_with_most_components():
    with pytest.warns(UserWarning, match=r"Class 1 has only 6 rows"):
        found = candidates_for(1, 6, 30, 4, 5, "tied")
    assert found == [Candidate(3, "diag")]


def test_candidates_for_bic_drops_infeasible_counts_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = candidates_for(0, 70, 30, "bic", 5, "full")
    assert found == [Candidate(1, "full"), Candidate(2, "full")]


# ------------------------------------------------------------------ subsampling


def test_selection_rows_keeps_small_classes_whole():
    rng = np.random.RandomState(RND_SEED)
    idx = np.arange(100, 140)
    assert np.array_equal(_selection_rows(idx, [Candidate(1, "diag")], 4, 50, rng), idx)


def test_selection_rows_subsamples_large_classes_sorted_without_repeats():
    rng = np.random.RandomState(RND_SEED)
    idx = np.arange(0, 20_000, 2)
    sub = _selection_rows(idx, [Candidate(2, "full")], 4, 500, rng)
    assert len(sub) == 500
    assert np.all(np.diff(sub) > 0)
    assert np.isin(sub, idx).all()


def test_selection_rows_never_below_what_the_largest_candidate_needs():
    rng = np.random.RandomState(RND_SEED)
    # 5 full components in 30 dimensions need 5 * 31 rows even if selection_size is 20
    sub = _selection_rows(np.arange(1000), [Candidate(5, "full")], 30, 20, rng)
    assert len(sub) == 155


def test_selection_rows_none_uses_all_rows():
    idx = np.arange(10_000)
    assert _selection_rows(idx, [Candidate(1, "full")], 4, None, np.random.RandomState(0)) is idx


def test_fit_selection_size_subsamples_large_class_only(caplog):
    X, y = _two_classes()
    with caplog.at_level(logging.INFO, logger="gmm_hub.model._selection"):
        GMMClassifier(covariance_type="diag", selection_size=300, reg_covar=0.15, random_state=RND_SEED).fit(X, y)
    text = caplog.text
    assert re.search(r"class 0: \d diag component\(s\) on 300 of 3000 rows", text)
    assert re.search(r"class 1: \d diag component\(s\) on 40 of 40 rows", text)
    # class 0 is refitted on more rows than it was selected on; class 1 already used all of its own
    refit = re.search(r"class 0: refitted \d diag component\(s\) on (\d+) of 3000 rows", text)
    assert refit and int(refit.group(1)) > 300
    assert "class 1: refitted" not in text


def test_fit_class_whose_floor_changed_is_refitted_under_it(caplog):
    X, y = _two_classes()
    with caplog.at_level(logging.INFO, logger="gmm_hub.model._selection"):
        model = GMMClassifier(covariance_type="diag", selection_size=300, random_state=RND_SEED).fit(X, y)
    assert model.floor_scale_[1] != FLOOR_START  # the cross-validation moved the minority's floor
    assert "class 1: refitted 1 diag component(s) on 40 of 40 rows" in caplog.text
    # the new floor shows in the minority's fitted variances: they move with it, away from the selection fit's
    held = GMMClassifier(covariance_type="diag", selection_size=300, reg_covar=FLOOR_START, random_state=RND_SEED)
    moved = model.gmms_[1].covariances_.min() - held.fit(X, y).gmms_[1].covariances_.min()
    assert np.sign(moved) == np.sign(model.floor_scale_[1] - FLOOR_START) and abs(moved) > 1e-3


# ------------------------------------------------------------- singular / converge


def _no_prior(d: int) -> CovariancePrior:
    return CovariancePrior(target=np.zeros((d, d)), rows=0.0, floor=np.zeros(d))


def test_fit_one_singular_covariance_retries_with_larger_floor():
    rng = np.random.default_rng(RND_SEED)
    X = np.column_stack([rng.normal(size=200), np.zeros(200)])  # constant feature
    params = {"random_state": 0}
    fit = _fit_one(X, Candidate(1, "full"), params, {}, _no_prior(2))
    np.testing.assert_allclose(fit.gmm.covariances_[0, 1, 1], 1e-6)
    assert np.isfinite(fit.bic)
    messages = [str(w.message) for w in fit.caught]
    assert any("singular covariance" in m and "extra variance floor of 1e-06" in m for m in messages)


def test_fit_fewer_rows_than_features_full_covariance_falls_back_not_crash():
    rng = np.random.default_rng(RND_SEED)
    X = np.vstack([rng.normal(size=(400, 30)), rng.normal(1.0, 1.0, size=(12, 30))])
    y = np.r_[np.zeros(400, int), np.ones(12, int)]
    model = GMMClassifier(covariance_type="full", reg_covar=0.0, random_state=RND_SEED)
    with pytest.warns(UserWarning, match=r"Class 1 has only 12 rows for 30 features"):
        model.fit(X, y)
    assert model.covariance_types_ == ["full", "diag"]
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba))
    assert model.score(X, y) > 0.9


def test_fit_not_converging_warns_with_class_and_returns_usable_model():
    X, y = _two_classes()
    model = GMMClassifier(n_components=3, covariance_type="full", max_iter=1, tol=0.0, random_state=RND_SEED)
    with pytest.warns(ConvergenceWarning) as rec:
        model.fit(X, y)
    messages = [str(w.message) for w in rec if w.category is ConvergenceWarning]
    assert any(m.startswith("Class 0 (3000 rows, 3 full component(s)): ") for m in messages)
    assert any(m.startswith("Class 1 (40 rows, 3 full component(s)): ") for m in messages)
    assert not model.converged_.any()
    assert np.all(np.isfinite(model.predict_proba(X)))
    assert model.score(X, y) > 0.9


# ------------------------------------------------------------------- progress


def test_fit_progress_logged_per_candidate_at_info(caplog):
    X, y = _two_classes()
    with caplog.at_level(logging.INFO, logger="gmm_hub.model._selection"):
        GMMClassifier(max_components=2, covariance_type="diag", random_state=RND_SEED).fit(X, y)
    done = [r.getMessage() for r in caplog.records if re.search(r"\[\d/4\]$", r.getMessage())]
    assert len(done) == 4  # 2 classes x 2 candidates
    assert all("BIC" in m for m in done)
    assert sum("chose" in r.getMessage() for r in caplog.records) == 2


def test_fit_verbose_shows_a_progress_bar(capsys):
    X, y = _two_classes()
    GMMClassifier(max_components=2, covariance_type="diag", random_state=RND_SEED, verbose=2).fit(X, y)
    assert "GMMClassifier fit" in capsys.readouterr().err
    GMMClassifier(max_components=2, covariance_type="diag", random_state=RND_SEED).fit(X, y)
    assert "GMMClassifier fit" not in capsys.readouterr().err


# -------------------------------------------------------------------- parallel


def test_fit_class_mixtures_n_jobs_2_equals_n_jobs_1():
    X, y = _two_classes()
    kwargs = {
        "n_components": "bic",
        "max_components": 3,
        "covariance_type": "auto",
        "selection_size": 500,
        "gmm_params": {"n_init": 1, "max_iter": 100, "tol": 1e-3},
        "priors": [CovariancePrior(target=np.eye(X.shape[1]), rows=5.0, floor=np.full(X.shape[1], 1e-2))] * 2,
    }
    one = fit_class_mixtures(X, y, np.array([0, 1]), rng=np.random.RandomState(3), n_jobs=1, **kwargs)
    two = fit_class_mixtures(X, y, np.array([0, 1]), rng=np.random.RandomState(3), n_jobs=2, **kwargs)
    for a, b in zip(one, two, strict=True):
        assert (a.n_components, a.covariance_type) == (b.n_components, b.covariance_type)
        np.testing.assert_allclose(a.means_, b.means_, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(a.weights_, b.weights_, rtol=1e-6, atol=1e-8)


def test_large_classes_are_selected_with_squarem_and_rare_ones_without(monkeypatch):
    X, y = _two_classes(n_major=ACCELERATED_ROWS + 500, n_minor=60)
    seen = []
    real = _selection._fit_one

    def recording(X, candidate, params, init, prior, *args, **kwargs):
        seen.append((len(X), bool(init), kwargs.get("accelerated", False)))
        return real(X, candidate, params, init, prior, *args, **kwargs)

    monkeypatch.setattr(_selection, "_fit_one", recording)
    GMMClassifier(max_components=2, selection_size=None, reg_covar=0.15, random_state=RND_SEED).fit(X, y)
    fresh = [(n, fast) for n, warm, fast in seen if not warm]  # the candidates and the whitened restarts
    assert {fast for n, fast in fresh if n == ACCELERATED_ROWS + 500} == {True}
    assert {fast for n, fast in fresh if n == 60} == {False}
    assert len(fresh) > 2 * len(_selection.COVARIANCE_TYPES)


def _thin_component(seed, n=3000, d=8):
    """Two wide clusters, one with an eighth of the rows shifted in a thin direction (sd 0.1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.r_[0.1, np.full(d - 1, 2.0)]
    X[: n // 2, 1] += 12.0
    X[: n // 8, 0] += 1.0
    return X


def test_the_winner_restarted_from_whitened_kmeans_finds_a_thin_component(caplog):
    # k-means on the raw rows splits a wide cluster and EM stays there at some of these seeds;
    # the whitened start sees the thin shift, and the better of the two fits is kept
    d = 8
    kwargs = {
        "n_components": 3,
        "max_components": 3,
        "covariance_type": "full",
        "selection_size": None,
        "gmm_params": {"n_init": 1, "max_iter": 100, "tol": 1e-3},
        "priors": [_no_prior(d)],
        "n_jobs": 1,
    }
    plain_missed = 0
    for seed in range(4):
        X = _thin_component(seed, d=d)
        with caplog.at_level(logging.INFO, logger="gmm_hub.model._selection"):
            (gmm,) = fit_class_mixtures(
                X, np.zeros(len(X), int), np.array([0]), rng=np.random.RandomState(seed), **kwargs
            )
        assert "restarted from whitened k-means" in caplog.text
        thin = np.argmax(gmm.means_[:, 0])
        assert gmm.means_[thin, 0] == pytest.approx(1.0, abs=0.05), seed
        assert gmm.weights_[thin] == pytest.approx(1 / 8, abs=0.02), seed
        # the plain start alone (the class's seed, as fit_class_mixtures draws it): never better
        seed_i = np.random.RandomState(seed).randint(np.iinfo(np.int32).max, size=1)[0]
        plain = _fit_one(X, Candidate(3, "full"), {"random_state": seed_i}, {}, _no_prior(d)).gmm
        assert gmm.score(X) >= plain.score(X) - 1e-9
        plain_missed += bool(plain.means_[:, 0].max() < 0.5)
    assert plain_missed > 0  # so the restart, not luck, found the component


# ------------------------------------------------------------------ criterion


def test_bic_score_without_prior_or_subsample_is_scikit_learns_bic():
    X, _ = _two_classes()
    for kind in ("full", "tied", "diag", "spherical"):
        fit = _fit_one(X, Candidate(2, kind), {"random_state": 0}, {}, _no_prior(X.shape[1]))
        np.testing.assert_allclose(fit.bic, fit.gmm.bic(X), rtol=1e-10)


def test_bic_score_on_a_subsample_estimates_the_whole_class_criterion():
    # the same mixture scored as a subsample of 10x the rows: the log-likelihood scales up, less its optimism
    X, _ = _two_classes()
    fit = _fit_one(X, Candidate(2, "full"), {"random_state": 0}, {}, _no_prior(X.shape[1]))
    n, d = X.shape
    p = 2 * d * (d + 1) / 2 + 2 * d + 1
    expected = -2 * (10 * n * fit.gmm.score(X) - p * 9 / 2) + p * np.log(10 * n)
    np.testing.assert_allclose(bic_score(fit.gmm, X, 10 * n), expected, rtol=1e-12)
    assert bic_score(fit.gmm, X, n) == pytest.approx(fit.gmm.bic(X), rel=1e-10)


def test_shared_kmeans_starts_give_the_unshared_fits_bit_for_bit(monkeypatch):
    # a class's candidates of one size share their k-means starts: one run per start, same fits
    import pickle

    from gmm_hub.model import _em

    runs = []

    class CountingKMeans(_em.KMeans):
        def fit(self, X, y=None, sample_weight=None):
            runs.append(self.n_clusters)
            return super().fit(X, y, sample_weight)

    monkeypatch.setattr(_em, "KMeans", CountingKMeans)
    X, _ = _two_classes(n_major=600)
    starts = _em.SharedKMeans()
    params = {"random_state": 7, "n_init": 2}
    for kind in ("full", "tied", "diag", "spherical"):
        shared = _fit_one(X, Candidate(3, kind), params, {}, _no_prior(X.shape[1]), kmeans=starts).gmm
        alone = _fit_one(X, Candidate(3, kind), params, {}, _no_prior(X.shape[1])).gmm
        for name in ("weights_", "means_", "precisions_cholesky_", "lower_bound_", "n_iter_"):
            np.testing.assert_array_equal(getattr(shared, name), getattr(alone, name), err_msg=f"{kind} {name}")
    assert runs == [3, 3]  # two initialisations, each run once for the four covariance types
    assert pickle.loads(pickle.dumps(starts))._runs == {}  # worker processes start their own
