"""Data sets no default was chosen on: regime (g) of ``bench_quality.py``.

The suites are binary, mostly small and nearly Gaussian once bent; users' data
need not be. These are the shapes they lack, from scikit-learn's generators
with fixed seeds, plus the small real multi-class sets scikit-learn ships:

- many classes (10, separated, each made of two clusters);
- many features (100, of which 20 carry the signal, 80 redundant or noise) with a 2% minority;
- mislabelled rows (5% minority, 3% of labels flipped);
- three unbalanced classes (70 / 25 / 5%);
- nested spheres (Gaussian quantiles), which no linear boundary separates;
- two interleaved moons beside four noise features;
- blobs of very different spreads and sizes (3,000 / 300 / 60 rows);
- digits (8 x 8 pixel counts, 10 classes), wine and iris.

``make_classification`` flips 1% of labels unless told otherwise; that is kept,
as real labels are noisy too. None of these was looked at when a default was
chosen; they show where the defaults hold and where they do not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.base import BaseEstimator, ClassifierMixin

from gmm_hub.data import Dataset


def _frame(name: str, X: np.ndarray, y: np.ndarray, source: str) -> Dataset:
    columns = [f"x{j}" for j in range(X.shape[1])]
    return Dataset(name, pd.DataFrame(X, columns=columns), pd.Series(y, name="target"), source)


def unseen_sets() -> dict[str, Dataset]:
    """Regime (g)'s data sets by name (``gen:...`` made here, ``sklearn:...`` shipped with scikit-learn)."""
    make = datasets.make_classification
    generated = {
        "gen:10_classes": make(
            n_samples=6000, n_features=20, n_informative=10, n_classes=10, n_clusters_per_class=2, random_state=0
        ),
        "gen:100_features_2pct": make(
            n_samples=10000, n_features=100, n_informative=20, weights=[0.98], random_state=0
        ),
        "gen:label_noise_5pct": make(
            n_samples=6000, n_features=10, n_informative=6, weights=[0.95], flip_y=0.03, random_state=0
        ),
        "gen:3_classes_70_25_5": make(
            n_samples=5000, n_features=15, n_informative=8, n_classes=3, weights=[0.7, 0.25, 0.05], random_state=0
        ),
        "gen:gaussian_quantiles": datasets.make_gaussian_quantiles(
            n_samples=4000, n_features=6, n_classes=3, random_state=0
        ),
        "gen:blobs_unequal": datasets.make_blobs(
            n_samples=[3000, 300, 60], n_features=8, cluster_std=[1.0, 2.5, 0.5], random_state=0
        ),
    }
    X, y = datasets.make_moons(n_samples=3000, noise=0.3, random_state=0)
    generated["gen:moons_noise"] = (np.c_[X, np.random.default_rng(0).normal(size=(len(X), 4))], y)
    out = {name: _frame(name, X, y, f"scikit-learn generator ({name[4:]})") for name, (X, y) in generated.items()}
    for name, loader in (("digits", datasets.load_digits), ("wine", datasets.load_wine), ("iris", datasets.load_iris)):
        X, y = loader(return_X_y=True)
        out[f"sklearn:{name}"] = _frame(f"sklearn:{name}", X, y, f"sklearn.datasets.load_{name}")
    return out


class NaiveGrid(ClassifierMixin, BaseEstimator):
    """The naive per-class BIC grid of ``_synthetic.naive_grid`` as a classifier (balanced Bayes rule)."""

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def fit(self, X, y):
        from _synthetic import naive_grid

        self.classes_, index = np.unique(np.asarray(y), return_inverse=True)
        self.gmms_ = naive_grid(np.asarray(X, dtype=float), index, self.random_state)
        return self

    def predict(self, X):
        from _synthetic import naive_predict

        return self.classes_[naive_predict(self.gmms_, np.asarray(X, dtype=float))]
