"""Evaluation: held-out metrics and the benchmark against baselines.

- :func:`evaluate` / :func:`evaluate_model` compute the metrics a bundle and
  its card carry; :func:`format_table` / :func:`metrics_table` print them;
- :func:`run_benchmark` cross-validates ``GMMClassifier`` against the
  :func:`baselines` on named data sets and :func:`summarise` compares them.
"""

from ._benchmark import METRICS, UndersampledGMM, baselines, run_benchmark, summarise
from ._metrics import MAX_CURVE_POINTS, evaluate, evaluate_model, format_table, metrics_table

__all__ = [
    "MAX_CURVE_POINTS",
    "METRICS",
    "UndersampledGMM",
    "baselines",
    "evaluate",
    "evaluate_model",
    "format_table",
    "metrics_table",
    "run_benchmark",
    "summarise",
]
