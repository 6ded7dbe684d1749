"""Model: the per-class Gaussian-mixture classifier and its tabular pipeline.

- :class:`GMMClassifier` fits one Gaussian mixture per class (components
  chosen by BIC), with class priors and a decision threshold;
- :func:`tabular_pipeline` / :func:`tabular_preprocessor` put imputation,
  scaling and one-hot encoding in front of it for mixed tables.
"""

from ._classifier import GMMClassifier
from ._tabular import tabular_pipeline, tabular_preprocessor

__all__ = ["GMMClassifier", "tabular_pipeline", "tabular_preprocessor"]
