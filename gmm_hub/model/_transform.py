"""Per-feature Yeo-Johnson transforms that make skewed features closer to Gaussian.

A mixture of a few Gaussians fits a heavy-tailed or skewed feature badly: it
spends components on the tail, or stretches one over it. The Yeo-Johnson
transform (Yeo & Johnson, 2000) bends each feature toward a Gaussian marginal
with one parameter ``lam`` per feature, chosen by maximum likelihood
(:func:`scipy.stats.yeojohnson_normmax`, what scikit-learn's
``PowerTransformer`` uses). It is applied to standardised features, so the
transformed model is still invariant to each feature's units, and it is smooth,
monotone and defined on the whole real line: unlike a quantile transform, it
does not clip values beyond the training range, which in fraud data are the
rows that matter.

Features where it cannot help are left as they are (``lam = 1``, the
identity): features with fewer than three distinct values (any monotone map of
a binary column is affine, so it changes nothing), and features where one value
holds half the rows or more (a point mass, like a capital gain that is mostly
0, cannot be bent into a Gaussian; the transform would only stretch the rest).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import yeojohnson_normmax

#: A value held by at least this share of a feature's rows is a point mass no transform can spread.
MAX_POINT_MASS = 0.5
#: Transformed values are kept within +-this, so every finite input keeps a finite score.
_LIMIT = 1e100


def fit_lambdas(Z: np.ndarray) -> np.ndarray:
    """Maximum-likelihood Yeo-Johnson parameter of each standardised feature.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Standardised features.

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
            lambdas[j] = float(yeojohnson_normmax(column))
    return lambdas


def yeo_johnson(Z: np.ndarray, lambdas: np.ndarray, *, copy: bool = True) -> np.ndarray:
    """Apply each feature's Yeo-Johnson transform (in a new array unless ``copy=False``).

    ``((z + 1)**lam - 1) / lam`` for ``z >= 0`` and
    ``-((1 - z)**(2 - lam) - 1) / (2 - lam)`` for ``z < 0``, with the log
    limits at ``lam = 0`` and ``lam = 2``.
    """
    out = np.array(Z, dtype=np.float64, copy=True) if copy else np.asarray(Z, dtype=np.float64)
    for j in np.flatnonzero(lambdas != 1.0):
        z, lam = out[:, j], lambdas[j]
        pos = z >= 0
        # log1p(|z|) scaled by the exponent: expm1 keeps precision near 0 and lam near 0 or 2
        with np.errstate(over="ignore"):
            a = np.log1p(z[pos])
            z[pos] = a if lam == 0 else np.expm1(lam * a) / lam
            b = np.log1p(-z[~pos])
            z[~pos] = -b if lam == 2 else -np.expm1((2 - lam) * b) / (2 - lam)
    np.clip(out, -_LIMIT, _LIMIT, out=out)
    return out


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
