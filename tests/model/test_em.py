"""Tests for gmm_hub.model._em: blocked EM equals scikit-learn's, at any block size and any offset."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

from gmm_hub.model import _em
from gmm_hub.model._em import (
    MAPGaussianMixture,
    Moments,
    SingularCovarianceError,
    e_step,
    precision_cholesky,
    shrunk_parameters,
    weighted_log_prob,
)
from gmm_hub.model._prior import CovariancePrior
from gmm_hub.model._selection import Candidate, _fit_one

RND_SEED = 0
TYPES = ("full", "tied", "diag", "spherical")


def _clusters(seed=RND_SEED, n=1500, d=6, k=3, offset=0.0):
    rng = np.random.default_rng(seed)
    parts = [rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 3 * rng.normal(size=d) for _ in range(k)]
    return np.vstack(parts) + offset


def _no_prior(d, floor=1e-6):
    return CovariancePrior(target=np.zeros((d, d)), rows=0.0, floor=np.full(d, floor))


@pytest.mark.parametrize(("kind", "n_init"), [(kind, 1) for kind in TYPES] + [("full", 3), ("diag", 2)])
def test_map_mixture_without_prior_is_scikit_learns_fit(kind, n_init, monkeypatch):
    # short runs as long as whole ones: every start runs to convergence, as in scikit-learn's n_init loop
    monkeypatch.setattr(_em, "SHORT_RUN_ITERATIONS", 10_000)
    X = _clusters()
    ref = GaussianMixture(3, covariance_type=kind, reg_covar=1e-6, n_init=n_init, random_state=RND_SEED).fit(X)
    ours = MAPGaussianMixture(3, covariance_type=kind, n_init=n_init, random_state=RND_SEED)
    ours.prior, ours.single_precision = _no_prior(X.shape[1]), False
    ours.fit(X)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.weights_, ref.weights_, rtol=1e-10)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=1e-10)
    assert ours._pending is None  # the last E-step's responsibilities are not kept
    np.testing.assert_array_equal(ours.fit_predict(X), ref.predict(X))  # the labels' E-step still runs


def _passes(monkeypatch) -> list[int]:
    """Count the rows of every E-step pass from now on."""
    rows: list[int] = []
    real = _em.e_step
    monkeypatch.setattr(_em, "e_step", lambda gmm, X, *a, **k: rows.append(len(X)) or real(gmm, X, *a, **k))
    return rows


@pytest.mark.parametrize("kind", ["full", "diag", "tied"])
def test_several_starts_run_the_best_short_run_to_convergence_for_fewer_passes(kind, monkeypatch):
    from gmm_hub.model._selection import warm_start

    # overlapping clusters: EM crawls, so whole runs from every start cost many passes
    X = _clusters(n=300, d=4, k=3) / 3
    prior = _no_prior(X.shape[1])

    def fitted(**params):
        gmm = MAPGaussianMixture(3, covariance_type=kind, **{"max_iter": 500, **params})
        gmm.prior, gmm.single_precision = prior, False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return gmm.fit(X)

    shared = np.random.RandomState(RND_SEED)  # the starts of one generator drawn in turn, as n_init's loop draws them
    short = [fitted(max_iter=_em.SHORT_RUN_ITERATIONS, random_state=shared) for _ in range(4)]
    best = max(short, key=lambda g: g.lower_bound_)
    reference = fitted(**warm_start(best))
    passes = _passes(monkeypatch)
    ours = fitted(n_init=4, random_state=RND_SEED)
    np.testing.assert_allclose(ours.means_, reference.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.covariances_, reference.covariances_, rtol=1e-7, atol=1e-9)
    assert ours.converged_
    assert (ours.n_init, ours.max_iter, ours.random_state, ours.warm_start) == (4, 500, RND_SEED, False)
    small_em = len(passes)
    passes.clear()
    monkeypatch.setattr(_em, "SHORT_RUN_ITERATIONS", 10_000)
    every = fitted(n_init=4, random_state=RND_SEED)  # scikit-learn's loop: every start to convergence
    assert small_em < len(passes)
    assert ours.lower_bound_ >= every.lower_bound_ - 0.05  # nats per row: the starts ranked early end alike here


def test_a_start_that_converges_within_its_short_run_is_final(monkeypatch):
    X = _clusters()  # well separated: EM converges in a few steps
    passes = _passes(monkeypatch)
    gmm = MAPGaussianMixture(3, covariance_type="full", n_init=3, random_state=RND_SEED, max_iter=200)
    gmm.prior, gmm.single_precision = _no_prior(X.shape[1]), False
    gmm.fit(X)
    ref = GaussianMixture(3, covariance_type="full", reg_covar=1e-6, n_init=3, random_state=RND_SEED).fit(X)
    assert gmm.converged_ and gmm.n_iter_ <= _em.SHORT_RUN_ITERATIONS
    np.testing.assert_allclose(gmm.means_, ref.means_, rtol=1e-9, atol=1e-12)  # the loop's best start, as is
    assert len(passes) <= 3 * _em.SHORT_RUN_ITERATIONS  # and no pass more


@pytest.mark.parametrize("kind", TYPES)
def test_fit_skips_the_e_step_for_labels_it_discards_and_fit_predict_keeps_it(kind, monkeypatch):
    X = _clusters()
    calls = []
    real = _em.e_step
    monkeypatch.setattr(_em, "e_step", lambda *a, **k: calls.append(k.get("with_moments", True)) or real(*a, **k))

    def fitted(method):
        calls.clear()
        gmm = MAPGaussianMixture(3, covariance_type=kind, random_state=RND_SEED)
        gmm.prior = _no_prior(X.shape[1])
        labels = getattr(gmm, method)(X)
        return gmm, labels, list(calls)

    gmm, _, by_fit = fitted("fit")
    again, labels, by_fit_predict = fitted("fit_predict")
    assert len(by_fit) == gmm.n_iter_ and all(by_fit)  # one E-step per iteration, each feeding an M-step
    assert by_fit_predict == [*by_fit, False]  # plus the labels' pass, which feeds none
    np.testing.assert_array_equal(gmm.means_, again.means_)
    np.testing.assert_array_equal(labels, gmm.predict(X))


def _direct_log_prob(gmm, X):
    """Weighted log-densities with the residual taken first: accurate for rows far from the origin."""
    k, d = gmm.means_.shape
    prec = gmm.precisions_cholesky_
    out = np.empty((len(X), k))
    for j in range(k):
        diff = X - gmm.means_[j]
        if gmm.covariance_type in ("full", "tied"):
            factor = prec if gmm.covariance_type == "tied" else prec[j]
            y, log_det = diff @ factor, np.log(np.diag(factor)).sum()
        else:
            scale = prec[j] if gmm.covariance_type == "diag" else np.full(d, prec[j])
            y, log_det = diff * scale, np.log(scale).sum()
        out[:, j] = -0.5 * (d * np.log(2 * np.pi) + (y**2).sum(axis=1)) + log_det + np.log(gmm.weights_[j])
    return out


@pytest.mark.parametrize("kind", TYPES)
def test_single_precision_e_steps_reach_the_double_precision_fit(kind):
    X = _clusters(n=2000)  # 6,000 rows: enough for float32 E-steps
    assert len(X) >= _em.SINGLE_PRECISION_ROWS
    fits = {}
    for single in (True, False):
        gmm = MAPGaussianMixture(3, covariance_type=kind, random_state=RND_SEED)
        gmm.prior, gmm.single_precision = _no_prior(X.shape[1]), single
        fits[single] = gmm.fit(X)
    low, high = fits[True], fits[False]
    assert _em._Projection(low, single=True, n_rows=len(X)).dtype == np.float32  # the test exercises float32
    assert abs(low.n_iter_ - high.n_iter_) <= 2
    np.testing.assert_allclose(low.score(X), high.score(X), rtol=1e-7)
    np.testing.assert_allclose(low.weights_, high.weights_, rtol=1e-4)
    np.testing.assert_allclose(low.means_, high.means_, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(low.covariances_, high.covariances_, rtol=1e-3, atol=1e-4)


def test_ill_conditioned_factors_keep_double_precision():
    rng = np.random.default_rng(RND_SEED)
    for smallest, expected in ((1e-2, np.float32), (1e-9, np.float64)):  # variance ratios 1e2 and 1e9
        X = rng.normal(size=(5000, 4)) * np.sqrt([1.0, 1.0, 1.0, smallest])
        gmm = GaussianMixture(2, covariance_type="full", reg_covar=0.0, random_state=RND_SEED).fit(X)
        assert _em._Projection(gmm, single=True, n_rows=len(X)).dtype == expected
        assert _em._Projection(gmm).dtype == np.float64  # double unless asked


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    thinnest=st.floats(0.0, 3.0),  # log10 of the widest over the thinnest direction's spread
    offset=st.sampled_from([0.0, 30.0, 1e3]),
    kind=st.sampled_from(["full", "tied"]),
)
def test_single_precision_rounding_stays_within_its_share_of_the_sampling_error(seed, thinnest, offset, kind):
    # the contract of _Projection: float32 only where a typical row's log-density moves by less than
    # SINGLE_PRECISION_SHARE of its sampling error, sqrt(n_parameters / n_rows), however far the data sit
    rng = np.random.default_rng(seed)
    d = 6
    basis = np.linalg.qr(rng.normal(size=(d, d)))[0]
    X = _clusters(seed=seed % 1000, n=1500, d=d) * 10.0 ** -np.linspace(0, thinnest, d) @ basis.T + offset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm = GaussianMixture(3, covariance_type=kind, max_iter=5, random_state=RND_SEED).fit(X)
    double, _, _ = e_step(gmm, X)
    single, _, _ = e_step(gmm, X, single=True)
    if _em._Projection(gmm, single=True, n_rows=len(X)).dtype == np.float64:
        np.testing.assert_array_equal(single, double)
        return
    share = _em.SINGLE_PRECISION_SHARE * np.sqrt(_em.count_parameters(kind, 3, d) / len(X))
    assert np.median(np.abs(single - double)) <= share


def test_single_precision_gives_way_to_double_as_the_rows_grow():
    # the more rows, the smaller the sampling error that rounding must stay under
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(5000, 4)) * np.sqrt([1.0, 1.0, 1.0, 1e-5])
    gmm = GaussianMixture(2, covariance_type="full", reg_covar=0.0, random_state=RND_SEED).fit(X)
    dtypes = [_em._Projection(gmm, single=True, n_rows=n).dtype for n in (10**3, 10**5, 10**7, 10**9)]
    assert dtypes[0] == np.float32 and dtypes[-1] == np.float64
    assert dtypes == sorted(dtypes, key=lambda t: t.itemsize)  # never back to float32


def test_stacked_products_match_per_component_residuals_far_from_the_origin():
    # x @ P - (m - c) @ P about the mixture's mean c: no cancellation beyond the components' spread
    X = _clusters(n=400)
    for kind in ("full", "tied"):
        gmm = GaussianMixture(3, covariance_type=kind, random_state=RND_SEED).fit(X)
        gmm.means_ = gmm.means_ + 1e9  # fitted near the origin, moved: scikit-learn's own fit cancels there
        far = X + 1e9
        np.testing.assert_allclose(weighted_log_prob(gmm, far), _direct_log_prob(gmm, far), rtol=0, atol=1e-8)


@pytest.mark.parametrize("kind", TYPES)
def test_warm_started_map_mixture_continues_scikit_learns_warm_start(kind):
    # scikit-learn takes a lower Cholesky factor of precisions_init; the moments need the upper one
    X = _clusters(seed=1)
    start = GaussianMixture(3, covariance_type=kind, max_iter=2, random_state=RND_SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X[:600])
    init = {"weights_init": start.weights_, "means_init": start.means_, "precisions_init": start.precisions_}
    ref = GaussianMixture(3, covariance_type=kind, reg_covar=1e-6, random_state=RND_SEED, **init).fit(X)
    ours = MAPGaussianMixture(3, covariance_type=kind, random_state=RND_SEED, **init)
    ours.prior, ours.single_precision = _no_prior(X.shape[1]), False
    ours.fit(X)
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-10)
    assert np.all(np.diff(ours.lower_bounds_) > -1e-9)  # EM without a prior never loses likelihood
    np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("kind", ["full", "tied", "diag"])
def test_a_warm_start_that_is_not_positive_definite_still_fails(kind):
    # scikit-learn's checks of the starts are skipped; the factorisation of the precisions refuses them
    X = _clusters(seed=1)
    start = GaussianMixture(3, covariance_type=kind, max_iter=2, random_state=RND_SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X)
    bad = -start.precisions_
    ours = MAPGaussianMixture(
        3, covariance_type=kind, weights_init=start.weights_, means_init=start.means_, precisions_init=bad
    )
    ours.prior = _no_prior(X.shape[1])
    with pytest.raises((np.linalg.LinAlgError, ValueError)):
        ours.fit(X)  # LinAlgError (full, tied) or SingularCovarianceError, a ValueError (diag)


@pytest.mark.parametrize("kind", TYPES)
def test_e_step_moments_give_the_m_step_of_its_responsibilities(kind):
    # thin directions and a mean far from the origin: the moments must not lose them to cancellation
    rng = np.random.default_rng(RND_SEED)
    basis = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    X = (rng.normal(size=(4000, 5)) * np.sqrt([1, 1, 1e-2, 1e-4, 1e-6])) @ basis.T + 1e3
    gmm = GaussianMixture(2, covariance_type=kind, reg_covar=1e-9, max_iter=3, random_state=RND_SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(X[:2000])  # three iterations on half the rows: not a fixed point, so the means move
    log_norm, log_resp, moments = e_step(gmm, X)
    weighted = _direct_log_prob(gmm, X)
    ref_norm = logsumexp(weighted, axis=1)
    # x @ P - mean @ P (scikit-learn's formula) cancels to about eps * |x| * |P| here
    np.testing.assert_allclose(log_norm, ref_norm, rtol=0, atol=1e-7)
    resp = np.exp(log_resp)
    np.testing.assert_allclose(resp, np.exp(weighted - ref_norm[:, None]), atol=1e-7)
    prior = _no_prior(5, floor=0.0)
    nk, means, cov = shrunk_parameters(moments, kind, prior)
    ref_nk, ref_means, ref_cov = shrunk_parameters(Moments.of(X, resp, kind in ("diag", "spherical")), kind, prior)
    np.testing.assert_allclose(nk, ref_nk, rtol=1e-12)
    np.testing.assert_allclose(means, ref_means, rtol=1e-12)
    if kind in ("full", "tied"):  # compare in the covariance's own metric: thin directions count
        stack, ref_stack = (cov, ref_cov) if kind == "full" else (cov[None], ref_cov[None])
        white = np.linalg.inv(np.linalg.cholesky(ref_stack))
        ratio = white @ stack @ np.swapaxes(white, 1, 2)
        np.testing.assert_allclose(ratio, np.broadcast_to(np.eye(5), ratio.shape), atol=1e-9)
    else:
        np.testing.assert_allclose(cov, ref_cov, rtol=1e-9)


@pytest.mark.parametrize("kind", TYPES)
def test_single_precision_moments_flush_negligible_responsibilities(kind):
    # components about 13 standard deviations apart: many responsibilities are between 0 and
    # float32's smallest normal number, flushed to zero for speed; the moments do not notice
    rng = np.random.default_rng(RND_SEED)
    X = np.vstack([rng.normal(size=(3000, 4)), rng.normal(size=(3000, 4)) + 7.5])
    gmm = GaussianMixture(2, covariance_type=kind, max_iter=2, random_state=RND_SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(X)
    resp = np.exp(_direct_log_prob(gmm, X) - logsumexp(_direct_log_prob(gmm, X), axis=1, keepdims=True))
    assert np.any((resp > 0) & (resp < np.finfo(np.float32).tiny))  # the case is exercised
    assert _em._Projection(gmm, single=True, n_rows=len(X)).dtype == np.float32
    _, _, moments = e_step(gmm, X, single=True)
    prior = _no_prior(4, floor=0.0)
    nk, means, cov = shrunk_parameters(moments, kind, prior)
    ref_nk, ref_means, ref_cov = shrunk_parameters(Moments.of(X, resp, kind in ("diag", "spherical")), kind, prior)
    np.testing.assert_allclose(nk, ref_nk, rtol=1e-12)
    np.testing.assert_allclose(means, ref_means, atol=1e-5)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-4)


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_blocks_batched_moments_equal_the_gathered_ones(dense, dtype, monkeypatch):
    # responsibilities from components far apart: most are below epsilon and must be left out of both paths
    rng = np.random.default_rng(RND_SEED)
    k, d, n = 4, 6, 300
    y = rng.normal(size=(k, d, n) if dense else (k, n, d)).astype(dtype)
    logits = 40 * rng.normal(size=(k, n))
    weights = np.exp(logits - logits.max(axis=0))
    weights = (weights / weights.sum(axis=0)).astype(dtype)
    weights[:, :5] = np.finfo(dtype).eps / 2  # below epsilon everywhere: left out
    share = np.mean(weights >= np.finfo(dtype).eps, axis=1)
    assert np.all((share > 0.2) & (share < 0.75))  # every component's rows are gathered on that path
    batched = _em._block_moments(y, weights, dense)
    monkeypatch.setattr(_em, "_BATCHED_ROWS", 0)
    gathered = _em._block_moments(y, weights, dense)
    kept = np.where(weights >= np.finfo(dtype).eps, weights, 0).astype(np.float64)
    y64 = y.astype(np.float64)
    ref_sums = np.einsum("kdn,kn->kd", y64, kept) if dense else np.einsum("knd,kn->kd", y64, kept)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for moments in (batched, gathered):
        assert moments[0].dtype == dtype and moments[1].shape == ((k, d, d) if dense else (k, d))
        np.testing.assert_allclose(moments[0], ref_sums, rtol=tol, atol=tol * np.abs(ref_sums).max())
    np.testing.assert_allclose(batched[1], gathered[1], rtol=tol, atol=tol * np.abs(gathered[1]).max())


@pytest.mark.parametrize("kind", TYPES)
def test_blocked_passes_do_not_depend_on_the_block_size(kind, monkeypatch):
    X = _clusters(n=701)  # 2,103 rows: not a multiple of any block
    gmm = GaussianMixture(3, covariance_type=kind, random_state=RND_SEED).fit(X)
    big = e_step(gmm, X)
    wide = weighted_log_prob(gmm, X)
    monkeypatch.setattr(_em, "_BLOCK_BYTES", 1)  # the smallest blocks: _MIN_BLOCK_ROWS rows
    small = e_step(gmm, X)
    np.testing.assert_allclose(small[0], big[0], rtol=1e-13)
    np.testing.assert_allclose(small[1], big[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(small[2].scatter, big[2].scatter, rtol=1e-10)
    np.testing.assert_allclose(weighted_log_prob(gmm, X), wide, rtol=1e-13)
    np.testing.assert_allclose(wide, gmm._estimate_weighted_log_prob(X), rtol=1e-10)


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("single", [False, True])
def test_threaded_passes_equal_serial_ones_bit_for_bit(kind, single, monkeypatch):
    X = _clusters(n=2000)  # 6,000 rows: float32 may run
    gmm = GaussianMixture(3, covariance_type=kind, random_state=RND_SEED).fit(X)
    monkeypatch.setattr(_em, "_BLOCK_BYTES", 8 * 3 * 6 * 200)  # 30 blocks of 200 rows
    serial = e_step(gmm, X, single=single)
    with ThreadPoolExecutor(3) as pool:
        threaded = e_step(gmm, X, single=single, pool=pool)
    for a, b in zip(serial[:2], threaded[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    for name in ("counts", "sums", "scatter"):
        np.testing.assert_array_equal(getattr(serial[2], name), getattr(threaded[2], name))


@pytest.mark.parametrize("kind", TYPES)
def test_a_fit_on_threads_is_the_fit_on_one(kind, monkeypatch):
    X = _clusters(n=2000)
    monkeypatch.setattr(_em, "_BLOCK_BYTES", 8 * 3 * 6 * 500)
    fits = []
    for threads in (1, 2):
        gmm = MAPGaussianMixture(3, covariance_type=kind, random_state=RND_SEED, n_init=2)
        gmm.prior, gmm.n_threads = _no_prior(X.shape[1]), threads
        fits.append(gmm.fit(X))
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bound_", "n_iter_"):
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
    assert fits[1]._pool is None  # the pool lives for one fit only


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(TYPES),
    centre_scale=st.sampled_from([0.0, 1.0, 1e2, 1e4]),
    seed=st.integers(0, 2**16),
)
def test_moments_about_any_centres_give_the_same_parameters(kind, centre_scale, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 4)) * rng.uniform(0.1, 3, size=4)
    resp = rng.dirichlet(np.ones(3), size=300)
    diagonal = kind in ("diag", "spherical")
    centres = rng.normal(size=(3, 4)) * centre_scale
    moved = Moments.empty(centres, diagonal)
    moved.add(X[:123], resp[:123])
    moved.add(X[123:], resp[123:])
    prior = _no_prior(4)
    got = shrunk_parameters(moved, kind, prior)
    want = shrunk_parameters(Moments.of(X, resp, diagonal), kind, prior)
    # about far centres the sums cancel: precision lost is about eps * (centre / spread)**2
    rtol = 1e-9 * max(1.0, centre_scale) ** 2
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12 * max(1.0, centre_scale) ** 2)


@pytest.mark.parametrize("diagonal", [False, True])
@pytest.mark.parametrize("empty", [False, True])
def test_moments_of_a_hard_start_are_each_clusters_own(diagonal, empty):
    # a k-means start gives each row to one component: only its rows are read, and nothing is lost
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(500, 5)) * [1e-3, 1.0, 1e3, 1.0, 1.0] + 7.0
    labels = rng.integers(0, 3 if empty else 4, size=len(X))  # with `empty`, component 3 gets no row
    resp = np.eye(4)[labels]
    got = Moments.of(X, resp, diagonal)
    for j in range(4):
        rows = X[labels == j]
        assert got.counts[j] == len(rows)
        if not len(rows):
            assert not got.sums[j].any() and not got.scatter[j].any()
            continue
        np.testing.assert_allclose(got.centres[j], rows.mean(axis=0), rtol=1e-12)
        diff = rows - got.centres[j]
        np.testing.assert_allclose(got.sums[j], diff.sum(axis=0), atol=1e-9)
        scatter = (diff**2).sum(axis=0) if diagonal else diff.T @ diff
        np.testing.assert_allclose(got.scatter[j], scatter, rtol=1e-12)


def _whitened_rows(X, monkeypatch):
    """The rows WhitenedKMeans hands to k-means."""
    seen = []

    class Recording(_em.KMeans):
        def fit(self, X, *args, **kwargs):
            seen.append(np.array(X))
            return super().fit(X, *args, **kwargs)

    monkeypatch.setattr(_em, "KMeans", Recording)
    labels = _em.WhitenedKMeans().labels(X, 3, np.random.RandomState(0))
    return seen[-1], labels


def _mapping(rng, conditioning, d=4):
    q1, _ = np.linalg.qr(rng.normal(size=(d, d)))
    q2, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q1 @ np.diag(np.geomspace(1.0, conditioning, d)) @ q2


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), conditioning=st.sampled_from([1.0, 1e-1, 1e-2]))
def test_whitening_undoes_a_linear_map_of_the_features_up_to_a_rotation(seed, conditioning):
    # so every distance k-means sees is the same, whatever the features' linear units; up to the
    # eigenvalue floor (1e-9 of the largest): a map squashing variances by 1e-8 (1e-4 in scale) meets it
    with pytest.MonkeyPatch.context() as monkeypatch:
        rng = np.random.default_rng(seed)
        X = _clusters(seed, n=200, d=4)
        plain, _ = _whitened_rows(X, monkeypatch)
        mapped, _ = _whitened_rows(X @ _mapping(rng, conditioning) + rng.normal(size=4), monkeypatch)
    np.testing.assert_allclose(mapped @ mapped.T, plain @ plain.T, atol=1e-7 * np.abs(plain @ plain.T).max())


def test_whitened_kmeans_labels_do_not_depend_on_a_linear_map_of_separated_clusters():
    # k-means from one start may still stop in another local optimum when rounding moves a
    # near-tie (1 seed in 300 here), so the labels are compared over fixed seeds
    agree = plain_agrees = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        centres = rng.normal(size=(3, 4))
        centres *= 8 / np.linalg.norm(centres - centres.mean(axis=0), axis=1, keepdims=True)
        X = np.vstack([rng.normal(size=(200, 4)) + c for c in centres])
        mapped = X @ _mapping(rng, 1e-3) + rng.normal(size=4)
        starts = _em.WhitenedKMeans()
        labels = starts.labels(X, 3, np.random.RandomState(seed))
        agree += adjusted_rand_score(labels, starts.labels(mapped, 3, np.random.RandomState(seed))) >= 0.97
        euclidean = _em.KMeans(3, n_init=1, random_state=seed).fit(mapped).labels_
        plain_agrees += adjusted_rand_score(labels, euclidean) >= 0.97
    assert agree >= 57
    assert plain_agrees <= 40  # Euclidean k-means on the mapped rows is fooled


def test_whitened_kmeans_survives_constant_and_duplicated_columns():
    X = _clusters(n=100, d=3)
    X = np.c_[X, X[:, 0], np.full(len(X), 7.0)]  # a singular class covariance
    labels = _em.WhitenedKMeans().labels(X, 3, np.random.RandomState(0))
    assert labels.shape == (len(X),) and set(labels) == {0, 1, 2}


@pytest.mark.parametrize("kind", TYPES)
def test_an_emptied_component_gets_scikit_learns_parameters(kind):
    # a component that lost all its rows: its mean goes where scikit-learn's goes (sum(r x) / nk)
    rng = np.random.default_rng(RND_SEED)
    X = rng.normal(size=(50, 3)) + 4.0
    resp = np.column_stack([np.ones(50), np.zeros(50)])
    diagonal = kind in ("diag", "spherical")
    moments = Moments.empty(np.array([[4.0, 4.0, 4.0], [-6.0, 2.0, 9.0]]), diagonal)  # about a stale centre
    moments.add(X, resp)
    nk, means, cov = shrunk_parameters(moments, kind, _no_prior(3))
    ref_nk, ref_means, ref_cov = _estimate_gaussian_parameters(X, resp, 1e-6, kind)
    np.testing.assert_allclose(nk, ref_nk, rtol=1e-12)
    np.testing.assert_allclose(means, ref_means, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["diag", "spherical"])
def test_collapsed_diagonal_variance_is_refused_and_refitted_with_a_floor(kind):
    with pytest.raises(SingularCovarianceError, match="collapsed to zero"):
        precision_cholesky(np.array([[1.0, 0.0]]) if kind == "diag" else np.array([0.0]), kind)
    X = np.ones((200, 2))  # one row, repeated: every variance is zero
    fit = _fit_one(X, Candidate(1, kind), {"random_state": 0}, {}, _no_prior(2, floor=0.0))
    assert np.all(np.asarray(fit.gmm.covariances_) >= 1e-6)
    assert any("extra variance floor of 1e-06" in str(w.message) for w in fit.caught)


def _overlapping(n=4000, d=4, seed=RND_SEED):
    """Four overlapping clusters: EM crawls there."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 0.8 * rng.normal(size=d) for _ in range(4)])
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _em_fit(X, kind, accelerated, threads=1, tol=1e-9):
    gmm = MAPGaussianMixture(4, covariance_type=kind, random_state=RND_SEED, tol=tol, max_iter=5000)
    gmm.prior, gmm.accelerated, gmm.n_threads = _no_prior(X.shape[1]), accelerated, threads
    gmm.single_precision = False  # a tolerance this tight is below float32's rounding of the bound
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gmm.fit(X)


@pytest.mark.parametrize("kind", TYPES)
def test_squarem_reaches_plain_ems_fixed_point_in_fewer_passes(kind, monkeypatch):
    X = _overlapping()
    passes = []
    real = _em.e_step
    monkeypatch.setattr(_em, "e_step", lambda *a, **k: passes.append(1) or real(*a, **k))
    plain = _em_fit(X, kind, accelerated=False)
    plain_passes, passes[:] = len(passes), []
    fast = _em_fit(X, kind, accelerated=True)
    assert fast.score(X) == pytest.approx(plain.score(X), abs=1e-6)  # the same maximum (flat: params to 1e-2)
    order = [np.lexsort(g.means_.T) for g in (plain, fast)]
    np.testing.assert_allclose(fast.means_[order[1]], plain.means_[order[0]], atol=1e-2)
    np.testing.assert_allclose(fast.weights_[order[1]], plain.weights_[order[0]], atol=1e-3)
    assert len(passes) <= plain_passes


@pytest.mark.parametrize("kind", TYPES)
def test_an_accelerated_warm_started_refit_only_climbs_and_equals_itself_on_threads(kind, monkeypatch):
    X = _overlapping(n=3000)
    start = _em_fit(X[::7], kind, accelerated=False, tol=1e-3)
    monkeypatch.setattr(_em, "_BLOCK_BYTES", 8 * 4 * 4 * 500)
    fits = []
    for threads in (1, 2):
        gmm = MAPGaussianMixture(4, covariance_type=kind, random_state=RND_SEED, **_warm(start))
        gmm.prior, gmm.accelerated, gmm.n_threads = _no_prior(X.shape[1]), True, threads
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(gmm.fit(X))
    for name in ("weights_", "means_", "covariances_", "n_iter_"):
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
    assert fits[0].score(X) >= start.score(X)


def _warm(gmm):
    from gmm_hub.model._selection import warm_start

    return warm_start(gmm)


def test_a_squarem_jump_out_of_the_parameter_space_falls_back_to_the_second_em_step():
    gmm = MAPGaussianMixture(2, covariance_type="diag")
    squarem = _em._Squarem()
    means = np.zeros((2, 1))
    cov = np.ones((2, 1))
    # the weights move toward 0 fast enough that the extrapolation crosses it
    squarem.t0 = (np.array([0.5, 0.5]), means, cov)
    squarem.t1 = (np.array([0.3, 0.7]), means, cov)
    squarem.t2 = (np.array([0.11, 0.89]), means, cov)
    assert squarem._jump(gmm) is squarem.t2
    # a variance that crosses 0 the same way
    squarem.t0 = (np.array([0.5, 0.5]), means, cov)
    squarem.t1 = (np.array([0.5, 0.5]), means, np.array([[1.0], [0.6]]))
    squarem.t2 = (np.array([0.5, 0.5]), means, np.array([[1.0], [0.22]]))
    assert squarem._jump(gmm) is squarem.t2
    squarem.t2 = (np.array([0.5, 0.5]), means, np.array([[1.0], [0.45]]))  # inside: a real jump
    jump = squarem._jump(gmm)
    assert jump is not squarem.t2 and np.all(jump[2] > 0)
