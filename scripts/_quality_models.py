"""The models, the evaluations and the baseline cache of ``bench_quality.py``.

A task is one (data set, model) pair. Real data sets are cross-validated
(stratified folds, fixed seed, the same folds for every model); the synthetic
``correlated:<rows>`` sets of regime (c) get one stratified 70/30 split.

Only the gmm_hub variants (:data:`OURS`) are re-run every time; every other
model's result is cached in ``results/quality_cache.json`` under a key of data
set, model, folds, seed and the scikit-learn, imbalanced-learn (and, for
synthetic data, numpy) versions. Bump :data:`CACHE_VERSION` when a baseline or
the evaluation itself changes.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import write_json
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from gmm_hub.model import GMMClassifier, tabular_pipeline
from gmm_hub.model._tabular import tabular_preprocessor

CACHE_VERSION = 1
GMM = "gmm_hub"
RAW = "gmm_hub raw (no scaling)"
PIPE = "gmm_hub tabular_pipeline()"
ORIGINAL = "original (undersampled 2-GMM)"
LOGISTIC = "logistic (balanced)"
BRF = "balanced random forest"
NAIVE = "naive grid K=1..5 full"
OURS = (GMM, RAW, PIPE)
ALIASES = {
    "gmm_hub": GMM,
    "raw": RAW,
    "pipeline": PIPE,
    "original": ORIGINAL,
    "qda": "QDA",
    "nb": "GaussianNB",
    "logistic": LOGISTIC,
    "brf": BRF,
    "naive": NAIVE,
}
SUITE_BASELINES = (ORIGINAL, "QDA", "GaussianNB", LOGISTIC, BRF)


def raw_preprocessor() -> Any:
    """:func:`tabular_preprocessor` with the numeric columns imputed but not transformed.

    Built from the real preprocessor, so categorical handling stays whatever
    gmm_hub does; only the numeric branch becomes a median imputer.
    """
    from sklearn.impute import SimpleImputer

    pre = tabular_preprocessor()
    pre.transformers = [
        (name, SimpleImputer(strategy="median") if name == "numeric" else step, columns)
        for name, step, columns in pre.transformers
    ]
    return pre


def factory(model: str, seed: int, params: dict[str, Any]) -> Callable[[], Any]:
    """Zero-argument factory of the whole estimator (preprocessing included) named ``model``."""
    from gmm_hub.evaluation import UndersampledGMM, baselines

    def ours() -> GMMClassifier:
        return GMMClassifier(**{"random_state": seed, **params})

    if model == GMM:
        return lambda: make_pipeline(tabular_preprocessor(), ours())
    if model == RAW:
        return lambda: make_pipeline(raw_preprocessor(), ours())
    if model == PIPE:
        return lambda: tabular_pipeline(**{"random_state": seed, **params})
    if model == BRF:
        from imblearn.ensemble import BalancedRandomForestClassifier

        return lambda: make_pipeline(
            tabular_preprocessor(),
            BalancedRandomForestClassifier(
                n_estimators=100,
                sampling_strategy="all",
                replacement=True,
                bootstrap=False,
                random_state=seed,
                n_jobs=1,
            ),
        )
    if model == ORIGINAL:
        return lambda: make_pipeline(tabular_preprocessor(), UndersampledGMM(random_state=seed))
    if model == NAIVE:
        from _unseen import NaiveGrid

        return lambda: make_pipeline(tabular_preprocessor(), NaiveGrid(random_state=seed))
    make = baselines(seed)[model]
    return lambda: make_pipeline(tabular_preprocessor(), make())


def cross_validate(make: Callable[[], Any], X, y, n_splits: int, seed: int) -> dict[str, Any]:
    """Mean and spread of balanced accuracy and F1-macro over stratified folds; failures recorded.

    The procedure of ``gmm_hub.evaluation._benchmark._cross_validate``, with
    the whole estimator (preprocessing included) coming from ``make``.
    """
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    scores: dict[str, list[float]] = {"balanced_accuracy": [], "f1_macro": []}
    start = time.perf_counter()
    try:
        for train, test in folds.split(X, y):
            model = make()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # collinearity and convergence chatter
                model.fit(X.iloc[train], y.iloc[train])
                pred = model.predict(X.iloc[test])
            scores["balanced_accuracy"].append(balanced_accuracy_score(y.iloc[test], pred))
            scores["f1_macro"].append(f1_score(y.iloc[test], pred, average="macro"))
    except (ValueError, np.linalg.LinAlgError) as err:
        return {"status": f"failed: {type(err).__name__}: {str(err).splitlines()[0][:120]}"}
    row: dict[str, Any] = {"status": "ok", "seconds": time.perf_counter() - start}
    for metric, values in scores.items():
        row[metric] = float(np.mean(values))
        row[f"{metric}_std"] = float(np.std(values))
    return row


def holdout(rows: int, model: str, seed: int, params: dict[str, Any]) -> dict[str, Any]:
    """Regime (c): one model on the correlated generator's 70/30 split, with per-class log-likelihoods."""
    from _synthetic import fit_model, fit_naive, split

    from gmm_hub.evaluation import UndersampledGMM

    data = split("correlated", rows, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model == NAIVE:
            out = fit_naive(data, seed)
        elif model == ORIGINAL:
            out = fit_model(UndersampledGMM(random_state=seed), data)
        else:
            out = fit_model(GMMClassifier(**{"random_state": seed, **params}), data)
    return {"status": "ok", "seconds": out.pop("fit_s"), **out}


def run_task(dataset: str, model: str, data: Any, seed: int, folds: int, params: dict[str, Any]) -> dict[str, Any]:
    """Evaluate one (data set, model) pair; ``data`` is the loaded Dataset (None for synthetic sets)."""
    start = time.perf_counter()
    if dataset.startswith("correlated:"):
        row = holdout(int(dataset.split(":")[1]), model, seed, params)
        splits = "70/30"
    else:
        splits = max(2, min(folds, int(data.y.value_counts().min())))
        row = cross_validate(factory(model, seed, params), data.X, data.y, splits, seed)
    return {"dataset": dataset, "model": model, "folds": splits, **row, "wall_s": time.perf_counter() - start}


class Cache:
    """Baseline results on disk, keyed by what determines them; written atomically after each add."""

    def __init__(self, path: Path, folds: int, seed: int) -> None:
        import imblearn
        import sklearn

        self.path, self.folds, self.seed = path, folds, seed
        self.versions = f"sklearn={sklearn.__version__}|imblearn={imblearn.__version__}"
        self.numpy = f"numpy={np.__version__}"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.entries: dict[str, Any] = data["entries"] if data.get("version") == CACHE_VERSION else {}
        except (OSError, ValueError, KeyError, AttributeError):
            self.entries = {}
        self.hits = 0

    def key(self, dataset: str, model: str) -> str:
        folds = "70/30" if dataset.startswith("correlated:") else self.folds
        extra = f"|{self.numpy}" if dataset.startswith("correlated:") else ""
        return f"{dataset}|{model}|folds={folds}|seed={self.seed}|{self.versions}{extra}"

    def get(self, dataset: str, model: str) -> dict[str, Any] | None:
        if model in OURS:
            return None
        row = self.entries.get(self.key(dataset, model))
        self.hits += row is not None
        return None if row is None else {**row, "cached": True}

    def add(self, row: dict[str, Any]) -> None:
        if row["model"] in OURS:
            return
        self.entries[self.key(row["dataset"], row["model"])] = row
        write_json(self.path, {"version": CACHE_VERSION, "entries": self.entries})
