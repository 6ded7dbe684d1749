"""Compatibility: :mod:`gmm_hub.benchmark` moved to :mod:`gmm_hub.evaluation` (0.2)."""

from .evaluation._benchmark import METRICS, UndersampledGMM, baselines, run_benchmark, summarise

__all__ = ["METRICS", "UndersampledGMM", "baselines", "run_benchmark", "summarise"]
