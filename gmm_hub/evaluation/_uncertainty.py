"""Uncertainty of held-out metrics: bootstrap intervals and Wilson intervals per class.

F1-macro and balanced accuracy are computed here from label codes with numpy,
vectorised over bootstrap resamples (``scipy.stats.bootstrap`` hands the
statistic all resamples of a batch at once); each class's recall gets a Wilson
interval from ``scipy.stats.binomtest``. :func:`gmm_hub.evaluation.evaluate`
stores both in its result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CONFIDENCE_LEVEL", "N_RESAMPLES"]

#: Coverage of every interval :func:`evaluate` reports.
CONFIDENCE_LEVEL = 0.95
#: Bootstrap resamples of the test rows: the percentile interval's end points
#: move by well under 0.01 between seeds at this count, and the cost stays
#: bounded (batched, about a second for 100,000 test rows).
N_RESAMPLES = 1000


def _counts(t: np.ndarray, p: np.ndarray, n_labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true positives, true counts, predicted counts) per label along the last axis.

    ``t`` and ``p`` hold label codes ``0..n_labels-1``, of shape (..., n).
    """
    codes = np.arange(n_labels).reshape((n_labels,) + (1,) * t.ndim)
    is_true = t[None] == codes
    is_pred = p[None] == codes
    return (is_true & is_pred).sum(-1), is_true.sum(-1), is_pred.sum(-1)


def _f1_macro(t: np.ndarray, p: np.ndarray, n_labels: int) -> np.ndarray:
    """F1-macro over the labels present in ``t`` or ``p``, as scikit-learn's ``labels=None`` (vectorised).

    A bootstrap resample can miss a rare class altogether; counting it as F1 = 0
    would drag the interval of even a perfect classifier below 1.
    """
    tp, true, pred = _counts(t, p, n_labels)
    denom = true + pred
    f1 = np.divide(2 * tp, denom, out=np.zeros(denom.shape), where=denom > 0)
    return f1.sum(axis=0) / np.maximum((denom > 0).sum(axis=0), 1)


def _balanced_accuracy(t: np.ndarray, p: np.ndarray, n_labels: int) -> np.ndarray:
    """Mean recall over the labels present in ``t``, as scikit-learn's (vectorised)."""
    tp, true, _ = _counts(t, p, n_labels)
    recall = np.divide(tp, true, out=np.zeros(true.shape), where=true > 0)
    return recall.sum(axis=0) / np.maximum((true > 0).sum(axis=0), 1)


def _bootstrap_intervals(t: np.ndarray, p: np.ndarray, n_labels: int, n_resamples: int, seed: int) -> dict[str, Any]:
    """Percentile-bootstrap intervals of F1-macro and balanced accuracy over the test rows.

    Rows are resampled with replacement, pairs of (true, predicted) kept
    together. The percentile method needs no jackknife (BCa costs n extra
    evaluations, quadratic on large test sets) and stays defined when every
    resample gives the same value (a perfect classifier).
    """
    from scipy.stats import bootstrap

    result: dict[str, Any] = {
        "method": "percentile bootstrap over test rows",
        "confidence_level": CONFIDENCE_LEVEL,
        "n_resamples": n_resamples,
        "random_state": seed,
    }
    batch = max(1, 2_000_000 // max(len(t) * n_labels, 1))  # bounds memory on large test sets
    for name, statistic in (("f1_macro", _f1_macro), ("balanced_accuracy", _balanced_accuracy)):
        res = bootstrap(
            (t, p),
            lambda a, b, axis=-1, f=statistic: f(a, b, n_labels),
            paired=True,
            vectorized=True,
            n_resamples=n_resamples,
            batch=batch,
            confidence_level=CONFIDENCE_LEVEL,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        result[name] = [float(res.confidence_interval.low), float(res.confidence_interval.high)]
    return result


def _codes(y: np.ndarray, labels: list[Any]) -> np.ndarray:
    """Index of each value in ``labels`` (-1 for a value outside them)."""
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index.get(value, -1) for value in y.tolist()], dtype=np.int64)


def _per_class(matrix: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """Test count, recall and its Wilson interval per class, from a confusion matrix."""
    from scipy.stats import binomtest

    rows = []
    for i, name in enumerate(names):
        support, hits = int(matrix[i].sum()), int(matrix[i, i])
        row: dict[str, Any] = {"label": name, "support": support, "predicted": int(matrix[:, i].sum())}
        if support:
            ci = binomtest(hits, support).proportion_ci(CONFIDENCE_LEVEL, method="wilson")
            row.update(recall=hits / support, recall_ci=[float(ci.low), float(ci.high)])
        else:
            row.update(recall=None, recall_ci=None)
        rows.append(row)
    return rows
