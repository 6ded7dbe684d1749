"""The YAML header of a model card, computed from config.json alone.

:func:`card_data` builds a :class:`huggingface_hub.ModelCardData`: tags that
are true of the bundle, the widget's example rows and, when the data set has a
valid Hub id (the ``model-index`` requires ``dataset.type``), one
``EvalResult`` per metric on the named split.
"""

from __future__ import annotations

import math
import re
from typing import Any, TypeGuard

from .._constants import LIBRARY_NAME, TASK
from ._prose import IMBALANCED_RATIO

__all__ = [
    "METRICS",
    "PLACEHOLDER_REPO_ID",
    "card_data",
    "card_tags",
    "hub_dataset_id",
    "is_binary",
    "is_finite",
    "split_name",
]

#: evaluate() key -> (Hub/evaluate metric id, display name, metric config, binary only);
#: the model-index names balanced accuracy "Balanced accuracy (macro recall)".
#: Balanced accuracy is macro-averaged recall, so it takes evaluate's ``recall``
#: id with config ``macro``; average precision has no evaluate id and keeps
#: scikit-learn's name.
METRICS: dict[str, tuple[str, str, str | None, bool]] = {
    "f1_macro": ("f1", "F1-macro", "macro", False),
    "balanced_accuracy": ("recall", "Balanced accuracy", "macro", False),
    "average_precision": ("average_precision", "PR-AUC (average precision)", None, True),
    "mcc": ("matthews_correlation", "MCC", None, True),
}
#: metrics shown with their bootstrap interval
HEADLINE = ("f1_macro", "balanced_accuracy")

PLACEHOLDER_REPO_ID = "user/repo"
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

# ----------------------------------------------------------------------------- metrics and metadata


def is_binary(metrics: dict[str, Any]) -> bool:
    """Whether an ``evaluate()`` dict describes a two-class problem."""
    return len(metrics.get("labels") or []) == 2


def is_finite(value: Any) -> TypeGuard[float]:
    """Whether ``value`` is a real, finite number (booleans excluded)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _metric_keys(metrics: dict[str, Any]) -> list[str]:
    """evaluate() keys reported for this problem, in card order."""
    binary = is_binary(metrics)
    return [key for key, spec in METRICS.items() if binary or not spec[3]]


def hub_dataset_id(config: dict[str, Any]) -> str | None:
    """The data set's Hub id when it is a valid repo id, else None."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    hub_id = (config.get("dataset") or {}).get("hub_id")
    if not isinstance(hub_id, str) or not hub_id:
        return None
    try:
        validate_repo_id(hub_id)
    except HFValidationError:
        return None
    return hub_id


def split_name(metrics: dict[str, Any]) -> str | None:
    """The evaluation split's name (``test``); a free-text description of old bundles maps to ``test``."""
    split = metrics.get("split")
    if not split:
        return None
    return str(split) if _SPLIT_NAME.match(str(split)) else "test"


def split_description(metrics: dict[str, Any]) -> str | None:
    split = metrics.get("split")
    if metrics.get("split_description"):
        return str(metrics["split_description"])
    return str(split) if split and not _SPLIT_NAME.match(str(split)) else None


def _dataset_name(config: dict[str, Any]) -> str | None:
    name = (config.get("dataset") or {}).get("name")
    return str(name) if name else None


def _model_name(config: dict[str, Any], repo_id: str | None) -> str:
    if repo_id:
        return repo_id.rsplit("/", 1)[-1]
    name = _dataset_name(config) or "model"
    name = re.sub(r"^(hf|csv|parquet|keel):", "", name)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "model"
    return f"gmm-hub-{slug}"


def imbalance_ratio(config: dict[str, Any]) -> float | None:
    """Majority/minority ratio of the training data (the data set's, else the training rows')."""
    ratio = (config.get("dataset") or {}).get("imbalance_ratio")
    if is_finite(ratio):
        return float(ratio)
    counts = [r.get("n_train") for r in (config.get("model") or {}).get("per_class") or []]
    counts = [c for c in counts if is_finite(c) and c > 0]
    return max(counts) / min(counts) if len(counts) >= 2 else None


def card_tags(config: dict[str, Any]) -> list[str]:
    """Hub tags: none that repeat ``library_name`` or ``pipeline_tag``; each one true of this bundle."""
    tags = ["gaussian-mixture"]
    ratio = imbalance_ratio(config)
    if ratio is not None and ratio >= IMBALANCED_RATIO:
        tags.append("imbalanced-classification")
    model = config.get("model") or {}
    if model.get("format", "skops") == "skops" and model.get("skops_trusted"):
        tags += ["sklearn", "skops"]  # a plain skops.io.load works: the card shows the call
    return tags


def _widget(config: dict[str, Any]) -> list[dict[str, Any]] | None:
    rows = ((config.get("metrics") or {}).get("examples") or {}).get("rows")
    return [{"structuredData": rows}] if isinstance(rows, dict) and rows else None


def card_data(config: dict[str, Any], license: str, repo_id: str | None) -> Any:
    """Build the card's YAML metadata from a bundle configuration.

    Parameters
    ----------
    config : dict
        Parsed ``config.json``.
    license : str
        License identifier.
    repo_id : str or None
        Hub repository id; its name becomes the ``model-index`` name.

    Returns
    -------
    huggingface_hub.ModelCardData
        ``library_name``, ``license``, ``tags`` (:func:`card_tags`),
        ``pipeline_tag``, the widget's example rows and, only when the data
        set has a valid Hub id (``model-index`` requires ``dataset.type``),
        one ``EvalResult`` per finite metric on the named split: F1-macro and
        balanced accuracy, plus PR-AUC and MCC for binary problems. Values
        are the stored floats, unrounded.
    """
    from huggingface_hub import EvalResult, ModelCardData

    metrics = config.get("metrics") or {}
    hub_id = hub_dataset_id(config)
    results = []
    for key in _metric_keys(metrics) if hub_id is not None else []:
        assert hub_id is not None  # for mypy: the loop is empty otherwise
        value = metrics.get(key)
        if not is_finite(value):
            continue
        metric_type, display, metric_config, _ = METRICS[key]
        results.append(
            EvalResult(
                task_type=TASK,
                dataset_type=hub_id,
                dataset_name=_dataset_name(config) or hub_id,
                dataset_split=split_name(metrics),
                metric_type=metric_type,
                metric_name=f"{display} (macro recall)" if key == "balanced_accuracy" else display,
                metric_config=metric_config,
                metric_value=float(value),
            )
        )
    return ModelCardData(
        library_name=LIBRARY_NAME,
        license=license,
        tags=card_tags(config),
        pipeline_tag=TASK,
        datasets=[hub_id] if hub_id else None,
        metrics=sorted({result.metric_type for result in results}) or None,
        model_name=_model_name(config, repo_id),
        eval_results=results or None,
        widget=_widget(config),
    )
