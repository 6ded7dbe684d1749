"""Compatibility: :mod:`gmm_hub.sampling` moved to :mod:`gmm_hub.data` (0.2)."""

from .data._sampling import make_imbalanced, undersampler

__all__ = ["make_imbalanced", "undersampler"]
