"""Tests of gmm_hub.model._threshold.best_cut (choosing a binary decision threshold)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score, f1_score

from gmm_hub.model._threshold import TUNING_METRICS, best_cut

# Ten rows, positives at scores 9 and 6.
#   cut 8.5 (top 1 positive): tp=1 fp=0 -> BA 0.750, F1-macro (2/3 + 16/17)/2 = 0.804
#   cut 5.5 (top 4 positive): tp=2 fp=2 -> BA 0.875, F1-macro (4/6 + 12/14)/2 = 0.762
SCORES = np.arange(9.0, -1.0, -1.0)
IS_POSITIVE = np.isin(SCORES, [9.0, 6.0])


def _metric(name, y_true, y_pred):
    if name == "balanced_accuracy":
        return balanced_accuracy_score(y_true, y_pred)
    return f1_score(y_true, y_pred, average="macro", zero_division=0)


@pytest.mark.parametrize(("metric", "expected"), [("f1_macro", 8.5), ("balanced_accuracy", 5.5)])
def test_best_cut_hand_made_example(metric, expected):
    assert best_cut(SCORES, IS_POSITIVE, metric) == expected


@pytest.mark.parametrize("metric", TUNING_METRICS)
def test_best_cut_perfect_separation_cuts_halfway(metric):
    scores = np.array([0.9, 0.8, 0.3, 0.1])
    assert best_cut(scores, np.array([True, True, False, False]), metric) == pytest.approx(0.55)


@pytest.mark.parametrize("metric", TUNING_METRICS)
def test_best_cut_ties_choose_cut_nearest_zero(metric):
    # Predicting the top row or the top three rows positive score the same on
    # both metrics (BA 0.75, F1-macro 0.733); the cut closer to 0 wins.
    positive = np.array([True, False, True, False])
    assert best_cut(np.array([1.5, 1.0, -1.0, -3.0]), positive, metric) == 1.25
    assert best_cut(np.array([3.0, 1.0, -0.5, -3.0]), positive, metric) == -1.75


@pytest.mark.parametrize("metric", TUNING_METRICS)
def test_best_cut_repeated_scores_cut_between_distinct_values(metric):
    scores = np.array([2.0, 2.0, 1.0, 1.0, 0.0])
    cut = best_cut(scores, np.array([True, False, True, False, False]), metric)
    assert cut == 0.5  # never splits rows that share a score


@pytest.mark.parametrize("metric", TUNING_METRICS)
def test_best_cut_matches_sklearn_metric_on_random_scores(metric):
    rng = np.random.RandomState(0)
    is_positive = rng.rand(300) < 0.1
    scores = rng.normal(size=300) + 1.5 * is_positive
    cut = best_cut(scores, is_positive, metric)
    got = _metric(metric, is_positive, scores > cut)
    s = np.sort(scores)
    candidates = np.r_[s[0] - 1, (s[1:] + s[:-1]) / 2, s[-1] + 1]
    best = max(_metric(metric, is_positive, scores > c) for c in candidates)
    assert got == pytest.approx(best)


@pytest.mark.parametrize("metric", TUNING_METRICS)
def test_best_cut_all_positive_predicts_everything_positive(metric):
    scores = np.array([3.0, 1.0, -1.0])
    cut = best_cut(scores, np.ones(3, dtype=bool), metric)
    assert np.all(scores > cut)


@pytest.mark.parametrize("metric", TUNING_METRICS)
def test_best_cut_all_negative_predicts_nothing_positive(metric):
    scores = np.array([3.0, 1.0, -1.0])
    cut = best_cut(scores, np.zeros(3, dtype=bool), metric)
    assert not np.any(scores > cut)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(20, 400),
    rate=st.floats(0.02, 0.5),
    spread=st.floats(0.1, 1e3),
)
def test_best_cut_at_least_as_good_as_scikit_learns_threshold_grid(seed, n, rate, spread):
    # TunedThresholdClassifierCV tries 100 evenly spaced thresholds; every cut between distinct
    # scores includes the cut each of them makes, so the exhaustive search is never worse
    rng = np.random.default_rng(seed)
    is_positive = rng.random(n) < rate
    is_positive[:2] = [True, False]
    scores = spread * rng.standard_t(2, size=n) + 2.0 * is_positive  # heavy tails, as log-odds have
    for metric in TUNING_METRICS:
        ours = _metric(metric, is_positive, scores > best_cut(scores, is_positive, metric))
        grid = np.linspace(scores.min(), scores.max(), 100)
        theirs = max(_metric(metric, is_positive, scores >= t) for t in grid)
        assert ours >= theirs - 1e-12
