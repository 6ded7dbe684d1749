"""Picking a binary decision threshold on out-of-fold scores.

Every cut between two distinct scores is evaluated at once from cumulative
counts, so tuning costs one sort rather than one metric call per candidate.
"""

from __future__ import annotations

import numpy as np

TUNING_METRICS = ("f1_macro", "balanced_accuracy")


def _metric_per_cut(tp: np.ndarray, fp: np.ndarray, pos: int, neg: int, metric: str):
    fn = pos - tp
    tn = neg - fp
    if metric == "balanced_accuracy":
        if not (pos and neg):  # one class only: its recall, as sklearn's metric does
            return tp / pos if pos else tn / neg
        return 0.5 * (tp / pos + tn / neg)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1_pos = np.where(tp > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        f1_neg = np.where(tn > 0, 2 * tn / (2 * tn + fn + fp), 0.0)
    return 0.5 * (f1_pos + f1_neg)


def best_cut(scores: np.ndarray, is_positive: np.ndarray, metric: str) -> float:
    """Return the score cut that maximises ``metric``.

    Rows with ``score > cut`` are predicted positive.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Out-of-fold decision values (higher means more positive).
    is_positive : ndarray of bool, shape (n_samples,)
        Whether each row belongs to the positive class.
    metric : {"f1_macro", "balanced_accuracy"}
        The metric to maximise.

    Returns
    -------
    float
        A cut halfway between two consecutive distinct scores; among equally
        good cuts the one closest to 0 (the untuned Bayes rule) is kept.
    """
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    positive = is_positive[order].astype(np.int64)
    pos = int(positive.sum())
    neg = len(s) - pos
    # cut after position i (top i+1 rows predicted positive), only between distinct scores
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    tp = np.cumsum(positive)[ends]
    fp = ends + 1 - tp
    # also the cut that predicts nothing positive
    tp = np.r_[0, tp]
    fp = np.r_[0, fp]
    values = _metric_per_cut(tp, fp, pos, neg, metric)
    upper = np.r_[np.inf, s[ends]]  # lowest score predicted positive at each cut
    lower = np.r_[s[ends], -np.inf]  # highest score predicted negative
    cuts = np.where(np.isinf(upper), lower + 1.0, np.where(np.isinf(lower), upper - 1.0, (upper + lower) / 2))
    best = np.flatnonzero(values >= values.max() - 1e-12)
    return float(cuts[best[np.argmin(np.abs(cuts[best]))]])
