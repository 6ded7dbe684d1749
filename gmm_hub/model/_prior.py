"""The covariance prior of each class's mixture, in the data's own units.

Mixtures are fitted on standardised features (each centred and divided by its
standard deviation over all training rows) and mapped back to the input units
afterwards (:func:`to_input_units`), so the fitted model does not depend on the
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
from sklearn.mixture import GaussianMixture


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
    """

    target: np.ndarray
    rows: float
    floor: np.ndarray


def feature_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of each feature (constant features keep scale 1)."""
    center = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[~(scale > 0)] = 1.0
    return center, scale


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


def shrunk_parameters(
    X: np.ndarray, resp: np.ndarray, covariance_type: str, prior: CovariancePrior
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Component weights (row counts), means and MAP covariances."""
    nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps
    means = (resp.T @ X) / nk[:, None]
    target, floor = prior.target, prior.floor
    d = X.shape[1]
    if covariance_type in ("full", "tied"):
        cov = np.empty((len(nk), d, d))
        for j in range(len(nk)):
            diff = X - means[j]
            cov[j] = (resp[:, j] * diff.T) @ diff
        if covariance_type == "tied":
            n = nk.sum()
            w = prior_weight(n, prior.rows)
            tied = (1 - w) * cov.sum(axis=0) / n + w * target
            tied.flat[:: d + 1] += floor
            return nk, means, tied
        w = prior_weight(nk, prior.rows)[:, None, None]
        cov = (1 - w) * cov / nk[:, None, None] + w * target
        cov[:, np.arange(d), np.arange(d)] += floor
        return nk, means, cov
    sq = resp.T @ (X * X) - 2 * means * (resp.T @ X) + nk[:, None] * means**2  # weighted scatter diagonal
    w = prior_weight(nk, prior.rows)[:, None]
    diag = (1 - w) * np.maximum(sq, 0) / nk[:, None] + w * np.diag(target) + floor
    if covariance_type == "diag":
        return nk, means, diag
    return nk, means, diag.mean(axis=1)


def precision_cholesky(cov: np.ndarray, covariance_type: str) -> np.ndarray:
    """Upper-triangular factors of the precisions, as scikit-learn stores them."""
    if covariance_type in ("diag", "spherical"):
        return 1.0 / np.sqrt(cov)
    stack = cov[None] if covariance_type == "tied" else cov
    d = stack.shape[-1]
    out = np.empty_like(stack)
    for j, c in enumerate(stack):
        lower = np.linalg.cholesky(c)
        out[j] = solve_triangular(lower, np.eye(d), lower=True).T
    return out[0] if covariance_type == "tied" else out


class MAPGaussianMixture(GaussianMixture):
    """A GaussianMixture whose M-step uses a :class:`CovariancePrior`.

    Used only while fitting (``prior`` is set as an attribute before ``fit``);
    the result is stored as a plain GaussianMixture by :func:`to_input_units`.
    """

    prior: CovariancePrior

    def _initialize(self, X, resp, xp=None):
        if resp is None:  # warm start: scikit-learn skips the estimate when every init is given
            self.weights_, self.means_ = self.weights_init, self.means_init
            self.precisions_cholesky_ = _cholesky_of_precisions(self.precisions_init, self.covariance_type)
            return
        nk, means, cov = shrunk_parameters(X, resp, self.covariance_type, self.prior)
        self.weights_ = nk / len(X) if self.weights_init is None else self.weights_init
        self.means_ = means if self.means_init is None else self.means_init
        if self.precisions_init is None:
            self.covariances_ = cov
            self.precisions_cholesky_ = precision_cholesky(cov, self.covariance_type)
        else:
            self.precisions_cholesky_ = _cholesky_of_precisions(self.precisions_init, self.covariance_type)

    def _m_step(self, X, log_resp, xp=None):
        nk, self.means_, self.covariances_ = shrunk_parameters(X, np.exp(log_resp), self.covariance_type, self.prior)
        self.weights_ = nk / nk.sum()
        self.precisions_cholesky_ = precision_cholesky(self.covariances_, self.covariance_type)


def _cholesky_of_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    if covariance_type in ("diag", "spherical"):
        return np.sqrt(precisions)
    stack = precisions[None] if covariance_type == "tied" else precisions
    out = np.stack([np.linalg.cholesky(p) for p in stack])
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
