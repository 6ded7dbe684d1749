"""Per-feature Yeo-Johnson transforms that make skewed features closer to Gaussian.

A mixture of a few Gaussians fits a heavy-tailed or skewed feature badly: it
spends components on the tail, or stretches one over it. The Yeo-Johnson
transform (Yeo & Johnson, 2000) bends each feature toward a Gaussian marginal
with one parameter ``lam`` per feature, chosen by maximum likelihood
(the search of :func:`scipy.stats.yeojohnson_normmax`, what
scikit-learn's ``PowerTransformer`` uses), with two changes. The search is
held to ``[0, 2]``: for ``lam < 0`` the positive half-line maps onto a
bounded interval, and for ``lam > 2`` the negative one does, so a Gaussian
fitted to the transformed values would put mass where no input maps, and the
density in input units would integrate to less than one. And given classes,
the likelihood is the mean over classes of each class's Gaussian
log-likelihood per row: the classifier fits a density per class, so each
class, not the pooled data, should look Gaussian, and a rare class counts as
much as the majority (on pooled data the majority's shape decides).
It is applied to standardised features, so the
transformed model is still invariant to each feature's units, and it is smooth,
monotone and defined on the whole real line: unlike a quantile transform, it
does not clip values beyond the training range, which in fraud data are the
rows that matter.

Each parameter is chosen on its feature's marginal, but the mixtures model
the features jointly, and bending each of a set of linearly related features
on its own destroys the relation (on linearly mixed data the marginals can
look skewed while the joint is close to Gaussian in a rotated frame). So the
transform is kept only if it makes the classes more Gaussian *jointly*
(:func:`joint_transform`): each class's Gaussian log-likelihood per row, with
a shrunk covariance and the transform's Jacobian, averaged over classes,
must be higher with it than without.

Neither power can compress both tails, which symmetric heavy tails (a
Cauchy or Student-t feature) need, and both bend about the feature's mean,
which is far from the bulk of a strongly skewed one (a log-normal amount).
So with ``feature_transform="auto"`` a continuous feature (distinct values
in at least half its rows) may instead take Johnson's S_U transform
(Johnson, 1949), ``asinh((z - shift) / spread)``: logarithmic in both tails
beyond ``spread`` of ``shift``, linear within, and, for a large ``spread``,
the identity. Its two parameters are fitted by the same class-averaged
likelihood (:func:`fit_asinh`), and it is kept where it beats the
Yeo-Johnson fit on held-out rows. It maps
the real line onto the real line, so its densities integrate to one.
Discrete features never take it: a shift on a repeated value with a tiny
spread would buy likelihood from the spike alone.

Features where it cannot help are left as they are (``lam = 1``, the
identity): features with fewer than three distinct values (any monotone map of
a binary column is affine, so it changes nothing), and features where one value
holds half the rows or more (a point mass, like a capital gain that is mostly
0, cannot be bent into a Gaussian; the transform would only stretch the rest).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.optimize import fminbound, minimize
from sklearn.covariance import OAS

#: A value held by at least this share of a feature's rows is a point mass no transform can spread.
MAX_POINT_MASS = 0.5
#: Parameters searched: outside it one branch of the transform is bounded (see the module's docstring).
LAMBDA_RANGE = (0.0, 2.0)
#: Transformed values are kept within +-this, so every finite input keeps a finite score.
_LIMIT = 1e100
# Values transformed at once: a few hundred KiB of temporaries stay in cache.
_BLOCK_VALUES = 2**15
#: Powers closer than this to 0 are bent with expm1/log1p (see :func:`_signed_bend`).
_EXACT_POWER = 1e-3
#: A feature with distinct values in at least this share of its rows is continuous (may take S_U).
CONTINUOUS_SHARE = 0.5
#: Bounds of S_U's spread, in standard deviations of the feature: the likelihood is unbounded as
#: the spread goes to 0 about a data point, and past 1e3 the transform is the identity to 1e-7.
ASINH_SPREAD = (1e-3, 1e3)
#: Rows per class S_U is fitted on: two shape parameters, estimated to a few percent of their spread.
ASINH_ROWS = 2000
#: Expected excess held-out loss, nats per row, that estimating the bends from a subsample may add
#: (the budget of the refit's subsample, ``gmm_hub.model._selection.REFIT_EXCESS_NATS``).
SHAPE_EXCESS_NATS = 0.01


def shape_rows(n_features: int) -> int:
    """Rows per class from which each feature's Yeo-Johnson parameter is estimated.

    A maximum-likelihood estimate of ``p`` parameters from ``m`` rows loses
    about ``p / (2 m)`` nats per row of expected held-out log-likelihood
    (the optimism AIC corrects for; Akaike, 1974), whatever the units: one
    parameter per feature keeps the loss under :data:`SHAPE_EXCESS_NATS`
    from ``n_features / (2 * SHAPE_EXCESS_NATS)`` rows, and never fewer
    than S_U's :data:`ASINH_ROWS`. More rows only cost time (a tenth of a
    284,807 x 30 fit at 10,000 rows per class).
    """
    return max(ASINH_ROWS, math.ceil(n_features / (2 * SHAPE_EXCESS_NATS)))


def evenly_spaced(rows: np.ndarray, size: int) -> np.ndarray:
    """At most ``size`` of ``rows``, evenly spaced (all of them when there are no more)."""
    return rows[:: max(1, len(rows) // size)][:size]


#: Standard errors of the excess kurtosis beyond which a bent feature's tails are heavy (S_U is tried).
ASINH_KURTOSIS = 2.0


def fit_lambdas(Z: np.ndarray, groups: list[np.ndarray] | None = None) -> np.ndarray:
    """Maximum-likelihood Yeo-Johnson parameter in ``[0, 2]`` of each standardised feature.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Standardised features.
    groups : list of ndarray or None, default=None
        Row indices of each class: the parameter then maximises the mean over
        classes of each class's log-likelihood per row (classes of fewer than
        two rows are left out). None: the pooled log-likelihood.

    Returns
    -------
    ndarray of shape (n_features,)
        ``1.0`` (the identity) where the transform is not applied.
    """
    lambdas = np.ones(Z.shape[1])
    for j in range(Z.shape[1]):
        column = Z[:, j]
        _, counts = np.unique(column, return_counts=True)
        if len(counts) >= 3 and counts.max() < MAX_POINT_MASS * len(column):
            lambdas[j] = _normmax(column, groups)
    return lambdas


def fit_asinh(Z: np.ndarray, lambdas: np.ndarray, groups: list[np.ndarray] | None = None) -> np.ndarray | None:
    """Johnson S_U parameters of the continuous features where they beat the Yeo-Johnson fit on held-out rows.

    For each feature with distinct values in at least
    :data:`CONTINUOUS_SHARE` of its rows, ``(shift, spread)`` maximise the
    mean over classes of each class's Gaussian log-likelihood per row of
    ``asinh((z - shift) / spread)``, the Jacobian included (the criterion of
    :func:`fit_lambdas`), by L-BFGS-B from three starts (the median, and
    the 1% and 99% quantiles with a narrow spread, where a skewed
    feature's optimum lies), where the feature's Yeo-Johnson bend leaves
    some class's tails measurably heavier than a Gaussian's
    (:func:`_heavy_tailed`). The family is chosen out of sample: each
    class's rows are split in two (alternate rows), both transforms are
    fitted on one half (S_U from its fit on all rows) and scored on the
    other (the Gaussian fitted on the transformed half, its Jacobian
    included), both ways, and S_U is kept
    where its held-out log-likelihood is higher. In-sample, S_U's shift
    settles just below a skewed feature's smallest value with a narrow
    spread, which sends new rows beyond it far out (the threshold problem
    of the three-parameter log-normal); held out, such a fit is scored on
    rows it did not see.
    Each class contributes at most :data:`ASINH_ROWS` evenly spaced rows.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Standardised features.
    lambdas : ndarray of shape (n_features,)
        Each feature's Yeo-Johnson parameter (from :func:`fit_lambdas`).
    groups : list of ndarray or None, default=None
        Row indices of each class (as in :func:`fit_lambdas`); classes of
        fewer than four rows are left out. None: all rows, pooled.

    Returns
    -------
    ndarray of shape (n_features, 2) or None
        ``(shift, spread)`` of each feature, NaN where S_U is not used;
        None where no feature uses it.
    """
    groups = [np.arange(len(Z))] if groups is None else groups
    parts = [evenly_spaced(rows, ASINH_ROWS) for rows in groups if len(rows) >= 4]
    if not parts:
        return None
    params = np.full((Z.shape[1], 2), np.nan)
    for j in range(Z.shape[1]):
        column = Z[:, j]
        if len(np.unique(column)) < CONTINUOUS_SHARE * len(column):
            continue
        columns = [column[rows] for rows in parts]
        if not _heavy_tailed(columns, lambdas[j]):
            continue
        fitted = _asinh_max(columns)[0]
        halves = ([z[0::2] for z in columns], [z[1::2] for z in columns])
        # each row's held-out gain, both ways round, so every row of every class is scored once
        gains = [
            np.concatenate(pair) for pair in zip(*(_gains(*h, fitted) for h in (halves, halves[::-1])), strict=True)
        ]
        if np.mean([g.mean() for g in gains]) > 0:
            params[j] = fitted
    return None if np.isnan(params[:, 0]).all() else params


def _heavy_tailed(columns: list[np.ndarray], lam: float) -> bool:
    """Whether any class's Yeo-Johnson-bent values have heavier tails than a Gaussian's.

    The excess kurtosis of ``n`` Gaussian values has a standard error of
    ``sqrt(24 / n)``; beyond :data:`ASINH_KURTOSIS` of them the tails are
    measurably heavy. Where they are not, S_U, which differs from the power
    bends in the tails, has nothing to gain.
    """
    for z in columns:
        bent = yeo_johnson(z[:, None], np.array([lam]))[:, 0]
        bent -= bent.mean()
        var = float(np.mean(bent * bent))
        if var > 0 and float(np.mean(bent**4)) / var**2 - 3.0 > ASINH_KURTOSIS * np.sqrt(24.0 / len(z)):
            return True
    return False


Bend = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _power(columns: list[np.ndarray]) -> Bend:
    """The Yeo-Johnson bend fitted to ``columns`` (one per class): ``z -> (bent, log-derivative)``."""
    rows = np.split(np.arange(sum(map(len, columns))), np.cumsum([len(z) for z in columns])[:-1])
    lam = np.array([_normmax(np.concatenate(columns), rows)])
    return lambda z: (yeo_johnson(z[:, None], lam)[:, 0], log_jacobian(z[:, None], lam))


def _asinh(params: np.ndarray) -> Bend:
    """The S_U bend of ``(shift, spread)``: ``z -> (bent, log-derivative)``."""
    params = params[None]
    return lambda z: (asinh_bend(z[:, None].copy(), params)[:, 0], asinh_log_jacobian(z[:, None], params))


def _gains(train: list[np.ndarray], test: list[np.ndarray], start: np.ndarray) -> list[np.ndarray]:
    """Per class, each ``test`` row's held-out log-likelihood under S_U less that under Yeo-Johnson.

    The S_U fit on ``train`` starts from ``start`` (the fit on all rows).
    """
    asinh = _held_out(_asinh(_asinh_max(train, start)[0]), train, test)
    return [a - b for a, b in zip(asinh, _held_out(_power(train), train, test), strict=True)]


def _held_out(bend: Bend, train: list[np.ndarray], test: list[np.ndarray]) -> list[np.ndarray]:
    """Per class, each ``test`` row's log-likelihood under ``bend`` and the Gaussian fitted on ``train``."""
    scores = []
    for z_train, z_test in zip(train, test, strict=True):
        fitted = bend(z_train)[0]
        mean, var = fitted.mean(), max(float(fitted.var()), np.finfo(np.float64).tiny)
        with np.errstate(over="ignore", invalid="ignore"):
            bent, log_derivative = bend(z_test)
            value = -0.5 * np.log(var) - (bent - mean) ** 2 / (2 * var) + log_derivative
        scores.append(np.where(np.isfinite(value), value, -1e300))  # a row sent to infinity: lost
    return scores


def _asinh_max(columns: list[np.ndarray], start: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """``(shift, spread)`` maximising the class-averaged S_U log-likelihood, and that maximum.

    From ``start`` alone when given (a fit on some of the rows, warm-started
    from the fit on all of them), else from three starts.
    """
    everything = np.concatenate(columns)
    first = np.cumsum([0] + [len(z) for z in columns[:-1]])  # where each class's rows begin
    counts = np.array([len(z) for z in columns], dtype=float)
    tiny = np.finfo(np.float64).tiny

    def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
        shift, log_spread = theta
        spread = np.exp(log_spread)
        t = (everything - shift) / spread
        root = np.sqrt(1.0 + t * t)
        r = 1.0 / root  # d asinh / dt
        # asinh(t) from the root it shares with r: 1.8x faster than np.arcsinh and np.hypot, equal to 4e-15
        u = np.copysign(np.log(np.abs(t) + root), t)
        tr = t * r
        # every per-class mean the value and the gradient need, in one pass over the classes
        parts = np.empty((9, len(t)))
        parts[0], parts[2], parts[3], parts[6] = u, np.log(root), r, tr
        np.multiply(u, u, out=parts[1])
        np.multiply(u, r, out=parts[4])
        np.multiply(tr, r, out=parts[5])
        np.multiply(u, tr, out=parts[7])
        np.multiply(tr, tr, out=parts[8])
        mu, uu, log_root, m_r, m_ur, m_trr, m_tr, m_utr, m_tt = np.add.reduceat(parts, first, axis=1) / counts
        var = np.maximum(uu - mu * mu, tiny)
        a, b = m_ur - mu * m_r, m_trr  # mean((u - mu) r) and mean(t r^2): d(log var)/2 and d(log h), per unit of t
        at, bt = m_utr - mu * m_tr, m_tt
        value = np.mean(0.5 * np.log(var) + log_spread + log_root)
        grad = np.array(
            [-np.mean(a / var + b) / spread, np.mean(1.0 - at / var - bt)]
        )  # dt/dshift = -1/spread; dt/dlog_spread = -t
        return float(value), grad

    bounds = [(float(everything.min()) - 1.0, float(everything.max()) + 1.0), tuple(np.log(ASINH_SPREAD))]
    if start is None:
        lo, mid, hi = np.quantile(everything, [0.01, 0.5, 0.99])
        starts = [(mid, 0.0), (lo, np.log(0.1)), (hi, np.log(0.1))]
    else:
        starts = [(float(np.clip(start[0], *bounds[0])), float(np.log(start[1])))]
    best = None
    for point in starts:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            found = minimize(negative, np.array(point, dtype=float), jac=True, method="L-BFGS-B", bounds=bounds)
        if np.isfinite(found.fun) and (best is None or found.fun < best.fun):
            best = found
    if best is None:
        return np.array([0.0, ASINH_SPREAD[1]]), -np.inf
    # the constant -0.5 * log(2 pi e) is left out of both criteria
    return np.array([best.x[0], np.exp(best.x[1])]), -float(best.fun)


def asinh_bend(Z: np.ndarray, params: np.ndarray | None) -> np.ndarray:
    """Apply ``asinh((z - shift) / spread)`` in place to the features whose ``params`` row is not NaN."""
    if params is None:
        return Z
    for j in np.flatnonzero(~np.isnan(params[:, 0])):
        Z[:, j] = np.arcsinh((Z[:, j] - params[j, 0]) / params[j, 1])
    return Z


def asinh_log_jacobian(Z: np.ndarray, params: np.ndarray | None) -> np.ndarray:
    """Log-determinant of :func:`asinh_bend`'s Jacobian at each row (``Z`` before the bend)."""
    out = np.zeros(Z.shape[0])
    if params is None:
        return out
    for j in np.flatnonzero(~np.isnan(params[:, 0])):
        out -= np.log(params[j, 1]) + np.log(np.hypot(1.0, (Z[:, j] - params[j, 0]) / params[j, 1]))
    return out


def joint_transform(
    Z: np.ndarray, lambdas: np.ndarray, asinh: np.ndarray | None, groups: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray | None]:
    """The per-feature transforms that make the classes most Gaussian jointly, or none at all.

    The candidates are the Yeo-Johnson bends alone (``lambdas``) and, given
    ``asinh``, the mix in which its features take S_U instead; the one with
    the larger :func:`joint_gain` is kept if that gain is positive (or if no
    class can judge). The criterion is the mean over classes (a rare class
    counts as much as the majority, as in :func:`fit_lambdas`) of each
    class's log-likelihood per row under one Gaussian with the Oracle
    Approximating Shrinkage covariance (Chen et al., 2010; scikit-learn's
    ``OAS``), the Jacobian of the transform and of the re-standardisation
    included, so every choice is a density of ``Z``. All or none: on
    linearly related features bending any one alone breaks the relation,
    and on a class made of several clusters one Gaussian is too crude a
    judge of single features (the fraud-shaped data of
    ``scripts/bench_fit.py`` lost up to 2% of its majority's held-out
    log-likelihood when features were chosen one at a time).

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Standardised features.
    lambdas : ndarray of shape (n_features,)
        Each feature's Yeo-Johnson parameter (from :func:`fit_lambdas`).
    asinh : ndarray of shape (n_features, 2) or None
        S_U parameters (from :func:`fit_asinh`), or None.
    groups : list of ndarray
        Row indices of each class; classes of fewer than two rows, or
        constant, do not vote.

    Returns
    -------
    lambdas : ndarray of shape (n_features,)
        The kept Yeo-Johnson parameters (``1.0`` where a feature takes S_U),
        or all ``1.0`` when the features are better left as they are.
    asinh : ndarray of shape (n_features, 2) or None
        ``asinh`` if the mix is kept, else None.
    """
    candidates: list[tuple[np.ndarray, np.ndarray | None]] = [(lambdas, None)]
    if asinh is not None:
        candidates.append((np.where(np.isnan(asinh[:, 0]), lambdas, 1.0), asinh))
    gains = [joint_gain(Z, lam, params, groups) for lam, params in candidates]
    best = 1 if len(gains) > 1 and gains[1] > gains[0] else 0
    return candidates[best] if not gains[best] <= 0 else (np.ones_like(lambdas), None)  # NaN: no class judged


def joint_gain(Z: np.ndarray, lambdas: np.ndarray, asinh: np.ndarray | None, groups: list[np.ndarray]) -> float:
    """The criterion of :func:`joint_transform`: the class-averaged gain in nats per row, NaN when no class judges."""
    if not (lambdas != 1.0).any() and asinh is None:
        return 0.0
    U = asinh_bend(yeo_johnson(Z, lambdas), asinh)
    scale = U.std(axis=0)
    scale[~(scale > 0)] = 1.0
    U = (U - U.mean(axis=0)) / scale
    jacobian = log_jacobian(Z, lambdas) + asinh_log_jacobian(Z, asinh) - np.log(scale).sum()
    gains = []
    for rows in groups:
        if len(rows) < 2 or not np.ptp(Z[rows], axis=0).any():
            continue
        try:
            with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                gain = OAS().fit(U[rows]).score(U[rows]) + jacobian[rows].mean() - OAS().fit(Z[rows]).score(Z[rows])
        except (np.linalg.LinAlgError, ValueError):  # values too extreme for a covariance: no vote
            continue
        if np.isfinite(gain):
            gains.append(gain)
    return float(np.mean(gains)) if gains else np.nan


def _normmax(z: np.ndarray, groups: list[np.ndarray] | None = None) -> float:
    """:func:`scipy.stats.yeojohnson_normmax` of ``z`` within ``[0, 2]``: scipy's bounded search and likelihood.

    The log-likelihood ``-n/2 log var(psi) + (lam - 1) sum(sign(z) log1p|z|)``
    is evaluated on ``log1p(|z|)`` computed once, split by sign (the variance
    does not depend on the order of the rows), which makes each evaluation a
    single ``expm1`` per row instead of scipy's masked transform. With
    ``groups``, the mean over groups of each group's Gaussian log-likelihood
    per row.
    """
    logs = np.log1p(np.abs(z))
    parts = []
    for rows in [np.arange(len(z))] if groups is None else groups:
        if len(rows) >= 2:
            pos, neg = logs[rows][z[rows] >= 0], logs[rows][z[rows] < 0]
            parts.append((pos, neg, float(np.sum(pos) - np.sum(neg)) / len(rows)))
    if not parts:
        return 1.0  # no class has two rows: no variance to judge a transform by
    tiny = np.finfo(np.float64).smallest_normal

    def neg_llf(lam: float) -> float:
        total = 0.0
        for pos, neg, jacobian in parts:
            with np.errstate(over="ignore", invalid="ignore"):
                var = np.concatenate([_bent(pos, lam), -_bent(neg, 2.0 - lam)]).var()
            if not (tiny <= var < np.inf):
                return np.inf  # as scipy: a likelihood that over- or underflows is rejected
            total += 0.5 * np.log(var) - (lam - 1.0) * jacobian
        return total

    # scipy's bounds: transformed values of up to 20 times the largest |z| stay finite
    eps = np.finfo(np.float64).eps
    log1p_max = np.log1p(20 * np.max(np.abs(z)))
    lb = (np.log(tiny) - np.log(eps)) / 2 / log1p_max
    ub = (np.log(np.finfo(np.float64).max) + np.log(eps)) / 2 / log1p_max
    if not (z >= 0).any():
        lb, ub = 2 - ub, 2 - lb
    elif (z < 0).any():
        lb, ub = max(2 - ub, lb), min(2 - lb, ub)
    # within [0, 2] the transform maps the real line onto the real line (see the module's docstring)
    lb, ub = max(lb, LAMBDA_RANGE[0]), min(ub, LAMBDA_RANGE[1])
    return float(fminbound(neg_llf, lb, ub, xtol=1.48e-08))


def _bent(logs: np.ndarray, power: float) -> np.ndarray:
    """``((1 + |z|)**power - 1) / power`` from ``log1p(|z|)``, the log at ``power = 0``."""
    return logs if abs(power) < np.finfo(np.float64).eps else np.expm1(power * logs) / power


def yeo_johnson(Z: np.ndarray, lambdas: np.ndarray, *, copy: bool = True, threads: int = 1) -> np.ndarray:
    """Apply each feature's Yeo-Johnson transform (in a new array unless ``copy=False``).

    ``((z + 1)**lam - 1) / lam`` for ``z >= 0`` and
    ``-((1 - z)**(2 - lam) - 1) / (2 - lam)`` for ``z < 0``, with the log
    limits at ``lam = 0`` and ``lam = 2``. With ``threads`` > 1, that many
    threads bend a contiguous share of the rows each (every value is bent on
    its own, so the result is the same).
    """
    out = np.array(Z, dtype=np.float64, copy=True) if copy else np.asarray(Z, dtype=np.float64)
    cols = np.flatnonzero(lambdas != 1.0)
    if cols.size:
        lam = lambdas[cols]
        step = max(1, _BLOCK_VALUES // cols.size)  # blocks whose temporaries stay in cache
        every = cols.size == out.shape[1]  # slices, not fancy indexing, when every column bends

        def bend(first: int, last: int) -> None:
            for start in range(first, last, step):
                rows = slice(start, min(start + step, last))
                if every:
                    out[rows] = _signed_bend(out[rows], lam)
                else:
                    out[rows, cols] = _signed_bend(out[rows][:, cols], lam)

        shares = np.linspace(0, len(out), min(threads, -(-len(out) // step)) + 1).astype(int)
        if len(shares) > 2:
            with ThreadPoolExecutor(len(shares) - 1) as pool:
                list(pool.map(bend, shares[:-1], shares[1:]))
        else:
            bend(0, len(out))
    np.clip(out, -_LIMIT, _LIMIT, out=out)
    return out


def _signed_bend(z: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``sign(z) * ((1 + |z|)**p - 1) / p``, ``p = lam`` for ``z >= 0`` and ``2 - lam`` below, the log at ``p = 0``.

    numpy vectorises ``exp`` and ``log`` but not ``expm1`` and ``log1p``, so
    the bend is ``(exp(p * log(1 + |z|)) - 1) / p``: twice as fast, and
    rounding ``1 + |z|`` and the exponential moves the result by about
    ``eps / p`` absolutely (5e-15 for ``p`` near 0.3). Columns whose ``p`` can
    come within :data:`_EXACT_POWER` of 0 take ``expm1(p * log1p(|z|)) / p``.
    """
    near = (np.abs(lam) < _EXACT_POWER) | (np.abs(2.0 - lam) < _EXACT_POWER)
    if not near.any():
        return _fast_bend(z, lam)
    out = np.empty_like(z)
    out[:, near] = _exact_bend(z[:, near], lam[near])
    out[:, ~near] = _fast_bend(z[:, ~near], lam[~near])
    return out


def _fast_bend(z: np.ndarray, lam: np.ndarray) -> np.ndarray:
    power = np.where(np.signbit(z), 2.0 - lam, lam)
    out = np.abs(z)
    out += 1.0
    np.log(out, out=out)
    out *= power
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out -= 1.0
    out /= power
    return np.copysign(out, z, out=out)


def _exact_bend(z: np.ndarray, lam: np.ndarray) -> np.ndarray:
    logs = np.log1p(np.abs(z))  # expm1 of log1p keeps precision for p near 0
    power = np.where(z >= 0, lam, 2.0 - lam)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        bent = np.expm1(power * logs) / power
    limit = power == 0
    bent[limit] = logs[limit]
    return np.copysign(bent, z)


def standardised_yeo_johnson(
    center: np.ndarray, scale: np.ndarray, lambdas: np.ndarray, X: np.ndarray, asinh: np.ndarray | None = None
) -> np.ndarray:
    """The bends of ``(X - center) / scale`` (Yeo-Johnson, then S_U): input rows in the transformed model's units."""
    return asinh_bend(yeo_johnson((X - center) / scale, lambdas, copy=False), asinh)


def log_jacobian(Z: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """Log-determinant of the transform's Jacobian at each row, shape (n_samples,).

    The derivative of the transform of one feature is ``(1 + |z|)**(sign(z) * (lam - 1))``.
    """
    out = np.zeros(Z.shape[0])
    for j in np.flatnonzero(lambdas != 1.0):
        z = Z[:, j]
        out += (lambdas[j] - 1.0) * np.sign(z) * np.log1p(np.abs(z))
    return out
