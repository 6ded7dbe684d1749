"""Choosing the covariance floor by cross-validated classification loss.

Class ``k``'s covariances get ``c * (1 + n_features / n_k)`` of each feature's
variance added to their diagonal. How much smoothing classifies best depends
on the data: heavy for overlapping classes with discrete features (it keeps a
class's density off the spikes its few distinct values would make), next to
none for large, well-sampled classes whose thin directions carry the signal.
So ``c`` is chosen the way regularised discriminant analysis chooses its
regularisation (Friedman, 1989): by cross-validation. Each multiplier of
:data:`FLOOR_GRID` is scored by the balanced log-loss (the mean, over classes,
of the mean negative log posterior of the true class) of out-of-fold
predictions, and the lowest wins. The loss is a proper scoring rule, so it
rewards calibrated densities rather than one threshold's accuracy, and
balancing it over classes keeps a rare class's rows from being outvoted.

As the data grow, the variance that smoothing buys down shrinks, so the
multiplier cross-validation picks falls with evidence, and with it the floor.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from ._prior import CovariancePrior
from ._selection import Candidate, _fit_one, _refit_rows, at_least_two_rows, warm_start

#: Floor multipliers tried (fractions of each feature's variance, before the ``1 + d / n_k`` factor).
FLOOR_GRID = (1e-6, 1e-3, 0.01, 0.05, 0.15, 0.5)
#: The multiplier the configuration is first selected with.
FLOOR_START = 0.15
#: Folds of the cross-validation (3 keeps a rare class's folds from being tiny).
FLOOR_FOLDS = 3


def class_floor(scale: float, n_features: int, n_rows: int) -> np.ndarray:
    """``scale * (1 + n_features / n_rows)`` for every feature (standardised units)."""
    return np.full(n_features, scale * (1 + n_features / max(n_rows, 1)))


def cross_validated_floor(
    Z: np.ndarray,
    y_index: np.ndarray,
    mixtures: list,
    make_priors: Callable[[float, np.ndarray], list[CovariancePrior]],
    log_prior: np.ndarray,
    size: int | None,
    rng: np.random.RandomState,
) -> tuple[float, np.ndarray]:
    """The floor multiplier with the lowest out-of-fold balanced log-loss.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Standardised training data.
    y_index : ndarray of shape (n_samples,)
        Class index of each row.
    mixtures : list of MAPGaussianMixture
        Each class's selected mixture; its configuration is refitted on each
        fold, starting from its parameters (the search itself is not
        repeated).
    make_priors : callable
        ``make_priors(scale, class_counts)`` gives each class's prior with the
        floor multiplier ``scale`` for classes of ``class_counts`` rows.
    log_prior : ndarray of shape (n_classes,)
        Log class priors of the posterior.
    size : int or None
        Rows per class used (larger classes are subsampled).
    rng : RandomState
        Subsampling and fold seed.

    Returns
    -------
    scale : float
        The chosen multiplier (:data:`FLOOR_START` when a class has too few
        rows to hold any out).
    losses : ndarray of shape (len(FLOOR_GRID),)
        Out-of-fold balanced log-loss of each multiplier (NaN when not run).
    """
    n_classes = len(mixtures)
    keep = []
    for k in range(n_classes):
        idx = np.flatnonzero(y_index == k)
        if size is not None and len(idx) > size:
            idx = rng.choice(idx, size=size, replace=False)
        keep.append(idx)
    rows = np.sort(np.concatenate(keep))
    Zs, ys = Z[rows], y_index[rows]
    folds = min(FLOOR_FOLDS, int(np.bincount(ys, minlength=n_classes).min()))
    losses = np.full(len(FLOOR_GRID), np.nan)
    if folds < 2:
        return FLOOR_START, losses
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=rng.randint(2**31 - 1)).split(Zs, ys))
    for i, scale in enumerate(FLOOR_GRID):
        log_post = np.empty((len(ys), n_classes))
        for train, test in splits:
            priors = make_priors(scale, np.bincount(ys[train], minlength=n_classes))
            jll = np.empty((len(test), n_classes))
            for k, gmm in enumerate(mixtures):
                fit_rows = train[ys[train] == k]
                if len(fit_rows) >= gmm.n_components:  # from the whole class's solution: a few EM steps
                    fold_gmm = clone(gmm).set_params(**warm_start(gmm))
                else:
                    fold_gmm = clone(gmm).set_params(n_components=len(fit_rows))
                fold_gmm.prior = priors[k]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the final fit reports its own
                    fold_gmm.fit(at_least_two_rows(Zs[fit_rows]))
                jll[:, k] = fold_gmm.score_samples(Zs[test]) + log_prior[k]
            log_post[test] = jll - logsumexp(jll, axis=1, keepdims=True)
        own = log_post[np.arange(len(ys)), ys]
        loss = -np.mean([own[ys == k].mean() for k in range(n_classes)])
        losses[i] = loss if np.isfinite(loss) else np.inf
    if not np.isfinite(losses).any():
        return FLOOR_START, losses
    return float(FLOOR_GRID[int(np.argmin(losses))]), losses


def refit_with_floor(
    Z: np.ndarray, y_index: np.ndarray, labels: np.ndarray, mixtures: list, priors: list[CovariancePrior], rng
) -> list:
    """Each class's selected configuration refitted with its new prior, from its current parameters.

    The configuration is kept, not searched again: it is what the
    cross-validation scored (a search under a heavy floor can prefer
    configurations that classify worse). Large classes are refitted on the
    rows :func:`~gmm_hub.model._selection._refit_rows` allows, as in the
    first fit.
    """
    out = []
    for k, gmm in enumerate(mixtures):
        rows = _refit_rows(np.flatnonzero(y_index == k), gmm, rng)
        params = {name: gmm.get_params()[name] for name in ("max_iter", "tol", "random_state")}
        candidate = Candidate(gmm.n_components, gmm.covariance_type)
        init = warm_start(gmm) if len(rows) >= gmm.n_components else {}
        fit = _fit_one(Z[rows], candidate, params, init, priors[k])
        for w in fit.caught:  # as the first fit does: say which class a warning is about
            warnings.warn(f"Class {labels[k]!r} ({len(rows)} rows): {w.message}", w.category, stacklevel=3)
        out.append(fit.gmm)
    return out
