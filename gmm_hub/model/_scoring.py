"""Fused, numerically stable scoring of every class's mixture at once.

:class:`FusedScorer` stacks the components of all the classes' mixtures so
that a few matrix products per block of rows give every component's
whitened residual ``(x - mean) @ precision_cholesky``, the formula of
scikit-learn's ``GaussianMixture.score_samples``. Full and tied components go
through those products, one per block of about 10 feature columns, each
reading only the inputs above the factors' last nonzero row (the factors are
upper triangular, so this skips about a third of the work on 30 features);
diagonal and spherical ones, whose factor is diagonal, through an elementwise
product. Squared norms, log-determinants and log weights follow, then a
logsumexp over each class's components. A block is laid out transposed, one
column per row, so that every reduction runs along contiguous memory.

Rows are scored a block at a time (``block_bytes`` of projections, sized to
stay in cache), so memory does not grow with the batch, and each row's
result depends only on that row.

Rows whose likelihood underflows for every class (finite inputs of about
1e154 and more square to infinity) are scored again in a rescaled form: the
projections are computed on ``x / s`` with a per-row power-of-two ``s``, and
the Mahalanobis terms are compared term by term, relative to the row's
nearest component. Such a row's joint log-likelihoods are then shifted by a
per-row constant, which leaves posteriors, log-odds and predictions exact,
and the nearest class wins.
"""

from __future__ import annotations

import functools
import itertools
import math
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..exceptions import InvalidInputError
from ._transform import standardised_yeo_johnson

__all__ = ["SCORING_DTYPES", "FusedScorer", "check_finite", "fused_scorer"]

SCORING_DTYPES = ("float64", "float32")
# Projections computed at once; blocks of a few MiB stay in cache, which
# measured fastest on 1,000,000 x 30 (2 x 5 full components): 2,048-row blocks
# ran 1.7x the speed of 32,768-row ones.
_BLOCK_BYTES = 4 * 2**20
_MIN_BLOCK_ROWS = 64
# Feature columns per block of the dense product (see _column_blocks): narrower
# blocks skip more of a triangular factor's zeros but run BLAS less efficiently;
# on 30 features 3 blocks measured 1.15-1.2x one block, 4 and 5 no better.
_BLOCK_COLUMNS = 10
_LOG_2PI = math.log(2 * math.pi)
# Smallest argument whose exp is a normal number, per dtype (log of the smallest normal, rounded up).
_EXP_FLOOR = {"f": -87.0, "d": -708.0}

# One scorer per fitted estimator and dtype, outside the estimator so that
# predict leaves its __dict__ (and so pickles, clones and skops bundles) as it
# was. Each entry keeps the arrays it was built from and is rebuilt when the
# estimator's mixtures are replaced (e.g. by a new fit).
_CACHE: weakref.WeakKeyDictionary[Any, dict[str, tuple[tuple, FusedScorer]]] = weakref.WeakKeyDictionary()


def power_transform(estimator: Any) -> functools.partial | None:
    """The fitted feature transform of a classifier as a function of input rows (None: the identity).

    A partial of plain arrays, not a method, so the scorer cache holds no
    reference back to the estimator.
    """
    lambdas = getattr(estimator, "power_lambdas_", None)
    if lambdas is None:
        return None
    asinh = getattr(estimator, "asinh_params_", None)  # absent from the bundles of earlier releases
    return functools.partial(
        standardised_yeo_johnson, estimator.power_center_, estimator.power_scale_, lambdas, asinh=asinh
    )


def fused_scorer(estimator: Any, dtype: str = "float64") -> FusedScorer:
    """The cached :class:`FusedScorer` of a fitted GMMClassifier.

    Parameters
    ----------
    estimator : GMMClassifier
        A fitted classifier (``gmms_`` and ``class_prior_`` set).
    dtype : {"float64", "float32"}, default="float64"
        Precision of the projections.

    Returns
    -------
    FusedScorer
        Built on first use and kept while the estimator's mixtures and priors
        are the same objects.
    """
    if dtype not in SCORING_DTYPES:
        raise InvalidInputError(f"scoring_dtype must be one of {list(SCORING_DTYPES)}, got {dtype!r}.")
    gmms, prior = estimator.gmms_, estimator.class_prior_
    power = power_transform(estimator)
    key = (prior, *(a for g in gmms for a in (g, g.weights_, g.means_, g.precisions_cholesky_)))
    key += () if power is None else (*power.args, power.keywords["asinh"])
    entries = _CACHE.setdefault(estimator, {})
    cached = entries.get(dtype)
    if cached is not None and len(cached[0]) == len(key) and all(a is b for a, b in zip(cached[0], key, strict=True)):
        return cached[1]
    scorer = FusedScorer(gmms, np.log(prior), dtype=dtype, transform=power)
    entries[dtype] = (key, scorer)
    return scorer


def check_finite(X: np.ndarray, feature_names: Sequence[str] | None = None) -> None:
    """Raise InvalidInputError naming the rows and columns holding NaN or infinity.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated float input.
    feature_names : sequence of str, optional
        Column names for the message.

    Raises
    ------
    InvalidInputError
        When any value is NaN or infinite: no likelihood exists for it.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if X.size == 0 or np.isfinite(X.sum()):  # a finite sum means every value is finite
            return
    rows, cols = [], set()
    step = max(1, _BLOCK_BYTES // max(1, X.shape[1]))
    for start in range(0, X.shape[0], step):
        bad = ~np.isfinite(X[start : start + step])
        r, c = np.nonzero(bad)
        rows.extend(np.unique(r + start).tolist())
        cols.update(c.tolist())
    if not rows:  # the sum overflowed, every value is finite
        return
    names = [str(feature_names[c]) if feature_names is not None else str(c) for c in sorted(cols)]
    shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
    raise InvalidInputError(
        f"Input X contains NaN or infinity in {len(rows)} row(s) (rows {shown}; "
        f"column(s) {', '.join(names[:10])}{', ...' if len(names) > 10 else ''}); "
        "no likelihood exists for them. Impute or drop those values first "
        "(gmm_hub.tabular_pipeline() imputes missing values)."
    )


class FusedScorer:
    """Joint log-likelihoods ``log p(x | class) + log prior`` of every class at once.

    Parameters
    ----------
    gmms : sequence of GaussianMixture
        One fitted mixture per class, any covariance types.
    log_prior : ndarray of shape (n_classes,)
        Log prior of each class.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the projections. ``"float64"`` uses scikit-learn's formula
        (agreement to about 1e-14 relative); ``"float32"`` centres the rows on
        the mean of the component means first (in float64), then projects,
        squares and exponentiates in single precision: each residual errs by
        at most ``(d + 3) * 2**-24`` times the sum of its terms' magnitudes
        (tested as a bound; see the README for the measured figures). Rows
        that overflow in either mode are rescored in float64.
    block_bytes : int, optional
        Bytes of working memory per block of rows (default 4 MiB); at least
        64 rows are scored at once.
    transform : callable, optional
        Maps a block of input rows to the units of ``gmms`` (the classifier's
        feature transform), applied a block at a time so memory stays bounded.
    """

    def __init__(
        self,
        gmms: Sequence[Any],
        log_prior: np.ndarray,
        *,
        dtype: str = "float64",
        block_bytes: int | None = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.transform = transform
        self.dtype = np.dtype(dtype)
        self.block_bytes = int(_BLOCK_BYTES if block_bytes is None else block_bytes)
        self.n_classes = len(gmms)
        self.n_features = int(gmms[0].means_.shape[1])
        d = self.n_features
        means, factors, diagonal, const, owner = [], [], [], [], []
        for c, gmm in enumerate(gmms):
            kind, prec = gmm.covariance_type, np.asarray(gmm.precisions_cholesky_, dtype=np.float64)
            for k in range(gmm.n_components):
                if kind == "full":
                    factor = prec[k]
                elif kind == "tied":
                    factor = prec
                elif kind == "diag":
                    factor = prec[k]
                else:  # spherical
                    factor = np.full(d, prec[k])
                log_det = np.sum(np.log(np.diagonal(factor) if factor.ndim == 2 else factor))
                means.append(np.asarray(gmm.means_[k], dtype=np.float64))
                factors.append(factor)
                diagonal.append(factor.ndim == 1)
                const.append(math.log(gmm.weights_[k]) + log_det - 0.5 * d * _LOG_2PI + log_prior[c])
                owner.append(c)
        # Internal order: dense factors first, then diagonal ones; within each,
        # class order, so each class's components are contiguous in ``_order``.
        dense = [i for i, is_diag in enumerate(diagonal) if not is_diag]
        diag = [i for i, is_diag in enumerate(diagonal) if is_diag]
        internal = dense + diag
        order = np.argsort(np.array(owner)[internal], kind="stable")
        self._order = order  # internal columns -> class-grouped columns
        owners = np.array(owner)[internal][order]
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        self._classes = [slice(a, b) for a, b in zip(starts, np.r_[starts[1:], len(owners)], strict=True)]
        self._const = np.array(const)[internal][order]
        self._means = np.array(means)[internal][order]  # class-grouped, for the rescue
        self._factors = [np.diag(f) if f.ndim == 1 else f for f in (factors[i] for i in internal)]
        self._factors = [self._factors[i] for i in order]
        # float32 projects rows centred on ``centre``: smaller magnitudes, less cancellation
        centre = np.mean(means, axis=0) if self.dtype == np.float32 else np.zeros(d)
        self._centre = centre if self.dtype == np.float32 else None
        # Rows are scored transposed, one column per row: [1; x - centre] of
        # shape (d + 1, n), so every reduction below runs along contiguous rows.
        # Dense part: [-(mean_k - centre) @ P_k; P_k].T @ [1; x - centre].
        self._dense_blocks = _column_blocks([factors[i] for i in dense], [means[i] - centre for i in dense], self.dtype)
        # diagonal part: p_k * (x - centre) - p_k * (mean_k - centre)
        scale = np.array([factors[i] for i in diag]).reshape(len(diag), d)
        shift = np.array([(means[i] - centre) * factors[i] for i in diag]).reshape(len(diag), d)
        self._diag_scale = scale.astype(self.dtype)[:, :, None]
        self._diag_shift = shift.astype(self.dtype)[:, :, None]
        self._n_dense, self._n_diag = len(dense), len(diag)
        n_comp = len(internal)
        per_row = self.dtype.itemsize * (n_comp * d + 2 * (d + 1)) + 8 * (4 * n_comp + 2 * self.n_classes)
        self.block_rows = max(_MIN_BLOCK_ROWS, self.block_bytes // per_row)

    def joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """Scores of every row, shape (n_samples, n_classes).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Finite float64 input.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            ``log p(x | class) + log prior``; for rows rescued from overflow,
            shifted by a per-row constant.
        """
        out = np.empty((X.shape[0], self.n_classes))
        for rows, jll in self.blocks(X):
            out[rows] = jll
        return out

    def blocks(self, X: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(rows, joint log-likelihoods of those rows)`` a block at a time."""
        scratch = _Scratch()  # per call, so concurrent calls on one scorer stay apart
        for start in range(0, X.shape[0], self.block_rows):
            rows = slice(start, min(start + self.block_rows, X.shape[0]))
            block = X[rows] if self.transform is None else self.transform(X[rows])
            yield rows, self._score_block(block, scratch)

    def _score_block(self, x: np.ndarray, scratch: _Scratch) -> np.ndarray:
        if len(x) == 1:  # BLAS takes another path for one row; two keep results batch-independent
            return self._score_block(np.vstack([x, x]), scratch)[:1]
        n, d = x.shape
        n_comp = self._n_dense + self._n_diag
        sq = scratch.get("sq", (n_comp, n), self.dtype)
        sq[...] = 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            xa = scratch.get("xa", (d + 1, n), self.dtype)
            xa[0] = 1.0
            if self._centre is None:
                xa[1:] = x.T
            else:  # subtract in float64, then round
                np.subtract(x.T, self._centre[:, None], out=xa[1:], casting="same_kind")
            for inputs, weights, width in self._dense_blocks:
                y = np.matmul(weights, xa[:inputs], out=scratch.get("dense", (len(weights), n), self.dtype))
                np.multiply(y, y, out=y)
                sq[: self._n_dense] += np.add.reduce(y.reshape(self._n_dense, width, n), axis=1)
            if self._n_diag:
                y = np.multiply(
                    self._diag_scale, xa[None, 1:], out=scratch.get("diag", (self._n_diag, d, n), self.dtype)
                )
                y -= self._diag_shift
                np.multiply(y, y, out=y)
                np.add.reduce(y, axis=1, out=sq[self._n_dense :])
        log_prob = scratch.get("log_prob", (n_comp, n), np.float64)
        if self.dtype == np.float64:
            np.take(sq, self._order, axis=0, out=log_prob)
        else:
            log_prob[...] = sq[self._order]
        log_prob *= -0.5
        log_prob += self._const[:, None]
        jll = self._class_logsumexp(log_prob).T
        with np.errstate(invalid="ignore"):
            lost = ~np.isfinite(jll.max(axis=1))
        if lost.any():
            jll[lost] = self._rescaled(x[lost])
        return jll

    def _class_logsumexp(self, log_prob: np.ndarray, exp_dtype: np.dtype | None = None) -> np.ndarray:
        """Per-class logsumexp of ``log_prob`` (components x rows): shape (n_classes, n)."""
        out = np.empty((self.n_classes, log_prob.shape[1]))
        # float32 scores take the exponentials in float32 too (4x faster; the
        # largest term is exp(0) = 1, so the sum keeps about 1e-7 relative)
        exp_dtype = self.dtype if exp_dtype is None else exp_dtype
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for c, rows in enumerate(self._classes):
                part = log_prob[rows]
                top = np.maximum.reduce(part, axis=0)
                bad = ~np.isfinite(top)  # -inf (every component underflowed) or NaN: kept as they are
                kept = top[bad]
                top[bad] = 0.0
                shifted = np.subtract(part, top, dtype=exp_dtype)
                # exp of anything below this is a subnormal number or 0, which adds nothing to a sum
                # whose largest term is exp(0) = 1, but subnormal operands made it slower: clamped
                np.maximum(shifted, _EXP_FLOOR[shifted.dtype.char], out=shifted)
                np.exp(shifted, out=shifted)
                out[c] = np.log(np.add.reduce(shifted, axis=0, dtype=np.float64))
                out[c] += top
                out[c, bad] = kept
        return out

    def _rescaled(self, x: np.ndarray) -> np.ndarray:
        """Scores of rows whose every class underflowed, up to a per-row constant.

        With ``s = 2**e`` (``e >= 0``) at or below the largest magnitude of the
        row and of the means, ``u = (x / s) @ P`` and ``v = (mean / s) @ P``
        stay finite, and each Mahalanobis term is ``q = s**2 (|u|^2 - 2 u.v +
        |v|^2)``. Differences between components are taken term by term, so
        the linear term still separates components that share a factor, and
        are measured from the row's nearest component (two passes find it);
        ``excess = (q - q_min) / 2`` is then formed in log space, infinite only
        for components whose weight is exactly zero.
        """
        if len(x) == 1:  # as in _score_block
            return self._rescaled(np.vstack([x, x]))[:1]
        x = np.asarray(x, dtype=np.float64)
        n, n_comp = x.shape[0], len(self._const)
        top = np.maximum(np.abs(x).max(axis=1), np.abs(self._means).max())
        e = np.maximum(np.frexp(top)[1] - 1, 0)[:, None]  # ldexp scales exactly; 2**1024 overflows
        x_s = np.ldexp(x, -e)
        terms = np.empty((3, n, n_comp))
        for k, (mean, factor) in enumerate(zip(self._means, self._factors, strict=True)):
            u, v = x_s @ factor, np.ldexp(mean, -e) @ factor
            terms[:, :, k] = np.einsum("nd,nd->n", u, u), np.einsum("nd,nd->n", u, v), np.einsum("nd,nd->n", v, v)
        rows = np.arange(n)
        nearest = np.argmin(terms[0], axis=1)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            for _ in range(2):
                ref = terms[:, rows, nearest][:, :, None]
                delta = (terms[0] - ref[0]) - 2 * (terms[1] - ref[1]) + (terms[2] - ref[2])
                nearest = np.argmin(delta, axis=1)
            excess = np.sign(delta) * np.exp(math.log(0.5) + 2 * math.log(2.0) * e + np.log(np.abs(delta)))
            jll = self._class_logsumexp((self._const - excess).T, np.dtype(np.float64)).T
        lost = ~np.isfinite(jll.max(axis=1))
        if lost.any():  # only for a model whose factors or means are near the float64 limit
            raise InvalidInputError(
                f"No finite likelihood exists for {int(lost.sum())} row(s) of X even after "
                f"rescaling: the model's precisions or means are too large for float64. "
                "Refit the model on standardised features."
            )
        return jll


class _Scratch:
    """Working arrays reused by every block of one call.

    A fresh allocation per block is returned to the system when freed and
    paid for again in page faults (measured: 0.5 s per 1,000,000 rows on a
    process's first call, which is most calls); reusing them costs none.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A contiguous array of ``shape`` (contents undefined), reusing ``name``'s memory."""
        size, dtype = math.prod(shape), np.dtype(dtype)
        flat = self._arrays.get(name)
        if flat is None or flat.size < size or flat.dtype != dtype:
            flat = self._arrays[name] = np.empty(size, dtype=dtype)
        return flat[:size].reshape(shape)


def _column_blocks(
    factors: list[np.ndarray], offsets: list[np.ndarray], dtype: np.dtype
) -> list[tuple[int, np.ndarray, int]]:
    """The dense projection, split into blocks of feature columns that skip zero rows.

    Block ``[a, b)`` of every factor needs only the inputs above its last
    nonzero row; scikit-learn's precision factors are upper triangular, so
    column ``j`` needs ``j + 1`` of them, and ``ceil(d / 10)`` blocks of about
    10 columns do (1 + 1 / blocks) / 2 of the dense product's work (one block
    for other factors). Returns ``(inputs, weights, width)`` per block, with
    ``weights`` of shape (n_factors * width, inputs) so that ``weights @ [1; x]``
    gives each factor's ``width`` projections in turn.
    """
    if not factors:
        return []
    d = factors[0].shape[0]
    stacked = np.array(factors)
    # rows each column needs: 1 + index of its last nonzero row over every factor
    nonzero = np.any(stacked != 0, axis=0)
    needed = np.where(nonzero.any(axis=0), d - np.argmax(nonzero[::-1], axis=0), 0)
    edges = np.linspace(0, d, -(-d // _BLOCK_COLUMNS) + 1).round().astype(int)
    spans = [(a, b, int(needed[a:b].max())) for a, b in itertools.pairwise(edges)]
    if all(r == d for _, _, r in spans):
        spans = [(0, d, d)]
    blocks = []
    for a, b, r in spans:
        rows = [np.vstack([-(o @ f)[a:b][None], f[:r, a:b]]) for f, o in zip(factors, offsets, strict=True)]
        blocks.append((1 + r, np.ascontiguousarray(np.concatenate(rows, axis=1).T, dtype=dtype), b - a))
    return blocks
