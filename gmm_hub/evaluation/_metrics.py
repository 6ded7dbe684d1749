"""Metrics for imbalanced classification, as one plain JSON-serialisable dict.

:func:`evaluate` returns the dict described in the shared contract (and stored
as ``config.json["metrics"]`` in a bundle), with 95% intervals: a percentile
bootstrap over the test rows for F1-macro and balanced accuracy, Wilson
intervals for each class's recall. :func:`evaluate_model` computes it from a
fitted classifier and adds what needs the features: metrics per group of each
sensitive attribute and a few held-out example rows for the model card.
:func:`format_table` renders rows of numbers as a Markdown table.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_curve,
)
from sklearn.utils.multiclass import unique_labels

from ..exceptions import InvalidInputError
from ._uncertainty import (
    CONFIDENCE_LEVEL,
    N_RESAMPLES,
    _balanced_accuracy,
    _bootstrap_intervals,
    _codes,
    _f1_macro,
    _per_class,
)

__all__ = [
    "CONFIDENCE_LEVEL",
    "MAX_CURVE_POINTS",
    "N_RESAMPLES",
    "SENSITIVE_ATTRIBUTES",
    "evaluate",
    "evaluate_model",
    "format_table",
    "sensitive_columns",
]

logger = logging.getLogger(__name__)

#: Largest number of points kept from the precision-recall curve.
MAX_CURVE_POINTS = 200
#: Column names treated as sensitive attributes by default (matched ignoring
#: case, spaces, ``-`` and ``_``).
SENSITIVE_ATTRIBUTES = (
    "sex",
    "gender",
    "race",
    "ethnicity",
    "age",
    "religion",
    "native-country",
    "marital-status",
)
#: Groups shown per sensitive attribute; smaller ones are pooled into "other".
MAX_GROUPS = 8
#: A numeric sensitive column with more distinct values is cut into quartiles.
MAX_NUMERIC_LEVELS = 10


def _native(value: Any) -> Any:
    """Turn numpy scalars, arrays and containers into JSON-native values."""
    if isinstance(value, dict):
        return {str(_native(k)): _native(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_native(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (str, np.str_)):
        return str(value)
    if value is None:
        return None
    return str(value)


def _downsample(precision: np.ndarray, recall: np.ndarray, max_points: int) -> tuple[list, list]:
    n = len(precision)
    if n > max_points:
        keep = np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(int))
        precision, recall = precision[keep], recall[keep]
    return [float(p) for p in precision], [float(r) for r in recall]


def _positive_scores(y_score: Any, n_samples: int, n_labels: int) -> np.ndarray:
    scores = np.asarray(y_score, dtype=float)
    if scores.ndim == 2 and scores.shape[1] == n_labels:
        scores = scores[:, 1]
    if scores.shape != (n_samples,):
        raise InvalidInputError(
            f"y_score must hold the positive-class probability per sample; expected shape ({n_samples},) "
            f"or ({n_samples}, {n_labels}), got {np.asarray(y_score).shape}."
        )
    return scores


def evaluate(
    y_true: Any,
    y_pred: Any,
    y_score: Any = None,
    *,
    labels: Sequence[Any] | None = None,
    n_resamples: int = N_RESAMPLES,
    random_state: int = 0,
) -> dict[str, Any]:
    """Compute imbalance-aware metrics, with 95% intervals, as a plain JSON-serialisable dict.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    y_score : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
        Binary only: probability (or any score) of the positive class, or a
        ``predict_proba`` matrix whose column 1 is used. Ignored for
        multiclass targets.
    labels : sequence, default=None
        Label order for the confusion matrix and the report. ``None`` uses the
        sorted labels found in ``y_true`` and ``y_pred``, like scikit-learn's
        ``classes_``. For binary problems the positive class is ``labels[1]``,
        matching ``predict_proba(X)[:, 1]``.
    n_resamples : int, default=1000
        Bootstrap resamples for the F1-macro and balanced-accuracy intervals;
        0 skips them (no ``"intervals"`` key).
    random_state : int, default=0
        Seed of the bootstrap, so the same inputs give the same intervals.

    Returns
    -------
    dict
        ``n_samples``, ``labels`` (JSON-native), ``balanced_accuracy``,
        ``f1_macro``, ``accuracy``, ``confusion_matrix`` (rows true, columns
        predicted, in ``labels`` order) and ``classification_report``
        (scikit-learn's ``output_dict=True``, ``zero_division=0``),
        ``per_class`` (per label: test ``support``, ``predicted`` count,
        ``recall`` and its Wilson 95% interval ``recall_ci``) and, unless
        ``n_resamples=0``, ``intervals`` (``{"f1_macro": [low, high],
        "balanced_accuracy": [low, high], "method": ..., "confidence_level":
        0.95, "n_resamples": ..., "random_state": ...}``). Binary
        problems add ``pos_label`` and ``mcc`` and, with ``y_score``,
        ``average_precision`` (PR-AUC; ``None`` when ``y_true`` has no
        positive) and ``precision_recall_curve`` (``{"precision": [...],
        "recall": [...]}``, at most :data:`MAX_CURVE_POINTS` points).

    Raises
    ------
    InvalidInputError
        If the inputs are empty, of different lengths, or ``y_score`` has the
        wrong shape.

    Examples
    --------
    >>> from gmm_hub.evaluation import evaluate
    >>> result = evaluate([0, 0, 1, 1], [0, 1, 1, 1])
    >>> result["confusion_matrix"], result["balanced_accuracy"]
    ([[1, 1], [0, 2]], 0.75)
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1 or len(y_true) != len(y_pred):
        raise InvalidInputError(
            f"y_true and y_pred must be 1-d and of equal length; got shapes {y_true.shape} and {y_pred.shape}."
        )
    if len(y_true) == 0:
        raise InvalidInputError("evaluate needs at least one sample; got empty y_true and y_pred.")
    labels = list(unique_labels(y_true, y_pred)) if labels is None else list(labels)
    names = [str(_native(label)) for label in labels]
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    result: dict[str, Any] = {
        "n_samples": len(y_true),
        "labels": _native(labels),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "confusion_matrix": _native(matrix),
        "classification_report": _native(
            classification_report(y_true, y_pred, labels=labels, target_names=names, output_dict=True, zero_division=0)
        ),
        "per_class": _per_class(matrix, names),
    }
    if n_resamples > 0:
        t, p = _codes(y_true, labels), _codes(y_pred, labels)
        result["intervals"] = _bootstrap_intervals(t, p, len(labels), n_resamples, random_state)
    if len(labels) != 2:
        return result
    pos_label = labels[1]
    result["pos_label"] = _native(pos_label)
    result["mcc"] = float(matthews_corrcoef(y_true, y_pred))
    if y_score is None:
        return result
    scores = _positive_scores(y_score, len(y_true), len(labels))
    positive = y_true == pos_label
    if not positive.any():
        logger.warning("no sample of the positive class %r in y_true: average precision undefined", pos_label)
        result["average_precision"] = None
        result["precision_recall_curve"] = {"precision": [], "recall": []}
        return result
    result["average_precision"] = float(average_precision_score(positive, scores))
    precision, recall, _ = precision_recall_curve(positive, scores)
    precision, recall = _downsample(precision, recall, MAX_CURVE_POINTS)
    result["precision_recall_curve"] = {"precision": precision, "recall": recall}
    return result


def _normalise_name(name: Any) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def sensitive_columns(columns: Sequence[Any], attributes: Sequence[str] = SENSITIVE_ATTRIBUTES) -> list[Any]:
    """Columns whose name is one of ``attributes``, ignoring case, spaces, ``-`` and ``_``.

    Parameters
    ----------
    columns : sequence
        Column names of the input table.
    attributes : sequence of str, default=SENSITIVE_ATTRIBUTES
        Names of sensitive attributes.

    Returns
    -------
    list
        The matching columns, in input order.

    Examples
    --------
    >>> sensitive_columns(["Age", "native_country", "hours"])
    ['Age', 'native_country']
    """
    wanted = {_normalise_name(a) for a in attributes}
    return [c for c in columns if _normalise_name(c) in wanted]


def _group_keys(column: Any) -> tuple[Any, str]:
    """(group label per row, how the groups were made) for one sensitive column."""
    import pandas as pd

    series = pd.Series(column).reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(series) and series.nunique() > MAX_NUMERIC_LEVELS:
        codes, edges = pd.qcut(series, 4, labels=False, retbins=True, duplicates="drop")
        names = [f"{'[' if i == 0 else '('}{lo:g}, {hi:g}]" for i, (lo, hi) in enumerate(itertools.pairwise(edges))]
        keys = codes.map(lambda c: names[int(c)] if c == c else "missing").astype(object)
        return keys, "quartiles of the test rows"
    keys = series.astype(object).where(series.notna(), "missing").map(str)
    counts = keys.value_counts()
    if len(counts) > MAX_GROUPS:
        small = set(counts.index[MAX_GROUPS - 1 :])
        keys = keys.where(~keys.isin(small), f"other ({len(small)} values)")
        return keys, f"values; the {len(small)} rarest pooled"
    return keys, "values"


def _group_metrics(X: Any, y_true: np.ndarray, y_pred: np.ndarray, labels: list[Any], columns: list[Any]) -> dict:
    """Rows, class counts, F1-macro and balanced accuracy per group of each sensitive column."""
    t, p = _codes(y_true, labels), _codes(y_pred, labels)
    n_labels = len(labels)
    out: dict[str, Any] = {}
    for col in columns:
        keys, grouping = _group_keys(X[col])
        groups = []
        order = keys.value_counts().index
        if grouping.startswith("quartiles"):  # by lower edge, "missing" last
            order = sorted(order, key=lambda k: (k == "missing", float(k[1:].split(",")[0]) if k != "missing" else 0))
        for key in order:
            rows = (keys == key).to_numpy()
            present = np.bincount(t[rows][t[rows] >= 0], minlength=n_labels)
            every_class = bool((present > 0).all())
            groups.append(
                {
                    "group": str(key),
                    "n": int(rows.sum()),
                    "class_counts": [int(c) for c in present],
                    # with a class absent, balanced accuracy is the recall of the others: not comparable
                    "balanced_accuracy": float(_balanced_accuracy(t[rows], p[rows], n_labels)) if every_class else None,
                    "f1_macro": float(_f1_macro(t[rows], p[rows], n_labels)),
                }
            )
        out[str(col)] = {"grouping": grouping, "groups": groups}
    return out


def _example_rows(X: Any, y: np.ndarray, n: int) -> dict[str, Any] | None:
    """``n`` complete held-out rows, one per class first, as ``{"rows": {col: [...]}, "labels": [...]}``."""
    import pandas as pd

    if n <= 0 or not isinstance(X, pd.DataFrame):
        return None
    complete = np.flatnonzero(X.notna().all(axis=1).to_numpy())
    if len(complete) == 0:
        return None
    chosen: list[int] = []
    for label in pd.unique(y[complete]):  # first complete row of each class, in order of appearance
        chosen.append(int(complete[np.flatnonzero(y[complete] == label)[0]]))
    chosen = sorted(chosen[:n] + [int(i) for i in complete if i not in chosen][: max(0, n - len(chosen))])
    rows = X.iloc[chosen]
    return {
        "rows": {str(c): _native(rows[c].tolist()) for c in rows.columns},
        "labels": _native(y[chosen].tolist()),
    }


def evaluate_model(
    model: Any,
    X: Any,
    y: Any,
    *,
    sensitive: Sequence[str] | None = SENSITIVE_ATTRIBUTES,
    n_examples: int = 3,
    n_resamples: int = N_RESAMPLES,
    random_state: int = 0,
) -> dict[str, Any]:
    """Evaluate a fitted classifier on ``X, y`` with :func:`evaluate`, plus groups and examples.

    Labels come from ``model.classes_``; for binary models the score is
    ``model.predict_proba(X)[:, 1]`` when the model has ``predict_proba``.

    Parameters
    ----------
    model : fitted classifier
        Any object with ``predict`` (and optionally ``predict_proba`` and
        ``classes_``), e.g. a fitted pipeline or a loaded bundle predictor.
    X : array-like or pandas.DataFrame
        Features.
    y : array-like of shape (n_samples,)
        True labels.
    sensitive : sequence of str or None, default=SENSITIVE_ATTRIBUTES
        Names of sensitive attributes. Columns of a DataFrame ``X`` that match
        one (see :func:`sensitive_columns`) get F1-macro and balanced accuracy
        per group (per value, or per quartile of a numeric column with many
        values). ``None`` or empty: no groups.
    n_examples : int, default=3
        Complete rows of ``X`` (one of each class first) stored under
        ``"examples"`` with their true labels; the model card shows them in
        the Hub widget and its code. They are real held-out rows: pass 0 when
        the data must not be published.
    n_resamples, random_state : int
        Passed to :func:`evaluate`.

    Returns
    -------
    dict
        The :func:`evaluate` dict, plus ``sensitive`` (``{"attributes":
        [...], "columns": {column: {"grouping": str, "groups": [{"group",
        "n", "class_counts", "balanced_accuracy", "f1_macro"}]}}}``) when
        ``sensitive`` is given and ``X`` is a DataFrame, and ``examples``.
    """
    import pandas as pd

    y_pred = model.predict(X)
    classes = getattr(model, "classes_", None)
    labels = None if classes is None else list(classes)
    y_score = None
    if labels is not None and len(labels) == 2 and hasattr(model, "predict_proba"):
        y_score = np.asarray(model.predict_proba(X))[:, 1]
    result = evaluate(y, y_pred, y_score, labels=labels, n_resamples=n_resamples, random_state=random_state)
    y_true = np.asarray(y)
    if sensitive and isinstance(X, pd.DataFrame):
        columns = sensitive_columns(list(X.columns), sensitive)
        order = labels if labels is not None else list(unique_labels(y_true, y_pred))
        groups = _group_metrics(X, y_true, np.asarray(y_pred), order, columns)
        result["sensitive"] = {"attributes": [str(a) for a in sensitive], "columns": groups}
    examples = _example_rows(X, y_true, n_examples)
    if examples is not None:
        result["examples"] = examples
    return result


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else f"{value:.{digits}f}"
    return "" if value is None else str(value).replace("|", "\\|")


def format_table(rows: list[dict[str, Any]], columns: list[str], *, digits: int = 4) -> str:
    """Render rows as a Markdown table (also readable as plain text).

    Parameters
    ----------
    rows : list of dict
        One dict per row; missing keys give empty cells.
    columns : list of str
        Column keys, in order; also the header.
    digits : int, default=4
        Decimal places for floats.

    Returns
    -------
    str
        The table, one line per row, without a trailing newline.

    Examples
    --------
    >>> print(format_table([{"model": "gmm", "f1": 0.5}], ["model", "f1"]))
    | model | f1 |
    | --- | --- |
    | gmm | 0.5000 |
    """
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(col), digits) for col in columns) + " |")
    return "\n".join(lines)


def metrics_table(metrics: dict[str, Any]) -> str:
    """The held-out comparison of a bundle as a Markdown table.

    Parameters
    ----------
    metrics : dict
        A bundle's metrics: :func:`evaluate` output, optionally with
        ``"baselines"`` (name -> scores, or ``{"status": "failed: ..."}``).

    Returns
    -------
    str
        Rows for gmm_hub, then each baseline, with balanced accuracy,
        F1-macro and, for a baseline that could not be fitted, its status.
    """
    columns = ["model", "balanced_accuracy", "f1_macro"]
    rows = [{"model": "gmm_hub", **{k: metrics.get(k) for k in columns[1:]}}]
    rows += [{"model": name, **values} for name, values in (metrics.get("baselines") or {}).items()]
    if any("status" in row for row in rows):
        columns.append("status")
    return format_table(rows, columns)
