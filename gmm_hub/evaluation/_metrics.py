"""Metrics for imbalanced classification, as one plain JSON-serialisable dict.

:func:`evaluate` returns the dict described in the shared contract (and stored
as ``config.json["metrics"]`` in a bundle); :func:`evaluate_model` computes it
from a fitted classifier. :func:`format_table` renders rows of numbers as a
Markdown table for the CLI and scripts.
"""

from __future__ import annotations

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

__all__ = ["MAX_CURVE_POINTS", "evaluate", "evaluate_model", "format_table"]

logger = logging.getLogger(__name__)

#: Largest number of points kept from the precision-recall curve.
MAX_CURVE_POINTS = 200


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
) -> dict[str, Any]:
    """Compute imbalance-aware metrics as a plain, JSON-serialisable dict.

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

    Returns
    -------
    dict
        ``n_samples``, ``labels`` (JSON-native), ``balanced_accuracy``,
        ``f1_macro``, ``accuracy``, ``confusion_matrix`` (rows true, columns
        predicted, in ``labels`` order) and ``classification_report``
        (scikit-learn's ``output_dict=True``, ``zero_division=0``). Binary
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
    result: dict[str, Any] = {
        "n_samples": len(y_true),
        "labels": _native(labels),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "confusion_matrix": _native(confusion_matrix(y_true, y_pred, labels=labels)),
        "classification_report": _native(
            classification_report(y_true, y_pred, labels=labels, target_names=names, output_dict=True, zero_division=0)
        ),
    }
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


def evaluate_model(model: Any, X: Any, y: Any) -> dict[str, Any]:
    """Evaluate a fitted classifier on ``X, y`` with :func:`evaluate`.

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

    Returns
    -------
    dict
        The :func:`evaluate` dict.
    """
    y_pred = model.predict(X)
    classes = getattr(model, "classes_", None)
    labels = None if classes is None else list(classes)
    y_score = None
    if labels is not None and len(labels) == 2 and hasattr(model, "predict_proba"):
        y_score = np.asarray(model.predict_proba(X))[:, 1]
    return evaluate(y, y_pred, y_score, labels=labels)


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
