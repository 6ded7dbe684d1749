"""Expectation-maximisation for one class's mixture, a block of rows at a time.

scikit-learn's ``GaussianMixture`` makes, per EM iteration, one pass over all
the rows for the E-step and one per component for the M-step, each building
arrays the size of the data (``X @ factor``, ``X - mean``), so at a few
hundred thousand rows EM runs at the speed of memory, not of arithmetic. Here
one pass over blocks of rows small enough to stay in cache computes each
block's responsibilities and, from the same block, the moments the next
M-step needs (:class:`Moments`): counts, sums and scatter of every component,
taken about the component's current mean so that no precision is lost to
cancellation. The M-step then only finishes the sums
(:func:`shrunk_parameters`, with the class's :class:`CovariancePrior`).

The E-step is scikit-learn's formula, the whitened residual
``(x - mean) @ precision_cholesky`` (an elementwise product for diagonal and
spherical components), with all of a block's dense residuals from one product
about the mixture's mean; where the rounding stays well under the sampling
error of the fit, the products run in float32 (:class:`_Projection`).
"""

from __future__ import annotations

import math
import threading
import warnings
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.linalg.lapack import dtrtri
from sklearn import config_context
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state

from ._prior import CovariancePrior, prior_weight

# Projections computed at once per block: a few MiB stay in cache (see _scoring.py's _BLOCK_BYTES).
_BLOCK_BYTES = 4 * 2**20
_MIN_BLOCK_ROWS = 64
#: Blocks of at most this many rows take their moments in one batched product (see _block_moments).
_BATCHED_ROWS = 1024
_LOG_2PI = math.log(2 * math.pi)
_EPS32 = float(np.finfo(np.float32).eps)
#: Largest worst-case rounding of a typical row's log-density allowed in float32, as a share of the
#: sampling error of a log-density fitted on the E-step's rows (see :class:`_Projection`): noise a tenth
#: of what the data leave uncertain anyway (the bound is a worst case; measured roundings are far smaller).
SINGLE_PRECISION_SHARE = 0.1
#: Rows from which an E-step may run in float32: below, the pass is short and float64 costs little.
SINGLE_PRECISION_ROWS = 4096
#: EM iterations each start gets before the best one is run to convergence (mixmod's small-EM default).
SHORT_RUN_ITERATIONS = 5


def count_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free parameters of a mixture (weights, means, covariances)."""
    k, d = n_components, n_features
    cov = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d, "spherical": k}[covariance_type]
    return cov + k * d + k - 1


def _block_rows(n_components: int, n_features: int) -> int:
    return max(_MIN_BLOCK_ROWS, _BLOCK_BYTES // (8 * n_components * n_features))


@dataclass
class Moments:
    """Responsibility-weighted moments of each component, about fixed centres.

    Attributes
    ----------
    centres : ndarray of shape (n_components, n_features)
        Point each component's moments are taken about (its mean before the M-step).
    counts : ndarray of shape (n_components,)
        Sum of the responsibilities.
    sums : ndarray of shape (n_components, n_features)
        ``sum(r * (x - centre))``.
    scatter : ndarray of shape (n_components, n_features, n_features) or (n_components, n_features)
        ``sum(r * (x - centre)(x - centre)^T)``, or its diagonal when ``diagonal``.
    """

    centres: np.ndarray
    counts: np.ndarray
    sums: np.ndarray
    scatter: np.ndarray

    @classmethod
    def empty(cls, centres: np.ndarray, diagonal: bool) -> Moments:
        k, d = centres.shape
        scatter = np.zeros((k, d) if diagonal else (k, d, d))
        return cls(np.asarray(centres, dtype=np.float64), np.zeros(k), np.zeros((k, d)), scatter)

    @classmethod
    def of(cls, X: np.ndarray, resp: np.ndarray, diagonal: bool) -> Moments:
        """Moments of ``X`` under ``resp``, about the weighted means (two passes)."""
        counts = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps
        moments = cls.empty((resp.T @ X) / counts[:, None], diagonal)
        step = _block_rows(resp.shape[1], X.shape[1])
        for start in range(0, len(X), step):
            moments.add(X[start : start + step], resp[start : start + step])
        return moments

    def add(self, X: np.ndarray, resp: np.ndarray) -> None:
        """Accumulate a block of rows ``X`` with responsibilities ``resp``.

        Rows of zero responsibility add exactly nothing, so where most of a
        component's are zero (a k-means start gives each row to one
        component) only its own rows are read.
        """
        self.counts += resp.sum(axis=0)
        diagonal = self.scatter.ndim == 2
        for j, centre in enumerate(self.centres):
            rows = np.flatnonzero(resp[:, j])
            if 4 * len(rows) > 3 * len(X):
                diff, r = X - centre, resp[:, j]
            else:
                diff, r = X[rows] - centre, resp[rows, j]
            weighted = diff * r[:, None]
            self.sums[j] += weighted.sum(axis=0)
            if diagonal:
                self.scatter[j] += np.einsum("nd,nd->d", weighted, diff)
            else:
                self.scatter[j] += weighted.T @ diff


def shrunk_parameters(
    moments: Moments, covariance_type: str, prior: CovariancePrior
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Component weights (row counts), means and MAP covariances from ``moments``.

    Each covariance is ``(N_j * S_j + rows * target) / (N_j + rows) + diag(floor)``
    with ``S_j`` the component's scatter about its new mean over ``N_j``
    (see :mod:`gmm_hub.model._prior`); tied components share one, diagonal
    and spherical ones keep its diagonal or its mean.
    """
    counts, sums = moments.counts, moments.sums
    nk = counts + 10 * np.finfo(np.float64).eps
    # scikit-learn's mean, sum(r x) / nk: a component that empties moves to the origin, as there
    means = (moments.centres * counts[:, None] + sums) / nk[:, None]
    shift = means - moments.centres
    target, floor = prior.target, prior.floor
    if covariance_type in ("full", "tied"):
        d = means.shape[1]
        # sum(r (x - mean)(x - mean)^T) from the moments about the centre
        cross = shift[:, :, None] * sums[:, None, :]
        scatter = moments.scatter - cross - np.swapaxes(cross, 1, 2)
        scatter += counts[:, None, None] * shift[:, :, None] * shift[:, None, :]
        if covariance_type == "tied":
            n = nk.sum()
            w = prior_weight(n, prior.rows)
            tied = (1 - w) * scatter.sum(axis=0) / n + w * target
            if prior.shape is None:
                tied.flat[:: d + 1] += floor
            else:
                tied += prior.floor_matrix()
            return nk, means, tied
        w = prior_weight(nk, prior.rows)[:, None, None]
        cov = (1 - w) * scatter / nk[:, None, None] + w * target
        if prior.shape is None:
            cov[:, np.arange(d), np.arange(d)] += floor
        else:
            cov += prior.floor_matrix()
        return nk, means, cov
    sq = moments.scatter - 2 * shift * sums + counts[:, None] * shift**2
    w = prior_weight(nk, prior.rows)[:, None]
    diag = (1 - w) * np.maximum(sq, 0) / nk[:, None] + w * np.diag(target) + floor
    if covariance_type == "diag":
        return nk, means, diag
    return nk, means, diag.mean(axis=1)


class SingularCovarianceError(ValueError):
    """A component's covariance has no inverse (it collapsed onto too few distinct rows)."""


def precision_cholesky(cov: np.ndarray, covariance_type: str) -> np.ndarray:
    """Upper-triangular factors of the precisions, as scikit-learn stores them.

    Raises
    ------
    SingularCovarianceError
        When a diagonal variance is not positive; a full or tied covariance
        that is not positive definite raises numpy's ``LinAlgError``.
    """
    if covariance_type in ("diag", "spherical"):
        if not np.all(cov > 0):
            raise SingularCovarianceError("a component's variance collapsed to zero (a singleton or duplicated rows)")
        return 1.0 / np.sqrt(cov)
    stack = np.linalg.cholesky(cov[None] if covariance_type == "tied" else cov)
    out = np.stack([_triangular_inverse(lower, lower=True).T for lower in stack])
    return out[0] if covariance_type == "tied" else out


def _triangular_inverse(factor: np.ndarray, *, lower: bool) -> np.ndarray:
    """Inverse of a triangular matrix, by LAPACK's ``trtri`` (scipy's checked wrapper costs more than
    the inverse at the sizes EM works at)."""
    inverse, info = dtrtri(factor, lower=int(lower))
    if info:
        raise np.linalg.LinAlgError(f"singular triangular factor (trtri info {info})")
    return inverse


class _Projection:
    """Whitened residuals ``(x - mean_j) @ precision_cholesky_j`` and weighted log-densities of a block.

    Full and tied residuals come from one product for all components, laid out
    transposed so that each component's rows are contiguous: ``x - c`` (``c``
    the mixture's mean, rounded once from float64) times every factor, minus
    each ``(mean_j - c) @ factor_j`` (for full components in the same
    product: a last column of the stacked factors against a row of ones,
    which saves a pass over the residuals). That is scikit-learn's formula, taken
    about ``c`` rather than the origin, so it cancels only as far as the
    components are from ``c``; it runs about 2x faster than a product per
    component on its own residuals. Diagonal and spherical residuals are
    taken from each component's mean, then scaled.

    With ``single=True`` the products run in float32 when the worst-case
    rounding of a typical row's log-density (its whitened residual
    has a squared norm of about ``d``), ``d * eps32 * (sqrt(d) * cond(P_j) +
    2 * |P_j| * |mean_j - c|)``, stays below :data:`SINGLE_PRECISION_SHARE`
    of the sampling error of a log-density fitted on ``n_rows`` rows,
    ``sqrt(n_parameters / n_rows)`` nats; otherwise, and by default, in float64.
    """

    def __init__(self, gmm: GaussianMixture, single: bool = False, n_rows: int | None = None) -> None:
        kind, k = gmm.covariance_type, gmm.n_components
        self.means = np.asarray(gmm.means_, dtype=np.float64)
        d = self.means.shape[1]
        prec = np.asarray(gmm.precisions_cholesky_, dtype=np.float64)
        self.dense, self.tied = kind in ("full", "tied"), kind == "tied"
        if self.dense:
            self.factors = np.broadcast_to(prec, (k, d, d)) if self.tied else prec
            log_det = np.log(np.diagonal(self.factors, axis1=1, axis2=2)).sum(axis=1)
        else:
            self.factors = np.broadcast_to(prec[:, None], (k, d)) if kind == "spherical" else prec
            log_det = np.log(self.factors).sum(axis=1)
        weights = np.asarray(gmm.weights_, dtype=np.float64)
        self.const = np.log(weights) + log_det - 0.5 * d * _LOG_2PI
        self.shape = (k, d)
        self.centre = (weights / weights.sum()) @ self.means
        accurate = single and n_rows is not None and self._single_is_accurate(count_parameters(kind, k, d), n_rows)
        self.dtype = np.dtype(np.float32 if accurate else np.float64)
        if self.dense:  # row j * d + e of the stacked product is column e of factor j
            bias = np.einsum("kd,kde->ke", self.means - self.centre, self.factors)
            if self.tied:  # one factor: the product is shared, the biases subtracted after
                self.rows_t = np.ascontiguousarray(prec.T, dtype=self.dtype)
                self.bias = bias.reshape(k, d, 1).astype(self.dtype)
            else:  # a last column of minus the biases, against a row of ones, subtracts them in the product
                rows_t = np.hstack([prec.transpose(0, 2, 1).reshape(k * d, d), -bias.reshape(k * d, 1)])
                self.rows_t = np.ascontiguousarray(rows_t, dtype=self.dtype)
        else:
            self.low = self.factors.astype(self.dtype)

    def _single_is_accurate(self, n_parameters: int, n_rows: int) -> bool:
        f, d = self.factors, self.shape[1]
        if self.dense:
            s = np.linalg.svd(f[:1] if self.tied else f, compute_uv=False)
            relative = np.sqrt(d) * s[:, 0] / s[:, -1] + 2 * s[:, 0] * np.linalg.norm(self.means - self.centre, axis=1)
        else:  # the residual is rounded, then scaled: its relative rounding does not grow with the scales
            relative = np.full(1, 2 * np.sqrt(d))
        worst = d * _EPS32 * float(np.max(relative))
        return worst <= SINGLE_PRECISION_SHARE * math.sqrt(n_parameters / max(n_rows, 1))

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(residuals in self.dtype, log w_j + log N(x | component j) of shape (k, n))``.

        Dense residuals have shape (k, d, n), as the product makes them (each
        component's rows contiguous, feature by feature), diagonal and
        spherical ones (k, n, d). The log-densities are component-major too:
        reductions over a handful of components then run across whole rows
        (3x faster than along a short last axis).
        """
        k, d = self.shape
        if self.dense:
            shifted = np.empty((len(X), self.rows_t.shape[1]), dtype=self.dtype)
            np.subtract(X, self.centre, out=shifted[:, :d], casting="same_kind")  # in float64, rounded once
            shifted[:, d:] = 1.0
            product = self.rows_t @ shifted.T
            y = product[None] - self.bias if self.tied else product.reshape(k, d, len(X))
            logp = np.einsum("kdn,kdn->kn", y, y).astype(np.float64, copy=False)
        else:
            # every component at once: a block's residuals are a few MiB, and one call per array beats k
            diff = np.empty((k, len(X), d), dtype=self.dtype)
            np.subtract(X[None], self.means[:, None], out=diff, casting="same_kind")  # in float64, rounded once
            y = np.multiply(diff, self.low[:, None], out=diff)
            logp = np.einsum("knd,knd->kn", y, y).astype(np.float64, copy=False)
        logp *= -0.5
        logp += self.const[:, None]
        return y, logp

    def moments(self, counts: np.ndarray, sums: np.ndarray, scatter: np.ndarray) -> Moments:
        """Moments about the means in input units, from those of the whitened residuals.

        With ``y = (x - m) @ P``: ``sum(r (x - m)) = sum(r y) @ inv(P)`` and
        ``sum(r (x - m)(x - m)^T) = inv(P)^T sum(r y^T y) inv(P)``.
        """
        if not self.dense:
            return Moments(self.means, counts, sums / self.factors, scatter / self.factors**2)
        inverse = np.stack([_triangular_inverse(f, lower=False) for f in self.factors])
        sums = np.einsum("kd,kde->ke", sums, inverse)
        scatter = np.swapaxes(inverse, 1, 2) @ scatter @ inverse
        return Moments(self.means, counts, sums, scatter)


def _block_moments(y: np.ndarray, weights: np.ndarray, dense: bool) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums and scatter of each component's whitened residuals in a block.

    ``y`` is laid out as :class:`_Projection` makes it, (k, d, n) for dense
    components and (k, n, d) otherwise; ``weights`` has shape (k, n).
    Responsibilities below the epsilon of ``y``'s dtype are left out: each
    adds less to a moment than the rounding of adding one full-weight row.
    Where components are apart, most (row, component) pairs are such (three
    in four on the fraud-shaped data of ``scripts/bench_fit.py``), so each
    component's products run on the rows it holds, gathered: 3x faster
    there. Left in, the tiniest of them were also subnormal numbers, which
    made the products another 3x slower. Dense residuals are gathered along
    their last axis, from contiguous memory: 1.4x faster than gathering rows
    of the transposed view.
    """
    k, n = weights.shape
    d = y.shape[1] if dense else y.shape[2]
    kept = weights >= np.finfo(y.dtype).eps
    if n <= _BATCHED_ROWS:  # a small block: one batched product beats k gathers and products
        w = np.where(kept, weights, 0)
        if dense:
            return (y @ w[:, :, None])[:, :, 0], (y * w[:, None]) @ y.transpose(0, 2, 1)
        return (w[:, None] @ y)[:, 0], np.einsum("knd,knd->kd", y * w[:, :, None], y)
    sums = np.empty((k, d), dtype=y.dtype)
    scatter = np.empty((k, d, d) if dense else (k, d), dtype=y.dtype)
    for j in range(k):
        rows = np.flatnonzero(kept[j])
        if 4 * len(rows) > 3 * n:  # most rows: zeroing the rest costs less than gathering
            yj, wj = y[j], np.where(kept[j], weights[j], 0)
        else:
            yj, wj = y[j].take(rows, axis=1 if dense else 0), weights[j].take(rows)
        if dense:  # yj has shape (d, m)
            sums[j] = yj @ wj
            scatter[j] = (yj * wj) @ yj.T
        else:  # (m, d)
            sums[j] = wj @ yj
            scatter[j] = np.einsum("nd,nd->d", yj * wj[:, None], yj)
    return sums, scatter


def _normalise(logp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(log sum_j exp(logp_j), responsibilities)`` of component-major log-densities of shape (k, n)."""
    top = logp.max(axis=0)
    with np.errstate(under="ignore"):
        resp = np.exp(logp - top)
    total = resp.sum(axis=0)
    resp /= total
    return np.log(total) + top, resp


def weighted_log_prob(gmm: GaussianMixture, X: np.ndarray) -> np.ndarray:
    """``log w_j + log N(x | component j)`` for every row and component, shape (n_samples, n_components)."""
    project = _Projection(gmm)
    out = np.empty((len(X), gmm.n_components))
    step = _block_rows(*project.shape)
    for start in range(0, len(X), step):
        out[start : start + step] = project(X[start : start + step])[1].T
    return out


def e_step(
    gmm: GaussianMixture,
    X: np.ndarray,
    with_moments: bool = True,
    single: bool = False,
    pool: Executor | None = None,
) -> tuple[np.ndarray, np.ndarray, Moments | None]:
    """One pass: each row's log-likelihood, the log-responsibilities and the next M-step's moments.

    The moments are accumulated on the whitened residuals the E-step computes
    anyway, so the M-step needs no pass of its own over ``X`` (``None`` unless
    ``with_moments``); responsibilities below the dtype's epsilon are left out
    of them (see :func:`_block_moments`). With ``single``, the products run in float32 when the
    rounding bound allows (see :class:`_Projection`); every sum is
    kept in float64. With ``pool``, the blocks run on its threads (numpy and
    BLAS release the GIL); each block's moments are added in block order
    whichever thread made them, so the result does not depend on the pool.
    """
    project = _Projection(gmm, single=single, n_rows=len(X))
    k, d = project.shape
    log_norm = np.empty(len(X))
    log_resp = np.empty((k, len(X)))  # component-major, as the blocks make it; returned transposed
    step = _block_rows(k, d)

    def block(start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        rows = slice(start, start + step)
        y, logp = project(X[rows])
        norm, resp = _normalise(logp)
        log_norm[rows] = norm
        np.subtract(logp, norm, out=log_resp[:, rows])
        if not with_moments:
            return None
        with np.errstate(under="ignore"):
            return resp.sum(axis=1), *_block_moments(y, resp.astype(y.dtype, copy=False), project.dense)

    starts = range(0, len(X), step)
    parts = pool.map(block, starts) if pool is not None and len(starts) > 1 else map(block, starts)
    counts, sums = np.zeros(k), np.zeros((k, d))
    scatter = np.zeros((k, d, d) if project.dense else (k, d))
    for part in parts:  # in block order
        if part is not None:
            counts += part[0]
            sums += part[1]
            scatter += part[2]
    return log_norm, log_resp.T, project.moments(counts, sums, scatter) if with_moments else None


class SharedKMeans:
    """k-means starts shared by one class's candidates with the same number of components.

    scikit-learn starts each fit from ``KMeans(n_components, n_init=1,
    random_state=...)`` on the fit's rows; a class's candidates share the rows
    and the seed, so its full, tied, diagonal and spherical candidates of each
    size would run the same k-means four times (76 runs where 20 differ at
    284,807 x 30). Each run is kept under the random generator's state before
    it, and a later request from that state gets the labels and leaves the
    generator where the run left it, so every fit is the one it would be
    without sharing. Threads that ask for one start together wait for one run.
    Pickled (for worker processes), it starts empty.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[tuple, list] = {}

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self._lock = threading.Lock()
        self._runs = {}

    def labels(self, X: np.ndarray, n_clusters: int, random_state: np.random.RandomState) -> np.ndarray:
        """``KMeans(n_clusters, n_init=1, random_state=random_state).fit(X).labels_``, run once per state."""
        state = cast(tuple, random_state.get_state(legacy=True))  # ("MT19937", keys, position, ...)
        key = (id(X), X.shape, n_clusters, np.asarray(state[1]).tobytes(), state[2])
        with self._lock:
            run = self._runs.setdefault(key, [threading.Lock(), None])
        with run[0]:
            if run[1] is None:
                fitted = KMeans(n_clusters=n_clusters, n_init=1, random_state=random_state).fit(X)
                run[1] = (fitted.labels_, random_state.get_state())
            else:
                random_state.set_state(run[1][1])
        return run[1][0]


class WhitenedKMeans:
    """k-means starts on whitened rows: a second start of another geometry.

    k-means measures Euclidean distance, so it splits a class along its
    widest directions and is blind to structure in its thin ones (a small,
    thin component beside a wide one); EM with full covariances is invariant
    to any linear map of the features, its k-means start is not. On the rows
    mapped by the inverse square root of the class covariance (identity
    covariance), k-means sees every direction at the scale of its spread.
    Eigenvalues below ``1e-9`` of the largest (constant or duplicated
    columns) are raised to it, so the map always exists.
    """

    def labels(self, X: np.ndarray, n_clusters: int, random_state: np.random.RandomState) -> np.ndarray:
        """``KMeans(n_clusters, n_init=1, random_state=random_state)`` on the whitened ``X``."""
        centred = X - X.mean(axis=0)
        values, vectors = np.linalg.eigh(np.atleast_2d(np.cov(centred, rowvar=False)))
        values = np.maximum(values, 1e-9 * max(float(values[-1]), np.finfo(float).tiny))
        white = centred @ (vectors / np.sqrt(values))
        return KMeans(n_clusters=n_clusters, n_init=1, random_state=random_state).fit(white).labels_


class MAPGaussianMixture(GaussianMixture):
    """A GaussianMixture whose M-step uses a :class:`CovariancePrior`, fitted a block at a time.

    scikit-learn's loop (initialisation, convergence on ``tol``) is kept, but
    of ``n_init`` starts only the most promising runs to convergence
    (:meth:`_fit_from_short_runs`); each E-step is one pass of :func:`e_step`, which also gathers the
    moments that the following M-step turns into parameters. On at least
    :data:`SINGLE_PRECISION_ROWS` rows, and where float32's rounding stays
    under :data:`SINGLE_PRECISION_SHARE` of the sampling error, the E-step's products run in float32
    (``single_precision``); scores and the BIC are always float64. With
    ``accelerated``, every third M-step is a SQUAREM jump (:class:`_Squarem`).
    Used only while fitting (``prior`` is set as an attribute before ``fit``); the
    result is stored as a plain GaussianMixture by :func:`to_input_units`.
    """

    prior: CovariancePrior
    #: E-steps on many rows may run in float32 where accurate enough (scores, BIC and predictions never do)
    single_precision = True
    # the moments of the last E-step, and the log-responsibilities they came with
    _pending: tuple[np.ndarray, Moments] | None = None
    # set when scikit-learn has restored the best parameters: the E-step it then makes (for labels) feeds no M-step
    _settled = False
    # set by fit(), which discards those labels: the E-step is then skipped (only fit_predict returns them)
    _labels_unused = False
    #: Threads each E-step's blocks run on (the fit does not depend on it)
    n_threads = 1
    _pool: Executor | None = None
    #: k-means starts shared with the class's other candidates (the fit does not depend on it)
    kmeans: SharedKMeans | WhitenedKMeans | None = None
    #: EM's steps extrapolated by SQUAREM (see :class:`_Squarem`); set for fits on many rows
    accelerated = False
    _squarem: _Squarem | None = None
    _last_bound = math.nan

    @property
    def _diagonal(self) -> bool:
        return self.covariance_type in ("diag", "spherical")

    def fit(self, X, y=None):
        self._settled, self._labels_unused = False, True
        pool = ThreadPoolExecutor(self.n_threads) if self.n_threads > 1 else None
        self._pool = pool
        try:
            # only GMMClassifier fits it, on rows it has already checked: scikit-learn's finiteness
            # scans (of the rows, and again in k-means) are not repeated on every candidate
            with config_context(assume_finite=True):
                fresh = self.weights_init is None and self.means_init is None and self.precisions_init is None
                if self.n_init > 1 and fresh and not self.warm_start:
                    return self._fit_from_short_runs(X)
                return super().fit(X, y)
        finally:
            self._pending = self._pool = self._squarem = None
            self._labels_unused = False
            if pool is not None:
                pool.shutdown()

    def _fit_from_short_runs(self, X):
        """``n_init`` starts, each given :data:`SHORT_RUN_ITERATIONS` of EM, then EM to convergence from the best.

        The "small EM" strategy of Biernacki, Celeux & Govaert (2003): a few
        iterations already rank the starts by the likelihood they lead to, so only
        the most promising one is run to convergence, instead of every one as
        scikit-learn's ``n_init`` loop does. The starts are the loop's own (one
        random generator, drawn in turn), and a start that converges within its
        short run is final. The estimator's parameters are as they were afterwards.
        """
        params = self.get_params(deep=False)
        random_state = check_random_state(self.random_state)
        best = None  # (lower bound, parameters, iterations, converged) of the best start so far
        try:
            for _ in range(self.n_init):
                self.set_params(n_init=1, max_iter=min(SHORT_RUN_ITERATIONS, self.max_iter), random_state=random_state)
                self._settled, self._labels_unused = False, True
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)  # short on purpose
                    super().fit(X)
                if best is None or self.lower_bound_ > best[0]:
                    best = (self.lower_bound_, self._get_parameters(), self.n_iter_, bool(self.converged_))
            assert best is not None
            bound, parameters, n_iter, converged = best
            self._set_parameters(parameters)
            self.lower_bound_, self.n_iter_, self.converged_ = bound, n_iter, converged
            if not converged:  # on from the best start's parameters, scikit-learn's warm start
                self.set_params(max_iter=params["max_iter"], warm_start=True)
                self._settled, self._labels_unused, self._pending = False, True, None
                self._squarem = _Squarem() if self.accelerated else None
                super().fit(X)
                self.n_iter_ += n_iter
            return self
        finally:
            self.set_params(**params)

    def _check_parameters(self, X, xp=None):
        # Starts are only ever a fitted mixture's parameters (warm_start); scikit-learn's checks of
        # them (an eigendecomposition of every precision, 1-2 ms a fit) would be repeated on every
        # fold fit. A start that is not positive definite still fails, in its Cholesky factorisation.
        return None

    def _initialize_parameters(self, X, random_state, xp=None):
        fresh = self.weights_init is None and self.means_init is None and self.precisions_init is None
        if self.kmeans is None or self.init_params != "kmeans" or not fresh:
            return super()._initialize_parameters(X, random_state, xp=xp)
        resp = np.zeros((len(X), self.n_components), dtype=X.dtype)  # scikit-learn's start, shared
        resp[np.arange(len(X)), self.kmeans.labels(X, self.n_components, random_state)] = 1
        self._initialize(X, resp)

    def _initialize(self, X, resp, xp=None):
        self._squarem = _Squarem() if self.accelerated else None  # each initialisation extrapolates afresh
        if resp is None:  # warm start: scikit-learn skips the estimate when every init is given
            self.weights_, self.means_ = self.weights_init, self.means_init
            self.precisions_cholesky_ = _cholesky_of_precisions(self.precisions_init, self.covariance_type)
            if self.accelerated:  # SQUAREM extrapolates covariances
                dense = self.covariance_type in ("full", "tied")
                self.covariances_ = np.linalg.inv(self.precisions_init) if dense else 1.0 / self.precisions_init
            return
        moments = Moments.of(X, resp, self._diagonal)
        nk, means, cov = shrunk_parameters(moments, self.covariance_type, self.prior)
        self.weights_ = nk / len(X) if self.weights_init is None else self.weights_init
        self.means_ = means if self.means_init is None else self.means_init
        if self.precisions_init is None:
            self.covariances_ = cov
            self.precisions_cholesky_ = precision_cholesky(cov, self.covariance_type)
        else:
            self.precisions_cholesky_ = _cholesky_of_precisions(self.precisions_init, self.covariance_type)

    def _e_step(self, X, xp=None):
        if self._settled and self._labels_unused:  # the labels of fit_predict, which fit() throws away
            return math.nan, np.zeros((len(X), self.n_components))
        bound, log_resp, moments = self._pass(X, with_moments=not self._settled)
        self._pending = None if moments is None else (log_resp, moments)
        self._last_bound = bound
        return bound, log_resp

    def _pass(self, X, with_moments: bool = True) -> tuple[float, np.ndarray, Moments | None]:
        """One E-step pass at the current parameters: mean log-likelihood, log-responsibilities, moments."""
        single = self.single_precision and len(X) >= SINGLE_PRECISION_ROWS
        log_norm, log_resp, moments = e_step(self, X, with_moments=with_moments, single=single, pool=self._pool)
        return float(np.mean(log_norm)), log_resp, moments

    def _set_parameters(self, params, xp=None):
        super()._set_parameters(params, xp=xp)
        # scikit-learn restores the best initialisation's parameters, then makes one E-step for the
        # labels of fit_predict. Should an M-step follow after all, it computes its own moments.
        self._settled = True

    def _m_step(self, X, log_resp, xp=None):
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] is log_resp:
            moments = pending[1]
        else:  # responsibilities that did not come from this model's E-step
            moments = Moments.of(X, np.exp(log_resp), self._diagonal)
        if self._squarem is not None:
            self._set_state(self._squarem.step(self, X, self._last_bound, moments))
            return
        self._set_state(self._em_map(moments))

    def _em_map(self, moments: Moments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The parameters one M-step makes from ``moments``: weights, means, covariances."""
        nk, means, cov = shrunk_parameters(moments, self.covariance_type, self.prior)
        return nk / nk.sum(), means, cov

    def _set_state(self, state: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        self.weights_, self.means_, self.covariances_ = state
        self.precisions_cholesky_ = precision_cholesky(self.covariances_, self.covariance_type)

    def _estimate_weighted_log_prob(self, X, xp=None):
        return weighted_log_prob(self, X)

    def score_samples(self, X):
        """Each row's log-likelihood, as scikit-learn's, from component-major log-densities.

        Only the fit that owns this mixture calls it, on rows it has
        validated, so scikit-learn's checks are not repeated.
        """
        project = _Projection(self)
        out = np.empty(len(X))
        step = _block_rows(*project.shape)
        for start in range(0, len(X), step):
            out[start : start + step] = _normalise(project(X[start : start + step])[1])[0]
        return out


class _Squarem:
    """SQUAREM extrapolation of EM (Varadhan & Roland, 2008, scheme S3), inside scikit-learn's loop.

    EM converges linearly, slowly where components overlap: on the
    correlated data of ``scripts/bench_fit.py`` a large class's refit from
    its subsample's solution took 24 iterations. Every third M-step, from
    the parameters ``t0`` and the two EM steps ``t1 = F(t0)``, ``t2 =
    F(t1)``, SQUAREM jumps to ``t0 - 2 a r + a**2 v`` (``r = t1 - t0``,
    ``v = t2 - 2 t1 + t0``, ``a = -|r| / |v|``, at most -1, where ``a = -1``
    is ``t2``) over the weights, means and covariances. The next E-step
    scores the jump: kept (and stabilised by the M-step of its
    responsibilities) when its log-likelihood is at least ``t1``'s, else
    replaced by ``F(t2)``, one more pass. A jump that leaves the parameter
    space (a weight <= 0, a covariance that is not positive definite) is
    ``t2``. The fixed points are EM's, so the fit converges where EM does.
    """

    def __init__(self) -> None:
        self.phase = 0
        self.t0: tuple = ()
        self.t1: tuple = ()
        self.t2: tuple = ()
        self.bound1 = -np.inf

    def step(self, gmm: MAPGaussianMixture, X: np.ndarray, bound: float, moments: Moments) -> tuple:
        """The next parameters, given the E-step at the current ones (``bound``, ``moments``)."""
        current = (gmm.weights_, gmm.means_, gmm.covariances_)
        if self.phase == 0:  # at t0: the first EM step
            self.t0, self.phase = current, 1
            self.t1 = gmm._em_map(moments)
            return self.t1
        if self.phase == 1:  # at t1: the second, then the jump
            self.bound1, self.phase = bound, 2
            self.t2 = gmm._em_map(moments)
            return self._jump(gmm)
        self.phase = 0  # at the jump: keep it, stabilised, unless it scored below t1
        if bound >= self.bound1:
            return gmm._em_map(moments)
        gmm._set_state(self.t2)
        return gmm._em_map(cast(Moments, gmm._pass(X)[2]))  # one more pass, at t2

    def _jump(self, gmm: MAPGaussianMixture) -> tuple:
        parts = [np.concatenate([np.ravel(p) for p in t]) for t in (self.t0, self.t1, self.t2)]
        r, v = parts[1] - parts[0], parts[2] - 2 * parts[1] + parts[0]
        norm_v = float(np.linalg.norm(v))
        if not norm_v > 0:
            return self.t2
        a = min(-float(np.linalg.norm(r)) / norm_v, -1.0)
        steps = zip(self.t0, self.t1, self.t2, strict=True)
        jump = tuple(p0 - 2 * a * (p1 - p0) + a * a * (p2 - 2 * p1 + p0) for p0, p1, p2 in steps)
        weights = jump[0]
        if not np.all(weights > 0):
            return self.t2
        try:
            precision_cholesky(jump[2], gmm.covariance_type)
        except (np.linalg.LinAlgError, SingularCovarianceError):
            return self.t2
        return weights / weights.sum(), jump[1], jump[2]


def _cholesky_of_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """The upper-triangular ``U`` with ``precision = U @ U.T``, as :func:`precision_cholesky` gives.

    scikit-learn accepts a lower factor here, since its E-step only uses
    ``U @ U.T``; the moments of :func:`e_step` invert ``U`` as upper
    triangular, so the convention must hold. Reversing rows and columns maps
    the lower Cholesky factor of the reversed matrix to that upper factor.
    """
    if covariance_type in ("diag", "spherical"):
        return np.sqrt(precisions)
    stack = precisions[None] if covariance_type == "tied" else precisions
    out = np.stack([np.linalg.cholesky(p[::-1, ::-1])[::-1, ::-1] for p in stack])
    return out[0] if covariance_type == "tied" else out


def to_input_units(gmm: GaussianMixture, center: np.ndarray, scale: np.ndarray) -> GaussianMixture:
    """The plain GaussianMixture, in input units, of a mixture fitted on ``(X - center) / scale``.

    Densities differ by the constant Jacobian ``-sum(log(scale))``, the same
    for every class, so posteriors are unchanged. A spherical covariance is
    spherical only in standardised units, so it is stored as diagonal.
    """
    kind = gmm.covariance_type
    stored = "diag" if kind == "spherical" else kind
    out = GaussianMixture(
        n_components=gmm.n_components,
        covariance_type=stored,
        tol=gmm.tol,
        reg_covar=gmm.reg_covar,
        max_iter=gmm.max_iter,
        n_init=gmm.n_init,
        random_state=gmm.random_state,
    )
    out.weights_ = gmm.weights_.copy()
    out.means_ = gmm.means_ * scale + center
    cov = gmm.covariances_
    if kind in ("full", "tied"):
        out.covariances_ = cov * np.multiply.outer(scale, scale)
    elif kind == "diag":
        out.covariances_ = cov * scale**2
    else:
        out.covariances_ = cov[:, None] * scale**2
    out.precisions_cholesky_ = precision_cholesky(out.covariances_, stored)
    chol = out.precisions_cholesky_
    if stored == "full":
        out.precisions_ = chol @ np.swapaxes(chol, 1, 2)
    elif stored == "tied":
        out.precisions_ = chol @ chol.T
    else:
        out.precisions_ = chol**2
    for name in ("converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_"):
        if hasattr(gmm, name):
            setattr(out, name, getattr(gmm, name))
    if hasattr(gmm, "lower_bound_"):
        out.lower_bound_ = gmm.lower_bound_ - float(np.log(scale).sum())
    return out
