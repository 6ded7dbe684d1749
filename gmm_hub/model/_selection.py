"""Choosing and fitting the Gaussian mixture of each class.

For every class the candidates are (number of components, covariance type)
pairs. Each candidate is fitted on a per-class subsample (small classes stay
whole), the lowest BIC wins, and the winner is refitted on all the class's rows
starting from the subsample's solution, so EM on the full data needs only a few
iterations. All fits of all classes run in one joblib call.
"""

from __future__ import annotations

import contextlib
import logging
import time
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
            if n_rows >= k * _min_rows(cov, n_features) and not (cov == "tied" and k == 1 and "full" in types)
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
        stacklevel=5,
    )
    return found


@dataclass
class _Fit:
    """What one worker hands back: the mixture, its BIC, warnings and timing."""

    gmm: GaussianMixture
    bic: float
    caught: list[warnings.WarningMessage]
    seconds: float


# reg_covar values tried, in order, after a fit fails on a singular covariance
_REG_COVAR_LADDER = (1e-6, 1e-4, 1e-2, 1.0)


def class_reg_covar(reg_covar: float, n_features: int, n_rows: int) -> float:
    """Covariance floor of one class: ``reg_covar * (1 + n_features / n_rows)``.

    Like a prior worth ``n_features`` pseudo-rows of unit variance, it fades
    on large classes and holds a small class's covariance away from the
    few points it has (the minority of an imbalanced problem).
    """
    return float(reg_covar) * (1.0 + n_features / max(n_rows, 1))


def at_least_two_rows(X: np.ndarray) -> np.ndarray:
    """Repeat a lone row: EM needs two rows, and the estimate from a row and its
    copy (mean = the row, variance = ``reg_covar``) is the one-row estimate."""
    return np.repeat(X, 2, axis=0) if len(X) == 1 else X


def _fit_one(
    X: np.ndarray,
    candidate: Candidate,
    params: dict[str, Any],
    init: dict[str, Any],
    label: Any,
) -> _Fit:
    """Fit one mixture, recording its warnings so that workers can hand them back.

    A covariance that EM cannot factorise (a feature constant within the class,
    duplicated rows, ``reg_covar=0``) is retried with a larger ``reg_covar``
    and a warning, rather than ending the whole fit with a ``ValueError``.
    """
    start = time.perf_counter()
    X = at_least_two_rows(X)
    reg = params.get("reg_covar", 1e-6)
    ladder = [reg, *(r for r in _REG_COVAR_LADDER if r > reg)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for attempt, reg_covar in enumerate(ladder):
            gmm = GaussianMixture(
                n_components=candidate.n_components,
                covariance_type=candidate.covariance_type,
                **{**params, "reg_covar": reg_covar, **init},
            )
            try:
                gmm.fit(X)
                break
            except ValueError as err:
                if "ill-defined empirical covariance" not in str(err) or attempt + 1 == len(ladder):
                    raise
        if reg_covar != reg:
            warnings.warn(
                f"the {candidate.n_components}-component {candidate.covariance_type} "
                f"mixture had a singular covariance with reg_covar={reg:g} (a feature "
                f"constant within the class, or duplicated rows?); it was fitted with "
                f"reg_covar={reg_covar:g} instead. Standardise the features, drop "
                "constant columns or raise reg_covar.",
                UserWarning,
                stacklevel=2,
            )
    bic = float(gmm.bic(X)) if not init else float("nan")
    return _Fit(gmm, bic, list(caught), time.perf_counter() - start)


def _warm_start(gmm: GaussianMixture) -> dict[str, Any]:
    """Start EM from a fitted mixture (k-means on all rows would be wasted work)."""
    return {
        "weights_init": gmm.weights_,
        "means_init": gmm.means_,
        "precisions_init": gmm.precisions_,
        "n_init": 1,
        "init_params": "random_from_data",
        "reg_covar": gmm.reg_covar,
    }


def _selection_rows(idx: np.ndarray, plan: list[Candidate], n_features: int, size: int | None, rng) -> np.ndarray:
    """Rows of one class on which its candidates are compared.

    A random subsample of ``size`` rows (sorted, so memory access stays
    sequential), never fewer than the largest candidate needs; classes with
    fewer rows stay whole, so the rare classes are never subsampled.
    """
    if size is None:
        return idx
    need = max(c.n_components * _min_rows(c.covariance_type, n_features) for c in plan)
    size = max(size, need)
    if len(idx) <= size:
        return idx
    return np.sort(rng.choice(idx, size=size, replace=False))


# EM initialisations, at least, for the candidates of a small class
_SMALL_CLASS_N_INIT = 3


def _n_init(gmm_params: dict[str, Any], subsets: list[np.ndarray], i: int) -> int:
    """Initialisations for class ``i``: more for a class that is cheap to fit.

    A class whose selection rows number at most a third of the largest
    class's (the rare classes of imbalanced data) gets at least
    ``_SMALL_CLASS_N_INIT`` initialisations: its fits then still cost less
    than the largest class's, and EM on a few hundred rows in many dimensions
    is the most prone to a poor local optimum, which BIC then rejects and a
    worse configuration wins.
    """
    n_init = gmm_params.get("n_init", 1)
    largest = max(len(s) for s in subsets)
    if _SMALL_CLASS_N_INIT * len(subsets[i]) <= largest:
        return max(n_init, _SMALL_CLASS_N_INIT)
    return n_init


def _progress(total: int, verbose: int):
    """A tqdm bar when ``verbose`` is set, else a stand-in that does nothing."""
    if verbose:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc="GMMClassifier fit", unit="fit", leave=verbose > 1)
    return contextlib.nullcontext(_NoBar())


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass


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
    verbose: int = 0,
) -> list[GaussianMixture]:
    """Select by BIC and fit one mixture per class.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training data.
    y_index : ndarray of shape (n_samples,)
        Class index of each row, in ``range(len(labels))``.
    labels : ndarray
        Class labels, used in warnings and log messages.
    n_components, max_components, covariance_type
        As in :class:`~gmm_hub.GMMClassifier`.
    selection_size : int or None
        Rows per class on which candidates are compared (``None``: all).
    gmm_params : dict
        Keyword arguments shared by every ``GaussianMixture``.
    rng : RandomState
        Source of the per-class seeds and subsamples.
    n_jobs : int or None
        Parallel jobs over all (class, candidate) pairs, through joblib: the
        active backend is used, so ``joblib.parallel_config(backend="dask")``
        sends the fits to a Dask cluster.
    verbose : int, default=0
        Show a tqdm progress bar when positive (kept on screen when > 1).
        Progress is also logged at INFO level on this module's logger.

    Returns
    -------
    list of GaussianMixture
        The fitted mixture of each class, aligned with ``labels``.
    """
    n_features = X.shape[1]
    names = [label.item() if isinstance(label, np.generic) else label for label in labels]
    rows = [np.flatnonzero(y_index == i) for i in range(len(labels))]
    seeds = rng.randint(np.iinfo(np.int32).max, size=len(labels))
    plans = [
        candidates_for(label, len(idx), n_features, n_components, max_components, covariance_type)
        for label, idx in zip(names, rows, strict=True)
    ]
    subsets = [
        _selection_rows(idx, plan, n_features, selection_size, rng) for idx, plan in zip(rows, plans, strict=True)
    ]
    parts = [X[s] for s in subsets]  # one copy per class, shared by its candidates
    params = [
        {
            **gmm_params,
            "reg_covar": class_reg_covar(gmm_params["reg_covar"], n_features, len(rows[i])),
            "random_state": seeds[i],
            "n_init": _n_init(gmm_params, subsets, i),
        }
        for i in range(len(labels))
    ]
    # the costliest fits first, so that parallel workers finish together
    jobs = sorted(
        ((i, cand) for i, cands in enumerate(plans) for cand in cands),
        key=lambda job: -len(subsets[job[0]]) * job[1].n_components,
    )
    refit = [i for i in range(len(labels)) if len(subsets[i]) < len(rows[i])]

    best: dict[int, tuple[float, _Fit]] = {}
    with _progress(len(jobs) + len(refit), verbose) as bar:
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_fit_one)(parts[i], cand, params[i], {}, names[i]) for i, cand in jobs
        )
        for n_done, (fit, (i, cand)) in enumerate(zip(results, jobs, strict=True), start=1):
            logger.info(
                "class %r: %d %s component(s) on %d of %d rows: BIC %.6g, "
                "%d EM iteration(s), %.2fs [%d/%d]",
                names[i], cand.n_components, cand.covariance_type, len(subsets[i]),
                len(rows[i]), fit.bic, fit.gmm.n_iter_, fit.seconds, n_done, len(jobs),
            )  # fmt: skip
            bar.update()
            if i not in best or fit.bic < best[i][0]:
                best[i] = (fit.bic, fit)
        del parts

        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_fit_one)(
                X[rows[i]],
                Candidate(best[i][1].gmm.n_components, best[i][1].gmm.covariance_type),
                params[i],
                _warm_start(best[i][1].gmm),
                names[i],
            )
            for i in refit
        )
        for fit, i in zip(results, refit, strict=True):
            logger.info(
                "class %r: refitted %d %s component(s) on all %d rows from the "
                "subsample's solution: %d EM iteration(s), %.2fs",
                names[i], fit.gmm.n_components, fit.gmm.covariance_type, len(rows[i]),
                fit.gmm.n_iter_, fit.seconds,
            )  # fmt: skip
            bar.update()
            best[i] = (best[i][0], fit)

    mixtures = []
    for i, name in enumerate(names):
        fit = best[i][1]
        for w in fit.caught:  # surface the chosen fit's warnings (e.g. ConvergenceWarning)
            warnings.warn(
                f"Class {name!r} ({len(rows[i])} rows, {fit.gmm.n_components} "
                f"{fit.gmm.covariance_type} component(s)): {w.message}",
                w.category,
                stacklevel=4,
            )
        logger.info(
            "class %r: chose %d %s component(s) from %d candidate(s)",
            name, fit.gmm.n_components, fit.gmm.covariance_type, len(plans[i]),
        )  # fmt: skip
        mixtures.append(fit.gmm)
    return mixtures
