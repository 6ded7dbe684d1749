"""Picking a binary decision threshold on out-of-fold scores.

:func:`cross_validated_threshold` is the method of scikit-learn's
``TunedThresholdClassifierCV``: a metric curve per fold on evenly spaced
probability thresholds, the curves averaged on a common grid, the best mean
kept. Each curve comes from cumulative counts, so a fold costs one sort
rather than one metric call per threshold. (An exhaustive search over every
cut of the pooled out-of-fold scores, this module's method before, overfitted
the few minority rows of small sets: see the README.)
"""

from __future__ import annotations

from collections.abc import Sequence

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


def cross_validated_threshold(
    folds: Sequence[tuple[np.ndarray, np.ndarray]], metric: str, n_thresholds: int = 100
) -> float:
    """The probability threshold ``TunedThresholdClassifierCV`` picks from these folds.

    Rows with ``proba >= threshold`` are predicted positive. On each fold the
    metric is evaluated at ``n_thresholds`` evenly spaced thresholds from the
    fold's lowest to its highest probability; each curve is interpolated onto
    ``n_thresholds`` thresholds spanning all folds, the curves are averaged,
    and the first threshold of the highest mean wins (scikit-learn 1.5+'s
    ``thresholds=100`` with a ``"f1_macro"`` or ``"balanced_accuracy"``
    scorer; tested to agree with it).

    Parameters
    ----------
    folds : sequence of (proba, is_positive)
        Each validation fold's out-of-fold probabilities of the positive class
        and whether each row is positive.
    metric : {"f1_macro", "balanced_accuracy"}
        The metric to maximise.
    n_thresholds : int, default=100
        Thresholds per curve, as ``TunedThresholdClassifierCV(thresholds=...)``.

    Returns
    -------
    float
        The threshold.
    """
    curves = []
    for proba, is_positive in folds:
        grid = np.linspace(proba.min(), proba.max(), n_thresholds)
        positives, negatives = np.sort(proba[is_positive]), np.sort(proba[~is_positive])
        tp = len(positives) - np.searchsorted(positives, grid, side="left")
        fp = len(negatives) - np.searchsorted(negatives, grid, side="left")
        curves.append((grid, _metric_per_cut(tp, fp, len(positives), len(negatives), metric)))
    common = np.linspace(min(g[0] for g, _ in curves), max(g[-1] for g, _ in curves), n_thresholds)
    mean = np.mean([np.interp(common, grid, values) for grid, values in curves], axis=0)
    return float(common[np.argmax(mean)])
