"""The covariance prior of each class's mixture, in the data's own units.

Mixtures are fitted on standardised features (each centred and divided by its
standard deviation over all training rows) and mapped back to the input units
afterwards (:func:`~gmm_hub.model._em.to_input_units`), so the fitted model does not depend on the
units of any feature: every amount below is relative to the data's own scale.

Each component's covariance is the maximum a posteriori estimate under a
conjugate (inverse-Wishart) prior centred on the pooled within-class covariance,
worth ``rows`` pseudo-rows::

    cov_j = (N_j * S_j + rows * pooled) / (N_j + rows) + diag(floor)

where ``N_j`` is the component's share of the class's rows and ``S_j`` its
weighted scatter. The prior's weight ``rows / (N_j + rows)`` vanishes as the
class grows, so a large class gets the maximum-likelihood fit, while a
minority class of a few rows is shrunk toward the shape the other classes
share, as in regularised discriminant analysis (Friedman, 1989), instead of
collapsing onto its points. ``floor`` is the variance a discrete feature's
quantisation adds (``gap**2 / 12`` for the smallest gap between its distinct
values, the variance of the uniform noise that dequantises it) plus a relative
``reg_covar`` for numerical safety: a one-hot column that is constant within a
component then keeps a variance set by its own spacing rather than going to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular
from sklearn.covariance import ledoit_wolf


@dataclass(frozen=True)
class CovariancePrior:
    """What every M-step of one class's mixtures adds to its covariances.

    Attributes
    ----------
    target : ndarray of shape (n_features, n_features)
        Covariance the prior is centred on (standardised units).
    rows : float
        Pseudo-rows the prior is worth, per component.
    floor : ndarray of shape (n_features,)
        Variance added to the diagonal of every covariance.
    shape : ndarray of shape (n_features, n_features) or None
        Correlation the floor is spread with in full and tied covariances
        (``sqrt(floor) * shape * sqrt(floor)``); None: diagonal.
    """

    target: np.ndarray
    rows: float
    floor: np.ndarray
    shape: np.ndarray | None = None

    def floor_matrix(self) -> np.ndarray:
        """The floor as a full matrix."""
        if self.shape is None:
            return np.diag(self.floor)
        root = np.sqrt(self.floor)
        return root[:, None] * self.shape * root[None, :]


def standardise(X: np.ndarray, *, copy: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``((X - center) / scale, center, scale)`` with each feature's mean and standard deviation.

    Constant features keep scale 1. In a new array unless ``copy=False``
    (then ``X`` is overwritten). The deviations are summed from the centred
    array itself, as ``np.std`` sums them, but without its temporary the
    size of the data (6x faster at 199,020 x 30; equal to the last bit there).
    """
    center = X.mean(axis=0)
    Z = np.subtract(X, center, out=None if copy else X)
    scale = np.sqrt(np.einsum("ij,ij->j", Z, Z) / max(len(Z), 1))
    scale[~(scale > 0)] = 1.0
    Z /= scale
    return Z, center, scale


def dequantisation_floor(Z: np.ndarray) -> np.ndarray:
    """``gap**2 / 12`` per feature, for the smallest gap between distinct values.

    Continuous features have tiny gaps (a negligible floor); a binary or
    integer feature gets the variance of the uniform noise that would spread
    each of its values over its own cell.
    """
    floor = np.zeros(Z.shape[1])
    for j in range(Z.shape[1]):
        values = np.unique(Z[:, j])
        if len(values) > 1:
            floor[j] = np.diff(values).min() ** 2 / 12.0
    return floor


def pooled_covariance(Z: np.ndarray, y_index: np.ndarray, n_classes: int) -> np.ndarray:
    """Within-class covariance pooled over classes (weighted by rows)."""
    d = Z.shape[1]
    scatter = np.zeros((d, d))
    for k in range(n_classes):
        rows = Z[y_index == k]
        if len(rows) > 1:
            centred = rows - rows.mean(axis=0)
            scatter += centred.T @ centred
    return scatter / len(Z)


#: Shrinkage fractions tried for a class's prior (0 = its own covariance, by maximum likelihood).
SHRINKAGE_GRID = (0.0, 0.001, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
#: Folds of the held-out likelihood that picks each class's prior strength.
PRIOR_FOLDS = 5


def held_out_prior_rows(Z: np.ndarray, target: np.ndarray, floor: np.ndarray, rng: np.random.RandomState) -> float:
    """Pseudo-rows of a class's prior, chosen by held-out likelihood.

    Each shrinkage fraction ``lam`` of :data:`SHRINKAGE_GRID` gives the
    single-Gaussian estimate ``(1 - lam) * S + lam * target`` on every
    training fold, scored on the held-out fold; the fraction with the highest
    held-out log-likelihood wins. It is returned as pseudo-rows
    ``lam * n_train / (1 - lam)``: fixed in rows, its weight fades as the
    class's rows, and each component's, grow.
    """
    n, d = Z.shape
    if n < 3:
        return float("inf")  # one or two rows: nothing to hold out, the target alone
    order = rng.permutation(n)
    folds = np.array_split(order, min(PRIOR_FOLDS, n))
    loglik = np.zeros((len(SHRINKAGE_GRID), n))
    n_train = []
    for held in folds:
        train = np.setdiff1d(order, held, assume_unique=True)
        n_train.append(len(train))
        mean = Z[train].mean(axis=0)
        centred = Z[train] - mean
        own = centred.T @ centred / len(train)
        residual = Z[held] - mean
        for i, lam in enumerate(SHRINKAGE_GRID):
            cov = (1 - lam) * own + lam * target
            cov.flat[:: d + 1] += floor
            try:
                lower = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                loglik[i, held] = -np.inf
                continue
            white = solve_triangular(lower, residual.T, lower=True)
            loglik[i, held] = -0.5 * (white**2).sum(axis=0) - np.log(np.diag(lower)).sum()
    lam = SHRINKAGE_GRID[int(np.argmax(loglik.sum(axis=1)))]
    return float(lam * np.mean(n_train) / (1 - lam))


def prior_weight(n: np.ndarray | float, rows: float) -> np.ndarray:
    """``rows / (n + rows)``: how far the prior pulls an estimate from ``n`` rows (1 for infinite rows)."""
    n = np.asarray(n, dtype=np.float64)
    return np.ones_like(n) if np.isinf(rows) else rows / (n + rows)


def pooled_correlation(Z: np.ndarray, y_index: np.ndarray, n_classes: int) -> np.ndarray:
    """The within-class correlation pooled over classes, Ledoit-Wolf shrunk.

    Each row less its class mean, each feature divided by its spread: the
    correlation of what is left, shrunk toward the identity as Ledoit and
    Wolf (2004) choose, which keeps it well conditioned whatever the rows (a
    floor spread with it leaves no direction without variance) and leaves it
    free of the features' units.
    """
    means = np.zeros((n_classes, Z.shape[1]))
    np.add.at(means, y_index, Z)
    means /= np.maximum(np.bincount(y_index, minlength=n_classes), 1)[:, None]
    residual = Z - means[y_index]
    sd = np.sqrt(np.mean(residual**2, axis=0))
    sd[~(sd > 0)] = 1.0
    corr, _ = ledoit_wolf(residual / sd, assume_centered=True)
    root = np.sqrt(np.diag(corr))
    root[~(root > 0)] = 1.0
    return corr / root[:, None] / root[None, :]
