"""Cross-validated comparison of GMMClassifier against baselines.

Every model sees the same preprocessing (:func:`tabular_preprocessor`: impute,
standardise, one-hot encode) and the same stratified folds, so the table
compares the classifiers and nothing else.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from ..model._classifier import GMMClassifier
from ..model._tabular import tabular_preprocessor

logger = logging.getLogger(__name__)

METRICS = ("balanced_accuracy", "f1_macro")


class UndersampledGMM(ClassifierMixin, BaseEstimator):
    """The original design: undersample, one 2-component full GMM per class.

    Every class is randomly undersampled to the size of the smallest, each
    gets a ``GaussianMixture(n_components=2, covariance_type="full")``, and
    the class whose mixture gives the larger log-likelihood wins. Kept as the
    reference that :class:`GMMClassifier` must beat.

    Parameters
    ----------
    n_components : int, default=2
        Components of every class's mixture.
    random_state : int or None, default=None
        Seed of the undersampling and of EM.
    """

    def __init__(self, n_components: int = 2, *, random_state: int | None = None) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> UndersampledGMM:
        """Undersample every class to the smallest and fit its mixture."""
        from imblearn.under_sampling import RandomUnderSampler

        X, y = validate_data(self, X, y, dtype=np.float64)
        X, y = RandomUnderSampler(random_state=self.random_state).fit_resample(X, y)
        self.classes_ = np.unique(y)
        self.gmms_ = [
            GaussianMixture(
                min(self.n_components, int((y == c).sum())),
                covariance_type="full",
                random_state=self.random_state,
            ).fit(X[y == c])
            for c in self.classes_
        ]
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The class whose mixture scores the row highest."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        scores = np.column_stack([g.score_samples(X) for g in self.gmms_])
        return self.classes_[np.argmax(scores, axis=1)]


def baselines(random_state: int = 0) -> dict[str, Callable[[], Any]]:
    """Factories of the models compared by :func:`run_benchmark`.

    Parameters
    ----------
    random_state : int, default=0
        Seed given to every model that has one.

    Returns
    -------
    dict of str to callable
        Name -> zero-argument factory of an unfitted classifier (without
        preprocessing). ``"gmm_hub"`` is GMMClassifier with its defaults.
    """
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB

    return {
        "gmm_hub": lambda: GMMClassifier(random_state=random_state),
        "original (undersampled 2-GMM)": lambda: UndersampledGMM(random_state=random_state),
        "QDA": QuadraticDiscriminantAnalysis,
        "GaussianNB": GaussianNB,
        "logistic (balanced)": lambda: LogisticRegression(class_weight="balanced", max_iter=2000),
    }


def _cross_validate(make_model, X, y, n_splits: int, random_state: int) -> dict[str, Any]:
    """Mean and spread of the metrics over stratified folds; failures are recorded."""
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    scores: dict[str, list[float]] = {m: [] for m in METRICS}
    start = time.perf_counter()
    try:
        for train, test in folds.split(X, y):
            model = make_pipeline(tabular_preprocessor(), make_model())
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


def run_benchmark(
    datasets: Sequence[str],
    *,
    models: Sequence[str] | None = None,
    n_splits: int = 5,
    random_state: int = 0,
    n_jobs: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Cross-validate every model on every data set.

    Parameters
    ----------
    datasets : sequence of str
        Names accepted by :func:`gmm_hub.data.load_dataset`.
    models : sequence of str, default=None
        Names from :func:`baselines` (default: all).
    n_splits : int, default=5
        Stratified folds (lowered for a data set whose smallest class is
        smaller).
    random_state : int, default=0
        Seed of the folds and the models.
    n_jobs : int or None, default=None
        Parallel (data set, model) evaluations.
    progress : bool, default=True
        Show a progress bar.

    Returns
    -------
    list of dict
        One JSON-serialisable row per (data set, model): ``dataset``,
        ``model``, ``status`` and, when it ran, the mean and standard deviation
        of each metric and the seconds taken.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from ..data._datasets import load_dataset

    factories = baselines(random_state)
    names = list(models) if models is not None else list(factories)
    unknown = sorted(set(names) - set(factories))
    if unknown:
        raise ValueError(f"Unknown model(s) {unknown}; choose from {sorted(factories)}.")
    loaded = [load_dataset(name) for name in datasets]
    tasks = [(ds, model) for ds in loaded for model in names]

    def evaluate(ds, model):
        splits = max(2, min(n_splits, int(ds.y.value_counts().min())))
        row = _cross_validate(factories[model], ds.X, ds.y, splits, random_state)
        return {"dataset": ds.name, "model": model, **row}

    with tqdm(total=len(tasks), desc="benchmark", unit="fit", disable=not progress) as bar:
        rows = []
        for row in Parallel(n_jobs=n_jobs, return_as="generator")(delayed(evaluate)(ds, model) for ds, model in tasks):
            rows.append(row)
            bar.update()
    return rows


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model: mean metrics over data sets, and wins/losses against gmm_hub.

    Means are taken over the data sets where the model ran; ``n_datasets``
    says how many those were.
    """
    by_model: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    ours = {r["dataset"]: r for r in by_model.get("gmm_hub", []) if r["status"] == "ok"}
    summary = []
    for model, model_rows in by_model.items():
        ran = [r for r in model_rows if r["status"] == "ok"]
        entry: dict[str, Any] = {"model": model, "n_datasets": len(ran)}
        for metric in METRICS:
            entry[metric] = float(np.mean([r[metric] for r in ran])) if ran else float("nan")
        paired = [(ours[r["dataset"]], r) for r in ran if r["dataset"] in ours]
        if paired and model != "gmm_hub":
            entry["gmm_hub_on_same"] = float(np.mean([o["balanced_accuracy"] for o, _ in paired]))
            entry["gmm_hub_wins"] = sum(o["balanced_accuracy"] > r["balanced_accuracy"] for o, r in paired)
        summary.append(entry)
    return summary
