"""Tests of gmm_hub.model._threshold: scikit-learn's threshold tuning method, from cumulative counts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score

from gmm_hub.model._threshold import TUNING_METRICS, cross_validated_threshold

RND = 0


def _metric(name, y_true, y_pred):
    if name == "balanced_accuracy":
        return balanced_accuracy_score(y_true, y_pred)
    return f1_score(y_true, y_pred, average="macro", zero_division=0)


@pytest.mark.parametrize("metric", TUNING_METRICS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_validated_threshold_is_tuned_threshold_classifier_cvs_choice(metric, seed):
    # the same folds and the same per-fold classifiers: scikit-learn's choice, to rounding
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

    X, y = make_classification(600, 6, weights=[0.93], flip_y=0.02, random_state=seed)
    splitter = StratifiedKFold(5, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # F1 of a fold that predicts no positive is 0, with a warning
        theirs = TunedThresholdClassifierCV(LogisticRegression(), scoring=metric, cv=splitter).fit(X, y)
    folds = []
    for train, test in splitter.split(X, y):
        proba = LogisticRegression().fit(X[train], y[train]).predict_proba(X[test])[:, 1]
        folds.append((proba, y[test] == 1))
    assert cross_validated_threshold(folds, metric) == pytest.approx(theirs.best_threshold_, rel=1e-9, abs=1e-12)


def test_cross_validated_threshold_ignores_the_order_of_rows_within_folds():
    rng = np.random.default_rng(RND)
    folds = [(rng.random(50), rng.random(50) < 0.2) for _ in range(3)]
    shuffled = [(p[i], t[i]) for (p, t), i in zip(folds, (rng.permutation(50) for _ in folds), strict=True)]
    for metric in TUNING_METRICS:
        assert cross_validated_threshold(folds, metric) == cross_validated_threshold(shuffled, metric)


@pytest.mark.parametrize("metric", TUNING_METRICS)
def test_cross_validated_threshold_counts_ties_as_the_metric_does(metric):
    # one fold with repeated probabilities: the threshold maximises the metric of proba >= t over
    # the fold's grid, each grid point scored by scikit-learn's own metric
    rng = np.random.default_rng(RND)
    proba = np.round(rng.random(80), 1)  # eleven distinct values, many ties
    is_positive = rng.random(80) < 0.25 + 0.5 * (proba > 0.6)
    grid = np.linspace(proba.min(), proba.max(), 100)
    values = [_metric(metric, is_positive, proba >= t) for t in grid]
    assert cross_validated_threshold([(proba, is_positive)], metric) == grid[int(np.argmax(values))]
