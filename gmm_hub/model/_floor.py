"""Choosing the covariance floor by cross-validated classification loss.

Class ``k``'s covariances get ``c * (1 + n_features / n_k)`` of each feature's
variance added to their variances. How much smoothing classifies best depends
on the data: heavy for overlapping classes with discrete features (it keeps a
class's density off the spikes its few distinct values would make), next to
none for large, well-sampled classes whose thin directions carry the signal.
The floor is added on the diagonal (a ridge) or spread like the pooled
within-class correlation (a floor of the shape the classes share), the two
directions in which regularised discriminant analysis (Friedman, 1989)
shrinks a class covariance. So ``c`` and the shape are chosen the way that
method chooses its regularisation: by cross-validation. Each multiplier of
:data:`FLOOR_GRID`, in each shape, is scored by the balanced Brier score (the
mean, over classes, of the mean squared distance of a row's posteriors from
its one-hot class; Brier, 1950) of out-of-fold predictions, and the lowest
wins. The score is a proper scoring rule, so it rewards calibrated
posteriors rather than one threshold's accuracy, and balancing it over
classes keeps a rare class's rows from being outvoted. It is bounded (a row
classified wrongly with certainty costs 2), so a few held-out rows that a
weakly smoothed density places far out cannot decide it alone: the
log-loss, unbounded, could, and chose floors that cost accuracy (on ten
separated classes, 0.05 for every class and balanced accuracy 0.918
against 0.946 with the Brier score's choice, 1e-6; see the README).
Options the held-out rows cannot tell apart (a score within one standard
error of the lowest; :func:`_choose`) are decided by the classes' own
held-out log-likelihood (balanced over the classes): on
well-separated classes every floor classifies the folds perfectly, and the
density is then the only evidence left. So the configuration can be
selected under a weak floor (:data:`FLOOR_START`), where BIC sees the
classes' shapes, without the folds' arbitrary choice among perfect
classifiers swamping the thin directions.

The folds also hold each class to its own density: an option whose held-out
log-likelihood of the class's own rows falls short of the class's likeliest
option's by more than one standard error (:func:`_admissible`) is not
offered for that class, however well it classifies. A mixture is a density
estimate first; smoothing a large, well-sampled class far beyond what its own
rows support, to keep a rare class from claiming its outlying rows, trades
away the density it is fitted to estimate for a few held-out rows (beside
12 minority rows, a 6,988-row correlated majority took a pooled 0.5 and lost
18% of its held-out log-likelihood against the naive grid's; held to its own
density, 0.0%). Only a class whose rows determine its mixture is held to
it: at least one row per free parameter in each fold's fit, where the
maximum-likelihood estimate's expected held-out shortfall, ``p / 2m`` nats
per row (Akaike, 1974; see ``_refit_rows``), is at most half a nat. Below
that the floor is the estimate's regulariser, not its distortion (breast
cancer's classes, 113 and 190 rows per fold against 495 parameters a full
component, lost 0.7 points of balanced accuracy when held: 0.9639 against 0.9705). And only a
class whose every feature is continuous (distinct
values in at least half its rows) is held to it: on a discrete or quantised
feature the held-out likelihood grows without bound as the floor shrinks the
spikes at its values, which recur in new rows, so it prefers exactly the
spikes the floor is there to prevent (on Adult, whose target-encoded
columns take a few values each, the rule cost 7.7 points of balanced
accuracy, 0.7226 against 0.8000). Nor is a class the density does not judge
(beside a subsampled class, see :func:`_choose`).

Smoothing buys down the variance of estimates from few rows, so with more
rows the multiplier cross-validation picks tends to fall, but nothing forces
it to: it is whatever classifies best on held-out rows. On continuous
features, the final fit's floor is the folds' scaled to its rows
(:func:`fading`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import numpy as np
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from ._parallel import thread_map
from ._prior import CovariancePrior
from ._selection import at_least_two_rows, n_parameters, warm_start

#: Floor multipliers tried (fractions of each feature's variance, before the ``1 + d / n_k`` factor).
FLOOR_GRID = (1e-6, 1e-3, 0.01, 0.05, 0.15, 0.5)
#: Shapes of the floor tried: ridge-like on the diagonal, or spread like the pooled within-class correlation.
FLOOR_SHAPES = ("diagonal", "pooled")
#: The multiplier and shape the configuration is first selected with: weak, so BIC sees the classes' shapes.
FLOOR_START = 1e-3
SHAPE_START = "pooled"
#: The multiplier of a class too small to hold rows out: a strong floor keeps its few rows from collapsing.
FLOOR_FALLBACK = 0.15
#: Folds of the cross-validation (3 keeps a rare class's folds from being tiny).
FLOOR_FOLDS = 3


def class_floor(scale: float, n_features: int, n_rows: int) -> np.ndarray:
    """``scale * (1 + n_features / n_rows)`` for every feature (standardised units)."""
    return np.full(n_features, scale * (1 + n_features / max(n_rows, 1)))


def cross_validated_floor(
    Z: np.ndarray,
    y_index: np.ndarray,
    mixtures: list,
    make_priors: Callable[[float, np.ndarray, str], list[CovariancePrior]],
    log_prior: np.ndarray,
    size: int | None,
    rng: np.random.RandomState,
    n_jobs: int | None = None,
    shapes: tuple[str, ...] = FLOOR_SHAPES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each class's floor multiplier and shape, chosen jointly by the out-of-fold balanced Brier score.

    Every class's configuration is refitted on every fold with every option,
    a multiplier of :data:`FLOOR_GRID` in one of ``shapes`` (the smallest
    multiplier, numerical only, in the first shape alone); its held-out
    log-likelihoods are kept, so any assignment of options to classes can be
    scored without another fit. A class with more rows than ``size``, so
    subsampled to it, is refitted on the first fold only: its fits, on two
    thirds of ``size`` rows, vary little from fold to fold, its held-out
    third still outnumbers a smaller class's rows, and the fit scores every
    row of the other classes (none of which it was fitted on), so such a
    class costs one fit per option instead of one per fold. (Doing so for
    every class with more held-out rows in one fold than the smallest class
    has cost the quality suite 0.8 points of F1: on a few hundred rows the
    fits vary from fold to fold.) All assignments are scored for two classes
    (121); with more, classes are improved one at a time from the best
    shared option until none changes (at most one sweep per class). Among
    options within one standard error of the lowest loss, the likeliest
    held-out density wins (:func:`_choose`); among exact equals, the
    earlier option (the weaker floor, the diagonal shape).

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
        ``make_priors(scale, class_counts, shape)`` gives each class's prior
        with the floor multiplier ``scale`` in ``shape`` for classes of
        ``class_counts`` rows.
    log_prior : ndarray of shape (n_classes,)
        Log class priors of the posterior.
    size : int or None
        Rows per class used (larger classes are subsampled).
    rng : RandomState
        Subsampling and fold seed.
    n_jobs : int or None, default=None
        Parallel fold fits, through joblib's active backend (threads
        preferred, light fits by themselves: :func:`~gmm_hub.model._parallel.thread_map`);
        the result does not depend on it.
    shapes : tuple of str, default=FLOOR_SHAPES
        The floor shapes tried.

    Returns
    -------
    scales : ndarray of shape (n_classes,)
        The chosen multiplier of each class (:data:`FLOOR_FALLBACK` for all
        when a class has too few rows to hold any out, or no option scores).
    floor_shapes : ndarray of shape (n_classes,)
        The chosen shape of each class (the starting one when not run).
    losses : ndarray of shape (n_options,)
        Out-of-fold balanced Brier score of each option shared by all classes
        (NaN when not run), for the record.
    train_rows : ndarray of shape (n_classes,)
        Each class's mean training rows per fold, the evidence the
        multipliers were chosen at (see :func:`fading`); the rows looked at
        when no fold could be made.
    """
    n_classes = len(mixtures)
    # at the smallest multiplier the floor is numerical only and its shape makes no difference: tried once
    options = [(c, shape) for shape in shapes for c in FLOOR_GRID if shape == shapes[0] or c > FLOOR_GRID[0]]
    keep, subsampled = [], np.zeros(n_classes, dtype=bool)
    for k in range(n_classes):
        idx = np.flatnonzero(y_index == k)
        if size is not None and len(idx) > size:
            idx, subsampled[k] = rng.choice(idx, size=size, replace=False), True
        keep.append(idx)
    rows = np.sort(np.concatenate(keep))
    Zs, ys = Z[rows], y_index[rows]
    start_scales = np.full(n_classes, FLOOR_FALLBACK)
    start_shapes = np.full(n_classes, SHAPE_START if len(shapes) > 1 else shapes[0])
    unscored = np.full(len(options), np.nan)
    folds = min(FLOOR_FOLDS, int(np.bincount(ys, minlength=n_classes).min()))
    counts = np.bincount(ys, minlength=n_classes).astype(float)
    if folds < 2:
        return start_scales, start_shapes, unscored, counts
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=rng.randint(2**31 - 1)).split(Zs, ys))
    train_rows = np.mean([np.bincount(ys[train], minlength=n_classes) for train, _ in splits], axis=0)
    # a class subsampled to `size` rows is refitted on the first fold only (see the docstring)
    one_fold = subsampled & (counts > counts.min())
    first_test = np.zeros(len(ys), dtype=bool)
    first_test[splits[0][1]] = True
    scored = ~one_fold[ys] | first_test
    # what a one-fold class's fit scores: its own held-out rows and every scored row of the others
    one_fold_rows = {int(k): np.flatnonzero(scored & ((ys != k) | first_test)) for k in np.flatnonzero(one_fold)}
    # each fold's rows of each class, and its scored held-out rows, shared by every option's fits
    fold_rows = [([train[ys[train] == k] for k in range(n_classes)], test[scored[test]]) for train, test in splits]
    # held-out log-likelihood of every scored row under every class's fold fit, for every option
    tasks = []
    for i, (scale, shape) in enumerate(options):
        for f, (train, _) in enumerate(splits):
            priors = make_priors(scale, np.bincount(ys[train], minlength=n_classes), shape)
            own, held = fold_rows[f]
            for k, gmm in enumerate(mixtures):
                if not one_fold[k]:
                    tasks.append(_FoldFit(i, k, gmm, priors[k], own[k], held))
                elif f == 0:
                    tasks.append(_FoldFit(i, k, gmm, priors[k], own[k], one_fold_rows[k]))
    tasks.sort(key=lambda t: -len(t.train) * t.gmm.n_components)  # the costliest first, so workers finish together
    gathered = {id(rows): Zs[rows] for t in tasks for rows in (t.train, t.test)}  # each once, not once per option
    calls = [partial(_held_out, t.gmm, t.prior, gathered[id(t.train)], gathered[id(t.test)]) for t in tasks]
    scores = thread_map(calls, [gathered[id(t.train)].size for t in tasks], n_jobs)
    held_out = np.full((len(options), n_classes, len(ys)), np.nan)
    for j, score in scores:
        held_out[tasks[j].option, tasks[j].k, tasks[j].test] = score
    del gathered, calls
    held_out, ys_scored = held_out[:, :, scored], ys[scored]

    # each class's own held-out log-likelihood per row under each option: what breaks near-ties, for a
    # class whose errors against every other class the folds resolve (see _choose)
    density = np.array([[held_out[i, k, ys_scored == k].mean() for k in range(n_classes)] for i in range(len(options))])
    judged = ~np.array([subsampled[np.arange(n_classes) != k].any() for k in range(n_classes)])
    density[:, ~judged] = 0.0
    # option i shared by every class: class 0's score of option i with the others at i too
    shared = np.array(
        [
            _balanced(_option_briers(held_out, log_prior, ys_scored, (i,) * n_classes, 0)[i], ys_scored, n_classes)
            for i in range(len(options))
        ]
    )
    if not np.isfinite(shared).any():
        return start_scales, start_shapes, shared, counts
    # a class's floor may cost its own held-out density no more than the folds can tell from noise, where
    # the density judges the class (above), its rows have one (every feature continuous) and determine its
    # mixture (a row per parameter in each fold: see the module docstring)
    allowed = np.array([_admissible(held_out[:, k, ys_scored == k]) for k in range(n_classes)]).T
    held = [continuous(Zs[ys == k]).all() and train_rows[k] >= n_parameters(mixtures[k]) for k in range(n_classes)]
    allowed[:, ~judged | ~np.array(held)] = True
    if n_classes == 2:  # every pair (i, j): class 0 at option i, class 1 at option j
        pairs = np.concatenate([_option_briers(held_out, log_prior, ys_scored, (i, 0), 1) for i in range(len(options))])
        pairs[~(allowed[:, 0, None] & allowed[None, :, 1]).ravel()] = np.nan
        # the balanced held-out log-likelihood: each class's rows count as a class, as in the score
        pick = _choose(pairs, ys_scored, n_classes, (density[:, 0, None] + density[None, :, 1]).ravel())
        best: tuple[int, ...] = (pick // len(options), pick % len(options))
    else:
        best = (int(np.argmin(shared)),) * n_classes
        for _ in range(n_classes):  # coordinate descent, a bounded number of sweeps
            before = best
            for k in range(n_classes):
                briers = _option_briers(held_out, log_prior, ys_scored, best, k)
                briers[~allowed[:, k]] = np.nan
                pick = _choose(briers, ys_scored, n_classes, density[:, k])
                best = (*best[:k], pick, *best[k + 1 :])
            if best == before:
                break
    return np.array([options[i][0] for i in best]), np.array([options[i][1] for i in best]), shared, train_rows


def _admissible(own: np.ndarray) -> np.ndarray:
    """Options whose held-out log-likelihood of the class's own rows is within one standard error of the best's.

    ``own`` has shape (n_options, n_rows): each option's held-out
    log-likelihood of each of the class's rows. The likeliest option is
    always admissible; another is if its mean falls short of the likeliest's
    by no more than the standard error of the paired per-row shortfall (the
    one-standard-error rule of :func:`_choose`).
    """
    with np.errstate(invalid="ignore"):
        mean = own.mean(axis=1)
        ok = np.zeros(len(own), dtype=bool)
        if own.shape[1] < 2 or not np.isfinite(mean).any():
            return ~ok
        best = int(np.nanargmax(np.where(np.isfinite(mean), mean, np.nan)))
        short = own[best] - own
        error = short.std(axis=1, ddof=1) / np.sqrt(own.shape[1])
        ok = np.isfinite(mean) & (short.mean(axis=1) <= error * (1 + 1e-9))
    ok[best] = True
    return ok


def _choose(briers: np.ndarray, ys: np.ndarray, n_classes: int, likelihood: np.ndarray) -> int:
    """The option of lowest balanced Brier score, near-ties broken by held-out log-likelihood.

    Options whose balanced Brier score exceeds the lowest by no more than
    the standard error of that excess (its per-row differences from the
    best option, paired; the one-standard-error rule of Breiman et al.,
    1984) classify alike as far as the held-out rows can tell. Among them
    the one under which the classes' own held-out rows are likeliest wins:
    the density is what the mixtures estimate. This matters where every
    option classifies the folds perfectly and the scores differ only by
    rounding-sized amounts (1e-25 against 1e-13): the lowest is then an
    arbitrary choice, and may swamp the thin directions the classes have.
    Only a class whose errors the folds resolve is decided by its density:
    when another class was subsampled for the folds, so only some thousands
    of its rows are scored, a rate of false alarms against it below one in
    those thousands goes unseen, and a smoother, likelier density can cost
    exactly that (beside 199,364 correlated majority rows, F1-macro 0.965
    against 0.985 for the minority's lowest score; see the README). Such a
    class's likelihood is passed as equal for all its options, and the
    lowest score among the likeliest options wins.

    Parameters
    ----------
    briers : ndarray of shape (n_options, n_rows)
        Each option's Brier score on each held-out row.
    ys : ndarray of shape (n_rows,)
        Each row's class.
    n_classes : int
        Classes the score is balanced over.
    likelihood : ndarray of shape (n_options,)
        Each option's held-out log-likelihood of the classes' own rows
        (per row, balanced over the classes that decide; equal, or NaN,
        where none is to decide).

    Returns
    -------
    int
        The chosen option: the likeliest of the near-ties, then the lowest
        score, then the first.
    """
    loss = _balanced(briers, ys, n_classes)
    best = int(np.argmin(loss))
    if not np.isfinite(loss[best]):
        return best
    with np.errstate(invalid="ignore"):
        excess = briers - briers[best]
    # the balanced mean's variance: each class's mean's, over the square of the classes
    variance = sum(
        excess[:, ys == c].var(axis=1, ddof=1) / n for c in range(n_classes) if (n := int((ys == c).sum())) > 1
    )
    # a single row carrying the whole excess puts it at exactly one standard error: a tie, whatever the rounding
    near = np.isfinite(loss) & (loss - loss[best] <= np.sqrt(variance) / n_classes * (1 + 1e-9))
    candidates = np.flatnonzero(near)
    score = np.nan_to_num(likelihood[candidates], nan=-np.inf)
    likeliest = candidates[score == score.max()]
    return int(likeliest[np.argmin(loss[likeliest])])


def _balanced(values: np.ndarray, ys: np.ndarray, n_classes: int) -> np.ndarray:
    """The mean over classes of each class's rows' mean, along the last axis (``inf`` where not finite)."""
    value = np.mean([values[..., ys == c].mean(axis=-1) for c in range(n_classes)], axis=0)
    return np.where(np.isfinite(value), value, np.inf)


def _option_briers(
    held_out: np.ndarray, log_prior: np.ndarray, ys: np.ndarray, choice: tuple[int, ...], k: int
) -> np.ndarray:
    """The Brier score of every held-out row under every option of class ``k``, the others' as in ``choice``.

    The Brier score of a row is ``sum_j (p_j - [j == y])**2`` over the classes'
    posteriors. Only class ``k``'s column of joint log-likelihoods changes
    from option to option, so the other classes' are summed once (in the log
    domain, as are the squares of their posteriors) and every option is
    scored in one pass. A row no class gives a density has no posterior: its
    score is NaN.

    Parameters
    ----------
    held_out : ndarray of shape (n_options, n_classes, n_rows)
        Held-out log-likelihood of every row under every class's fold fit with every option.
    log_prior : ndarray of shape (n_classes,)
        Log class priors.
    ys : ndarray of shape (n_rows,)
        Each row's class.
    choice : tuple of int
        Each class's option (class ``k``'s is ignored).
    k : int
        The class whose options are scored.

    Returns
    -------
    ndarray of shape (n_options, n_rows)
    """
    n_classes, n = held_out.shape[1], held_out.shape[2]
    others = [j for j in range(n_classes) if j != k]
    rest = held_out[[choice[j] for j in others], others].T + log_prior[others]  # (n, n_classes - 1)
    column = held_out[:, k] + log_prior[k]  # (n_options, n)
    mine = ys == k
    at = np.where(mine, 0, ys - (ys > k))  # each row's own class among the others (unused for class k's rows)
    doubled = 2.0 * rest
    doubled[np.flatnonzero(~mine), at[~mine]] = -np.inf  # squared posteriors of the classes a row is not
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        total = np.logaddexp(logsumexp(rest, axis=1), column)  # log of every row's evidence
        own = np.where(mine, column, rest[np.arange(n), at])
        wrong = np.exp(logsumexp(doubled, axis=1) - 2.0 * total) + np.where(mine, 0.0, np.exp(2.0 * (column - total)))
        return np.expm1(own - total) ** 2 + wrong


class _FoldFit(NamedTuple):
    """One fold fit of the floor's cross-validation: option index, class, configuration, prior, rows."""

    option: int
    k: int
    gmm: Any
    prior: CovariancePrior
    train: np.ndarray
    test: np.ndarray


def _held_out(gmm, prior: CovariancePrior, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Log-likelihood of ``test`` under ``gmm``'s configuration refitted on ``train`` with ``prior``."""
    if len(train) >= gmm.n_components:  # from the whole class's solution: a few EM steps
        fold_gmm = clone(gmm).set_params(**warm_start(gmm))
    else:
        fold_gmm = clone(gmm).set_params(n_components=len(train))
    fold_gmm.prior = prior
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the final fit reports its own
        fold_gmm.fit(at_least_two_rows(train))
    return fold_gmm.score_samples(test)


def fading(chosen_at: np.ndarray, rows: np.ndarray, Z: np.ndarray, y_index: np.ndarray, size: int | None) -> np.ndarray:
    """How much of each class's cross-validated floor each feature keeps on the final fit.

    On a continuous feature the floor is what a fixed conjugate prior adds to
    a covariance estimate: an inverse-Wishart prior of scale ``Psi`` moves the
    estimate from ``n`` rows by about ``Psi / n``, a floor that falls as
    ``1 / n``. The folds chose the floor that suits fits on ``chosen_at``
    rows, so on ``rows`` rows the same prior keeps ``chosen_at / rows`` of it
    (never more than all): a class subsampled for the folds gets a weaker
    floor on its full fit, and a small class fitted on all its rows keeps two
    thirds. A quantised feature (fewer distinct values than half the class's
    rows) is different: its floor spreads each value over its cell, and more
    rows only sharpen the spikes it prevents, so it keeps all of it.

    Parameters
    ----------
    chosen_at : ndarray of shape (n_classes,)
        Each class's mean training rows per fold (from :func:`cross_validated_floor`).
    rows : ndarray of shape (n_classes,)
        The rows each class's final fit uses.
    Z : ndarray of shape (n_samples, n_features)
        Standardised training data.
    y_index : ndarray of shape (n_samples,)
        Class index of each row.
    size : int or None
        Rows per class looked at to tell quantised features from continuous ones.

    Returns
    -------
    ndarray of shape (n_classes, n_features)
        Multipliers in ``(0, 1]``.
    """
    keep = np.ones((len(rows), Z.shape[1]))
    for k in range(len(rows)):
        keep[k, continuous(Z[np.flatnonzero(y_index == k)[:size]])] = min(chosen_at[k] / max(rows[k], 1), 1.0)
    return keep


def continuous(part: np.ndarray) -> np.ndarray:
    """Which features of a class's rows are continuous: distinct values in at least half the rows."""
    return np.array([len(np.unique(col)) >= len(part) / 2 for col in part.T], dtype=bool)
