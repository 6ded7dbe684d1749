"""Model: the per-class Gaussian-mixture classifier and its tabular pipeline.

- :class:`GMMClassifier` fits one Gaussian mixture per class (components
  chosen by BIC), with class priors and a decision threshold;
- :func:`tabular_pipeline` / :func:`tabular_preprocessor` put imputation,
  scaling and one-hot encoding in front of it for mixed tables.

The tabular helpers are imported on first use: loading a bundle imports
``gmm_hub.model._classifier`` (and so this package), and a bundle without a
ColumnTransformer need not import ``sklearn.compose`` and ``sklearn.impute``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._classifier import GMMClassifier

if TYPE_CHECKING:
    from ._tabular import tabular_pipeline as tabular_pipeline
    from ._tabular import tabular_preprocessor as tabular_preprocessor

__all__ = ["GMMClassifier", "tabular_pipeline", "tabular_preprocessor"]


def __getattr__(name: str) -> Any:
    if name in ("tabular_pipeline", "tabular_preprocessor"):
        from . import _tabular

        return getattr(_tabular, name)
    raise AttributeError(f"module 'gmm_hub.model' has no attribute {name!r}")
