"""Data: named data sets, the KEEL suite and controlled imbalance sampling.

- :func:`load_dataset` reads a named data set (``breast_cancer``, ``adult``,
  ``credit_fraud``, or a ``hf:``, ``csv:``, ``parquet:`` or ``keel:`` name)
  into a :class:`Dataset`; :func:`list_datasets` lists the built-in names;
- :func:`keel_suite` names the binary KEEL sets of the benchmark suite;
- :func:`make_imbalanced` and :func:`undersampler` control the class balance
  (imbalanced-learn underneath).
"""

from ._datasets import Dataset, keel_suite, list_datasets, load_dataset
from ._keel import read_keel
from ._sampling import make_imbalanced, undersampler

__all__ = [
    "Dataset",
    "keel_suite",
    "list_datasets",
    "load_dataset",
    "make_imbalanced",
    "read_keel",
    "undersampler",
]
