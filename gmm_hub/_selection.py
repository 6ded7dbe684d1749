"""Choosing and fitting the Gaussian mixture of each class.

For every class the candidates are (number of components, covariance type)
pairs. Each candidate is fitted on a per-class subsample (small classes stay
whole), the lowest BIC wins, and the winner is refitted on all the class's rows
starting from the subsample's solution, so EM on the full data needs only a few
iterations. All fits of all classes run in one joblib call.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.mixture import GaussianMixture

logger = logging.getLogger(__name__)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


@dataclass(frozen=True)
class Candidate:
    """One configuration of a class's mixture."""

    n_components: int
    covariance_type: str


def _min_rows(covariance_type: str, n_features: int) -> int:
    """Rows per component for a covariance estimate that is not degenerate."""
    return n_features + 1 if covariance_type in ("full", "tied") else 2


def candidates_for(
    label: Any,
    n_rows: int,
    n_features: int,
    n_components: int | str,
    max_components: int,
    covariance_type: str,
) -> list[Candidate]:
    """List the configurations to try for one class.

    When the class has too few rows for what was asked, fall back to fewer
    components, then to diagonal covariances, with a warning naming the class.
    """
    cov_types = COVARIANCE_TYPES if covariance_type == "auto" else (covariance_type,)
    top = max_components if n_components == "bic" else int(n_components)
    ks = range(1, top + 1) if n_components == "bic" else (top,)

    def feasible(types: tuple[str, ...], counts: Any) -> list[Candidate]:
        return [
            Candidate(k, cov)
            for cov in types
            for k in counts
            # a one-component tied mixture is the full one: don't fit it twice
            if n_rows >= k * _min_rows(cov, n_features)
            and not (cov == "tied" and k == 1 and "full" in types)
        ]

    found = feasible(cov_types, ks)
    if found:
        return found
    fewer = feasible(cov_types, range(1, top + 1))
    if fewer and n_components != "bic":
        found = [max(fewer, key=lambda c: c.n_components)]
    else:
        found = feasible(("diag",), range(1, top + 1)) or [Candidate(1, "diag")]
        if n_components != "bic":
            found = [max(found, key=lambda c: c.n_components)]
    asked = f"n_components={n_components!r}, covariance_type={covariance_type!r}"
    counts = sorted({c.n_components for c in found})
    using = f"{found[0].covariance_type} covariance with " + (
        f"{counts[0]} component(s)" if len(counts) == 1 else f"{counts[0]}..{counts[-1]} components"
    )
    label = label.item() if isinstance(label, np.generic) else label
    warnings.warn(
        f"Class {label!r} has only {n_rows} rows for {n_features} features, too few "
        f"for {asked}; falling back to {using}. Collect more rows of this class, "
        "or ask for fewer components or covariance_type='diag'.",
        UserWarning,
        stacklevel=4,
    )
    return found


def _fit_one(
    X: np.ndarray, candidate: Candidate, params: dict[str, Any], init: dict[str, Any]
) -> tuple[GaussianMixture, list[warnings.WarningMessage]]:
    """Fit one mixture, recording its warnings so that workers can hand them back."""
    gmm = GaussianMixture(
        n_components=candidate.n_components,
        covariance_type=candidate.covariance_type,
        **{**params, **init},
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gmm.fit(X)
    return gmm, list(caught)


def _warm_start(gmm: GaussianMixture) -> dict[str, Any]:
    return {
        "weights_init": gmm.weights_,
        "means_init": gmm.means_,
        "precisions_init": gmm.precisions_,
        "n_init": 1,
    }


def fit_class_mixtures(
    X: np.ndarray,
    y_index: np.ndarray,
    labels: np.ndarray,
    *,
    n_components: int | str,
    max_components: int,
    covariance_type: str,
    selection_size: int | None,
    gmm_params: dict[str, Any],
    rng: np.random.RandomState,
    n_jobs: int | None,
) -> list[GaussianMixture]:
    """Select by BIC and fit one mixture per class.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training data.
    y_index : ndarray of shape (n_samples,)
        Class index of each row, in ``range(len(labels))``.
    labels : ndarray
        Class labels, used in warnings.
    n_components, max_components, covariance_type
        As in :class:`~gmm_hub.GMMClassifier`.
    selection_size : int or None
        Rows per class on which candidates are compared (``None``: all).
    gmm_params : dict
        Keyword arguments shared by every ``GaussianMixture``.
    rng : RandomState
        Source of the per-class seeds and subsamples.
    n_jobs : int or None
        Parallel jobs over all (class, candidate) pairs.

    Returns
    -------
    list of GaussianMixture
        The fitted mixture of each class, aligned with ``labels``.
    """
    n_features = X.shape[1]
    rows = [np.flatnonzero(y_index == i) for i in range(len(labels))]
    seeds = rng.randint(np.iinfo(np.int32).max, size=len(labels))
    subsets = []
    for idx in rows:
        if selection_size is not None and len(idx) > selection_size:
            idx = np.sort(rng.choice(idx, size=selection_size, replace=False))
        subsets.append(idx)
    plans = [
        candidates_for(
            label, len(idx), n_features, n_components, max_components, covariance_type
        )
        for label, idx in zip(labels, rows)
    ]

    parallel = Parallel(n_jobs=n_jobs)
    jobs = [
        (i, cand)
        for i, cands in enumerate(plans)
        for cand in cands
    ]
    fitted = parallel(
        delayed(_fit_one)(
            X[subsets[i]], cand, {**gmm_params, "random_state": seeds[i]}, {}
        )
        for i, cand in jobs
    )

    best: dict[int, tuple[float, GaussianMixture, list]] = {}
    for (i, cand), (gmm, caught) in zip(jobs, fitted):
        bic = gmm.bic(X[subsets[i]]) if len(plans[i]) > 1 else 0.0
        if i not in best or bic < best[i][0]:
            best[i] = (bic, gmm, caught)

    refit = [i for i in range(len(labels)) if len(subsets[i]) < len(rows[i])]
    refitted = parallel(
        delayed(_fit_one)(
            X[rows[i]],
            Candidate(best[i][1].n_components, best[i][1].covariance_type),
            {**gmm_params, "random_state": seeds[i]},
            _warm_start(best[i][1]),
        )
        for i in refit
    )
    for i, (gmm, caught) in zip(refit, refitted):
        best[i] = (best[i][0], gmm, caught)

    mixtures = []
    for i, label in enumerate(labels):
        _, gmm, caught = best[i]
        for w in caught:  # surface the chosen fit's warnings (e.g. ConvergenceWarning)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        logger.debug(
            "class %r: %d %s component(s) from %d candidate(s)",
            label,
            gmm.n_components,
            gmm.covariance_type,
            len(plans[i]),
        )
        mixtures.append(gmm)
    return mixtures
