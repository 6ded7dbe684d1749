"""gmm_hub: per-class Gaussian-mixture classifiers for imbalanced tabular data.

The data flows data -> model -> bundle -> card -> hub -> cli:

- :mod:`gmm_hub.data`: :func:`load_dataset` reads a named data set;
- :mod:`gmm_hub.model`: :class:`GMMClassifier` and :func:`tabular_pipeline`;
- :mod:`gmm_hub.evaluation`: :func:`evaluate` and the benchmark;
- :mod:`gmm_hub.bundle`: :func:`save` / :func:`load` a secure skops bundle;
- :mod:`gmm_hub.card`: :func:`write_card` renders its Hugging Face model card;
- :mod:`gmm_hub.hub`: :func:`push` / :func:`pull` move bundles to and from the Hub;
- :mod:`gmm_hub.cli`: the ``gmm-hub`` command.

The local Hub server (:mod:`gmm_hub.localhub`) is a separate program.

Every public name is imported on first use, so ``import gmm_hub`` costs
almost nothing (the local Hub server, which imports it, stays small) and the
heavier libraries (scikit-learn, skops, huggingface_hub, matplotlib, datasets)
load only when something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .exceptions import GMMHubError

if TYPE_CHECKING:  # static type checkers see the classifier's real type
    from .model import GMMClassifier as GMMClassifier

__version__ = "0.2.0.dev0"

# public name -> subpackage that defines it, imported on first attribute access
_LAZY = {
    "GMMClassifier": ".model",
    "tabular_pipeline": ".model",
    "make_imbalanced": ".data",
    "undersampler": ".data",
    "load_dataset": ".data",
    "evaluate": ".evaluation",
    "evaluate_model": ".evaluation",
    "save": ".bundle",
    "load": ".bundle",
    "Predictor": ".bundle",
    "write_card": ".card",
    "push": ".hub",
    "pull": ".hub",
    "GMMHubModel": ".hub",
}

__all__ = ["GMMHubError", "__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gmm_hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
