"""gmm_hub: per-class Gaussian-mixture classifiers for imbalanced tabular data.

The data flows data -> model -> bundle -> card -> hub -> cli:

- :func:`load_dataset` reads a named data set (:mod:`gmm_hub.data`);
- :class:`GMMClassifier` and :func:`tabular_pipeline` train the model;
- :func:`save` / :func:`load` write and read a secure skops bundle;
- :func:`write_card` renders its Hugging Face model card;
- :func:`push` / :func:`pull` move bundles to and from the Hub.

Only the classifier is imported eagerly; everything that pulls in heavier
libraries (skops, huggingface_hub, matplotlib, datasets) is imported on first
use, so ``import gmm_hub`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._classifier import GMMClassifier
from .exceptions import GMMHubError

__version__ = "0.1.0"

# public name -> module that defines it, imported on first attribute access
_LAZY = {
    "tabular_pipeline": "._tabular",
    "make_imbalanced": ".sampling",
    "undersampler": ".sampling",
    "load_dataset": ".data",
    "evaluate": ".evaluation",
    "evaluate_model": ".evaluation",
    "save": "._io",
    "load": "._io",
    "Predictor": "._predictor",
    "write_card": "._card",
    "push": "._hub",
    "pull": "._hub",
    "GMMHubModel": "._hub_mixin",
}

__all__ = ["GMMClassifier", "GMMHubError", "__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gmm_hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
