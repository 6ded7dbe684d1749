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
(:func:`joint_lambdas`): each class's Gaussian log-likelihood per row, with
a shrunk covariance and the transform's Jacobian, averaged over classes,
must be higher with it than without.

Features where it cannot help are left as they are (``lam = 1``, the
identity): features with fewer than three distinct values (any monotone map of
a binary column is affine, so it changes nothing), and features where one value
holds half the rows or more (a point mass, like a capital gain that is mostly
0, cannot be bent into a Gaussian; the transform would only stretch the rest).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import fminbound
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


def joint_lambdas(Z: np.ndarray, lambdas: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``lambdas`` if bending the features makes the classes more Gaussian jointly, else no bend at all.

    The criterion is the mean over classes (a rare class counts as much as
    the majority, as in :func:`fit_lambdas`) of each class's log-likelihood
    per row under one Gaussian with the Oracle Approximating Shrinkage
    covariance (Chen et al., 2010; scikit-learn's ``OAS``), the Jacobian of the transform and of the
    re-standardisation included, so both choices are densities of ``Z``.
    All or none: on linearly related features bending any one alone breaks
    the relation, and on a class made of several clusters one Gaussian is too
    crude a judge of single features (the fraud-shaped data of
    ``scripts/bench_fit.py`` lost up to 2% of its majority's held-out
    log-likelihood when features were chosen one at a time).

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Standardised features.
    lambdas : ndarray of shape (n_features,)
        Each feature's parameter (from :func:`fit_lambdas`).
    groups : list of ndarray
        Row indices of each class; classes of fewer than two rows, or
        constant, do not vote.

    Returns
    -------
    ndarray of shape (n_features,)
        ``lambdas``, or all ``1.0`` when the features are better left as they are
        (kept when no class can judge).
    """
    bent = np.flatnonzero(lambdas != 1.0)
    if not bent.size:
        return lambdas
    U = yeo_johnson(Z, lambdas)
    scale = U.std(axis=0)
    scale[~(scale > 0)] = 1.0
    U = (U - U.mean(axis=0)) / scale
    jacobian = log_jacobian(Z, lambdas) - np.log(scale).sum()
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
    return lambdas if not gains or np.mean(gains) > 0 else np.ones_like(lambdas)


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


def yeo_johnson(Z: np.ndarray, lambdas: np.ndarray, *, copy: bool = True) -> np.ndarray:
    """Apply each feature's Yeo-Johnson transform (in a new array unless ``copy=False``).

    ``((z + 1)**lam - 1) / lam`` for ``z >= 0`` and
    ``-((1 - z)**(2 - lam) - 1) / (2 - lam)`` for ``z < 0``, with the log
    limits at ``lam = 0`` and ``lam = 2``.
    """
    out = np.array(Z, dtype=np.float64, copy=True) if copy else np.asarray(Z, dtype=np.float64)
    cols = np.flatnonzero(lambdas != 1.0)
    if cols.size:
        lam = lambdas[cols]
        step = max(1, _BLOCK_VALUES // cols.size)  # blocks whose temporaries stay in cache
        every = cols.size == out.shape[1]  # slices, not fancy indexing, when every column bends
        for start in range(0, len(out), step):
            rows = slice(start, start + step)
            if every:
                out[rows] = _signed_bend(out[rows], lam)
            else:
                out[rows, cols] = _signed_bend(out[rows][:, cols], lam)
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


def standardised_yeo_johnson(center: np.ndarray, scale: np.ndarray, lambdas: np.ndarray, X: np.ndarray) -> np.ndarray:
    """:func:`yeo_johnson` of ``(X - center) / scale``: input rows in the units of the transformed model."""
    return yeo_johnson((X - center) / scale, lambdas, copy=False)


def log_jacobian(Z: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """Log-determinant of the transform's Jacobian at each row, shape (n_samples,).

    The derivative of the transform of one feature is ``(1 + |z|)**(sign(z) * (lam - 1))``.
    """
    out = np.zeros(Z.shape[0])
    for j in np.flatnonzero(lambdas != 1.0):
        z = Z[:, j]
        out += (lambdas[j] - 1.0) * np.sign(z) * np.log1p(np.abs(z))
    return out
