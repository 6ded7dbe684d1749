"""Choosing and fitting the Gaussian mixture of each class.

For every class the candidates are (number of components, covariance type)
pairs. Each candidate is fitted on a per-class subsample (small classes stay
whole), the lowest BIC wins, and the winner is refitted on all the class's rows
starting from the subsample's solution, so EM on the full data needs only a few
iterations. All fits of all classes run in one joblib call
(:func:`~gmm_hub.model._parallel.thread_map`).

Before the refit, each winner with more than one component is fitted once more
from k-means on whitened rows (:class:`~gmm_hub.model._em.WhitenedKMeans`), and
the lower BIC of the two fits is kept: k-means' Euclidean start misses
structure in a class's thin directions, where EM then stays in a poorer local
maximum (0.9 nats per row poorer on one correlated benchmark seed).

The selection's fits on at least :data:`ACCELERATED_ROWS` rows, and a
refit on more rows than its class was selected on, extrapolate EM's steps by
SQUAREM (:func:`accelerated`).
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.mixture import GaussianMixture

from ._em import (
    SINGLE_PRECISION_ROWS,
    MAPGaussianMixture,
    SharedKMeans,
    SingularCovarianceError,
    WhitenedKMeans,
    count_parameters,
)
from ._parallel import fit_threads, one_blas_thread, thread_map
from ._prior import CovariancePrior, prior_weight

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


# Variance floors tried, in order (standardised units), after a fit fails on a singular covariance
_FLOOR_LADDER = (1e-6, 1e-4, 1e-2, 1.0)


def at_least_two_rows(X: np.ndarray) -> np.ndarray:
    """Repeat a lone row: EM needs two rows, and the estimate from a row and its
    copy (mean = the row, variance = ``reg_covar``) is the one-row estimate."""
    return np.repeat(X, 2, axis=0) if len(X) == 1 else X


def _fit_one(
    X: np.ndarray,
    candidate: Candidate,
    params: dict[str, Any],
    init: dict[str, Any],
    prior: CovariancePrior,
    n_total: int | None = None,
    threads: int = 1,
    kmeans: SharedKMeans | WhitenedKMeans | None = None,
    accelerated: bool = False,
) -> _Fit:
    """Fit one MAP mixture, recording its warnings so that workers can hand them back.

    ``accelerated`` extrapolates EM's steps by SQUAREM (see
    :class:`~gmm_hub.model._em.MAPGaussianMixture`).

    A covariance that EM cannot factorise (duplicated rows, ``reg_covar=0``)
    is retried with a larger variance floor and a warning, rather than ending
    the whole fit with an error.
    """
    start = time.perf_counter()
    X = at_least_two_rows(X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        base = float(prior.floor.min()) if prior.floor.size else 0.0
        ladder = [0.0, *(r for r in _FLOOR_LADDER if r > base)]
        for attempt, extra in enumerate(ladder):
            gmm = MAPGaussianMixture(
                n_components=candidate.n_components, covariance_type=candidate.covariance_type, **{**params, **init}
            )
            gmm.prior = replace(prior, floor=prior.floor + extra) if extra else prior
            gmm.n_threads, gmm.kmeans, gmm.accelerated = threads, kmeans, accelerated
            try:
                gmm.fit(X)
                break
            except (ValueError, np.linalg.LinAlgError) as err:
                singular = isinstance(err, (np.linalg.LinAlgError, SingularCovarianceError))
                if not singular or attempt + 1 == len(ladder):
                    raise
        if extra:
            warnings.warn(
                f"the {candidate.n_components}-component {candidate.covariance_type} "
                f"mixture had a singular covariance (duplicated rows?); it was fitted with "
                f"an extra variance floor of {extra:g} (in units of each feature's variance). "
                "Drop duplicated rows or constant columns, or raise reg_covar.",
                UserWarning,
                stacklevel=2,
            )
    bic = bic_score(gmm, X, n_total) if not init else float("nan")
    return _Fit(gmm, bic, list(caught), time.perf_counter() - start)


def _refit(
    X: np.ndarray,
    gmm: MAPGaussianMixture,
    params: dict[str, Any],
    prior: CovariancePrior,
    first: np.ndarray | None = None,
    accelerated: bool = False,
    threads: int = 1,
) -> _Fit:
    """Refit ``gmm``'s configuration on ``X`` with ``prior``, starting from its solution.

    When the prior changed since ``gmm`` was fitted, EM on ``first`` (the
    subsample ``gmm`` came from) moves the solution to the new prior for a
    fraction of the cost of doing so on all of ``X``. With ``accelerated``
    (a class refitted on more rows than it was selected on, where EM's passes
    cost most), EM on ``X`` is extrapolated by SQUAREM; each E-step's blocks
    run on ``threads`` threads.
    """
    candidate = _candidate(gmm)
    caught: list[warnings.WarningMessage] = []
    seconds = 0.0
    if first is not None:
        pre = _fit_one(first, candidate, params, warm_start(gmm), prior, threads=threads)
        gmm, caught, seconds = pre.gmm, pre.caught, pre.seconds
    init = warm_start(gmm) if len(X) >= gmm.n_components else {}
    fit = _fit_one(X, candidate, params, init, prior, threads=threads, accelerated=accelerated)
    return replace(fit, caught=caught + fit.caught, seconds=seconds + fit.seconds)


def _candidate(gmm: GaussianMixture) -> Candidate:
    return Candidate(gmm.n_components, gmm.covariance_type)


def bic_score(gmm: MAPGaussianMixture, X: np.ndarray, n_total: int | None = None) -> float:
    """BIC of the class's whole data, estimated from the rows ``X`` fitted on.

    Under the prior, a component's covariance moves only ``N_j / (N_j + rows)``
    of the way from the prior's target to its data, so its ``d(d+1)/2``
    parameters count for that fraction (the degrees of freedom of a ridge-like
    shrinkage estimator); with no prior they count in full.

    When ``X`` is a subsample of ``n`` of the class's ``n_total`` rows, BIC on
    the subsample would charge each parameter ``log(n) / n`` per row, far more
    than the whole class's ``log(n_total) / n_total``, and pick too few
    components. Instead the maximised log-likelihood on all rows is estimated
    as ``n_total * mean_loglik - p * (n_total / n - 1) / 2`` (the subsample's
    mean is optimistic by about ``p / 2n`` per row, the bias AIC corrects),
    and charged ``p * log(n_total)``.
    """
    n, d = X.shape
    total = n if n_total is None or n_total <= n else n_total
    k = gmm.n_components
    kind = gmm.covariance_type
    if kind == "tied":
        cov = float(1 - prior_weight(n, gmm.prior.rows)) * d * (d + 1) / 2
    else:
        per = {"full": d * (d + 1) / 2, "diag": d, "spherical": 1}[kind]
        cov = float(np.sum(1 - prior_weight(gmm.weights_ * n, gmm.prior.rows))) * per
    n_params = cov + k * d + k - 1
    loglik = total * gmm.score(X) - n_params * (total / n - 1) / 2
    return float(-2 * loglik + n_params * np.log(total))


#: Share of a class's selection rows held out to check that its prior helps its mixture.
_CHECK_SHARE = 0.2


def _prior_helps(X: np.ndarray, gmm: MAPGaussianMixture, params: dict[str, Any], prior: CovariancePrior, rng) -> bool:
    """Whether the class's prior improves its chosen mixture on held-out rows.

    The prior's strength was chosen for a single Gaussian; a mixture's
    components can be much thinner than the class in some directions, where a
    prior centred on the other classes' covariance adds variance the data do
    not have. So the chosen configuration is refitted, from its solution, on
    80% of the selection rows with and without the prior, and the prior is
    kept unless dropping it gives the higher log-likelihood on the other 20%.
    A single full component is the model the strength was chosen on: kept.
    """
    if prior.rows == 0 or (gmm.n_components == 1 and gmm.covariance_type == "full"):
        return True
    held = rng.random_sample(len(X)) < _CHECK_SHARE
    if held.sum() < 2 or (~held).sum() < 2 * gmm.n_components:
        return True
    candidate = Candidate(gmm.n_components, gmm.covariance_type)
    scores = []
    for p in (prior, replace(prior, rows=0.0)):
        try:
            fit = _fit_one(X[~held], candidate, params, warm_start(gmm), p)
        except (ValueError, np.linalg.LinAlgError):
            return True
        scores.append(fit.gmm.score(X[held]))
    return bool(scores[0] >= scores[1])


def warm_start(gmm: GaussianMixture) -> dict[str, Any]:
    """Start EM from a fitted mixture (k-means on all rows would be wasted work)."""
    return {
        "weights_init": gmm.weights_,
        "means_init": gmm.means_,
        "precisions_init": gmm.precisions_,
        "n_init": 1,
        "init_params": "random_from_data",
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
    worse configuration wins. Only the most promising start is run to
    convergence (:meth:`~gmm_hub.model._em.MAPGaussianMixture._fit_from_short_runs`).
    """
    n_init = gmm_params.get("n_init", 1)
    largest = max(len(s) for s in subsets)
    if _SMALL_CLASS_N_INIT * len(subsets[i]) <= largest:
        return max(n_init, _SMALL_CLASS_N_INIT)
    return n_init


#: Rows from which a fit extrapolates EM's steps by SQUAREM (see :func:`accelerated`).
ACCELERATED_ROWS = SINGLE_PRECISION_ROWS


def accelerated(n_rows: int) -> bool:
    """Whether EM on ``n_rows`` rows is extrapolated by SQUAREM (:class:`~gmm_hub.model._em.MAPGaussianMixture`).

    SQUAREM has EM's fixed points and stops on EM's criterion, but reaches
    them in fewer passes where EM crawls (components that overlap), and
    stops nearer them, so a refit from its solution has less left to do.
    Each jump costs a little bookkeeping and, when it is rejected, one
    more pass; from :data:`ACCELERATED_ROWS` rows, where a pass is long
    (the size from which EM's passes may run in float32), the passes it
    saves are worth far more. A large class's candidates are fitted on
    that many rows or more; a rare class's few hundred are not.
    """
    return n_rows >= ACCELERATED_ROWS


#: Expected excess held-out loss, in nats per row, that a refit on a subsample may add.
REFIT_EXCESS_NATS = 0.01


def n_parameters(gmm: GaussianMixture) -> int:
    """Free parameters of a fitted mixture (weights, means, covariances)."""
    return count_parameters(gmm.covariance_type, *gmm.means_.shape)


def _refit_rows(idx: np.ndarray, gmm: GaussianMixture, rng) -> np.ndarray:
    """Rows of a large class on which its chosen mixture is refitted.

    A maximum-likelihood estimate of ``p`` parameters from ``m`` rows loses
    about ``p / (2 m)`` nats per row of expected held-out log-likelihood
    (the optimism AIC corrects for; Akaike, 1974), whatever the units. So
    ``p / (2 * REFIT_EXCESS_NATS)`` rows bring the loss under
    :data:`REFIT_EXCESS_NATS`, and refitting on more rows only costs time.
    """
    need = int(np.ceil(n_parameters(gmm) / (2 * REFIT_EXCESS_NATS)))
    if len(idx) <= need:
        return idx
    return np.sort(rng.choice(idx, size=need, replace=False))


def _progress(total: int, verbose: int):
    """A tqdm bar when ``verbose`` is set, else a stand-in that does nothing."""
    if verbose:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc="GMMClassifier fit", unit="fit", leave=verbose > 1)
    return contextlib.nullcontext(_NoBar())


class _NoBar:
    total = 0

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
    priors: list[CovariancePrior],
    verbose: int = 0,
    timings: dict[str, float] | None = None,
    revise_priors: Callable[[list[MAPGaussianMixture], np.ndarray], list[CovariancePrior] | None] | None = None,
) -> list[MAPGaussianMixture]:
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
    priors : list of CovariancePrior
        The covariance prior of each class.
    n_jobs : int or None
        Parallel jobs over all (class, candidate) pairs, through joblib's
        active backend, threads preferred (:func:`fit_threads`), so
        ``joblib.parallel_config(backend="dask")`` sends the fits to a Dask
        cluster. On threads, light fits run by themselves
        (:func:`~gmm_hub.model._parallel.thread_map`), and the refits one
        after another, each spreading its E-steps' blocks over the threads.
        The fitted mixtures do not depend on ``n_jobs`` or the backend.
    verbose : int, default=0
        Show a tqdm progress bar when positive (kept on screen when > 1).
        Progress is also logged at INFO level on this module's logger.
    timings : dict, optional
        Filled with the seconds spent in ``"selection"`` and ``"refit"``
        (and ``"floor"`` with ``revise_priors``).
    revise_priors : callable, optional
        Called with the selected mixtures (fitted on the selection rows) and
        the rows each class's final fit will use, before the refit; may
        return new priors (a list, one per class, or None to keep them). A
        class whose prior changed is refitted under its new one, so the
        large classes are refitted once, not twice.

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
    starts = [SharedKMeans() for _ in parts]  # and so are their k-means starts
    params = [
        {
            **gmm_params,
            "random_state": seeds[i],
            "n_init": _n_init(gmm_params, subsets, i),
        }
        for i in range(len(labels))
    ]
    # each class's costliest fits first, so that parallel workers finish together (on threads, the
    # light ones run afterwards, by themselves: see _parallel)
    per_class = [sorted(cands, key=lambda cand: -cand.n_components) for cands in plans]
    jobs = [
        (i, cands[r]) for r in range(max(map(len, per_class))) for i, cands in enumerate(per_class) if r < len(cands)
    ]
    refit = [i for i in range(len(labels)) if len(subsets[i]) < len(rows[i])]
    start = time.perf_counter()

    best: dict[int, tuple[float, _Fit]] = {}
    fast = [accelerated(len(part)) for part in parts]
    threads = fit_threads(n_jobs)
    with _progress(len(jobs) + len(refit), verbose) as bar, one_blas_thread(threads):
        calls = [
            partial(
                _fit_one, parts[i], cand, params[i], {}, priors[i], len(rows[i]), kmeans=starts[i], accelerated=fast[i]
            )
            for i, cand in jobs
        ]
        fits: dict[int, _Fit] = {}
        for n_done, (j, fit) in enumerate(thread_map(calls, [parts[i].size for i, _ in jobs], n_jobs), start=1):
            i, cand = jobs[j]
            logger.info(
                "class %r: %d %s component(s) on %d of %d rows: BIC %.6g, "
                "%d EM iteration(s), %.2fs [%d/%d]",
                names[i], cand.n_components, cand.covariance_type, len(subsets[i]),
                len(rows[i]), fit.bic, fit.gmm.n_iter_, fit.seconds, n_done, len(jobs),
            )  # fmt: skip
            bar.update()
            fits[j] = fit
        for j, (i, _) in enumerate(jobs):  # in the jobs' order, however they arrived: the first of equal BICs wins
            if i not in best or fits[j].bic < best[i][0]:
                best[i] = (fits[j].bic, fits[j])
        # each winner once more, from a start of another geometry (see the module docstring)
        restarts = [i for i in range(len(labels)) if best[i][1].gmm.n_components > 1]
        calls = [
            partial(
                _fit_one,
                parts[i],
                _candidate(best[i][1].gmm),
                params[i],
                {},
                priors[i],
                len(rows[i]),
                kmeans=WhitenedKMeans(),
                accelerated=fast[i],
            )
            for i in restarts
        ]
        # a lone heavy restart spreads its E-steps over the threads
        restarted = dict(thread_map(calls, [parts[i].size for i in restarts], n_jobs, spread="threads"))
        for j, i in enumerate(restarts):
            fit = restarted[j]
            logger.info("class %r: restarted from whitened k-means: BIC %.6g (was %.6g)", names[i], fit.bic, best[i][0])
            if fit.bic < best[i][0]:
                best[i] = (fit.bic, fit)
        del parts
        priors = list(priors)
        changed: set[int] = set()  # classes whose prior is no longer the one they were selected under
        for i in range(len(labels)):
            if not _prior_helps(X[subsets[i]], best[i][1].gmm, params[i], priors[i], rng):
                logger.info("class %r: the prior does not help its mixture on held-out rows; dropped", names[i])
                priors[i] = replace(priors[i], rows=0.0)
                changed.add(i)
        if timings is not None:
            timings["selection"] = time.perf_counter() - start
        refit_rows = {}
        for i in range(len(labels)):
            more = _refit_rows(rows[i], best[i][1].gmm, rng)
            # never refit on fewer rows than were selected on: a class those already serve needs no refit
            refit_rows[i] = more if len(more) > len(subsets[i]) else subsets[i]
        if revise_priors is not None:
            start_revise = time.perf_counter()
            revised = revise_priors(
                [best[i][1].gmm for i in range(len(labels))], np.array([len(refit_rows[i]) for i in range(len(labels))])
            )
            if revised is not None:
                changed |= {i for i in range(len(labels)) if revised[i] is not priors[i]}
                priors = list(revised)
            if timings is not None:
                timings["floor"] = time.perf_counter() - start_revise
        refit = [i for i in sorted({*refit, *changed}) if i in changed or len(refit_rows[i]) > len(subsets[i])]
        bar.total = len(jobs) + len(refit)

        refit_start = time.perf_counter()
        args = (
            (
                X[refit_rows[i]],
                best[i][1].gmm,
                params[i],
                priors[i],
                X[subsets[i]] if i in changed and len(subsets[i]) < len(refit_rows[i]) else None,
                len(refit_rows[i]) > len(subsets[i]),  # SQUAREM where EM's passes cost most: beyond the subsample
            )
            for i in refit
        )
        if threads > 1:  # one class at a time, on every thread
            results = (_refit(*arg, threads=threads) for arg in args)
        else:
            results = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_refit)(*arg) for arg in args)
        for fit, i in zip(results, refit, strict=True):
            logger.info(
                "class %r: refitted %d %s component(s) on %d of %d rows from the "
                "subsample's solution: %d EM iteration(s), %.2fs",
                names[i], fit.gmm.n_components, fit.gmm.covariance_type, len(refit_rows[i]),
                len(rows[i]), fit.gmm.n_iter_, fit.seconds,
            )  # fmt: skip
            bar.update()
            best[i] = (best[i][0], fit)

    if timings is not None:
        timings["refit"] = time.perf_counter() - refit_start
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
