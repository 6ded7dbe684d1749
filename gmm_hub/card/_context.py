"""Metadata and template variables of a model card, computed from config.json alone.

:func:`card_data` builds the YAML header (a :class:`huggingface_hub.ModelCardData`
with one ``EvalResult`` per metric); :func:`template_context` builds the
variables the Jinja2 template sees (documented in ``model_cards/README.md``).
Both read only the bundle's ``config.json`` (the contract in CONTRACTS.md).
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeGuard

from .._constants import CONFUSION_MATRIX_PNG, LIBRARY_NAME, PR_CURVE_PNG, TASK

__all__ = [
    "METRICS",
    "PLACEHOLDER_REPO_ID",
    "REFERENCES",
    "TAGS",
    "card_data",
    "is_binary",
    "is_finite",
    "template_context",
]

TAGS = [
    "gmm",
    "gaussian-mixture",
    "imbalanced-classification",
    "tabular-classification",
    "sklearn",
    "skops",
    "gmm_hub",
]

#: evaluate() key -> (Hub metric type, display name, metric args, binary only)
METRICS: dict[str, tuple[str, str, dict[str, Any] | None, bool]] = {
    "f1_macro": ("f1", "F1 (macro)", {"average": "macro"}, False),
    "balanced_accuracy": ("balanced_accuracy", "Balanced accuracy", None, False),
    "average_precision": ("average_precision", "PR-AUC (average precision)", None, True),
    "mcc": ("matthews_correlation", "MCC", None, True),
}

REFERENCES = [
    "Dempster, A. P., Laird, N. M. and Rubin, D. B. (1977). Maximum likelihood from incomplete data via "
    "the EM algorithm. *Journal of the Royal Statistical Society, Series B*, 39(1), 1-38. "
    "https://doi.org/10.1111/j.2517-6161.1977.tb01600.x",
    "Schwarz, G. (1978). Estimating the dimension of a model. *The Annals of Statistics*, 6(2), 461-464. "
    "https://doi.org/10.1214/aos/1176344136",
    "Chawla, N. V., Bowyer, K. W., Hall, L. O. and Kegelmeyer, W. P. (2002). SMOTE: Synthetic minority "
    "over-sampling technique. *Journal of Artificial Intelligence Research*, 16, 321-357. "
    "https://doi.org/10.1613/jair.953",
    "He, H. and Garcia, E. A. (2009). Learning from imbalanced data. *IEEE Transactions on Knowledge and "
    "Data Engineering*, 21(9), 1263-1284. https://doi.org/10.1109/TKDE.2008.239",
]

PLACEHOLDER_REPO_ID = "user/repo"

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


def _dataset_names(config: dict[str, Any]) -> tuple[str, str]:
    """(Hub dataset id or name, display name) of the evaluation data."""
    dataset = config.get("dataset") or {}
    name = str(dataset.get("name") or "unspecified data")
    return str(dataset.get("hub_id") or name), name


def _model_name(config: dict[str, Any], repo_id: str | None) -> str:
    if repo_id:
        return repo_id.rsplit("/", 1)[-1]
    dataset = config.get("dataset") or {}
    name = str(dataset.get("name") or "model").replace("hf:", "").replace("/", "-").replace(":", "-")
    return f"gmm_hub-{name}"


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
        With one ``EvalResult`` per finite metric of ``config["metrics"]``:
        F1-macro and balanced accuracy, plus PR-AUC and MCC for binary
        problems. Values are the stored floats, unrounded.
    """
    from huggingface_hub import EvalResult, ModelCardData

    metrics = config.get("metrics") or {}
    dataset_type, dataset_name = _dataset_names(config)
    results = []
    for key in _metric_keys(metrics):
        value = metrics.get(key)
        if not is_finite(value):
            continue
        metric_type, display, args, _ = METRICS[key]
        results.append(
            EvalResult(
                task_type=TASK,
                dataset_type=dataset_type,
                dataset_name=dataset_name,
                dataset_split=metrics.get("split") or None,
                metric_type=metric_type,
                metric_name=display,
                metric_args=args,
                metric_value=float(value),
            )
        )
    hub_id = (config.get("dataset") or {}).get("hub_id")
    return ModelCardData(
        library_name=LIBRARY_NAME,
        license=license,
        tags=list(TAGS),
        pipeline_tag=TASK,
        datasets=[hub_id] if hub_id else None,
        metrics=[result.metric_type for result in results] or None,
        model_name=_model_name(config, repo_id),
        eval_results=results or None,
    )


# ----------------------------------------------------------------------------- template context


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _md(value: Any) -> str:
    """Text that is safe inside a markdown table cell."""
    return _fmt(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _py(value: Any) -> str:
    """A Python literal for a JSON value (non-finite floats become float("nan"))."""
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, list):
        return "[" + ", ".join(_py(item) for item in value) + "]"
    return repr(value)


def _example_input(config: dict[str, Any]) -> dict[str, list[Any]]:
    example = (config.get("sklearn") or {}).get("example_input")
    if isinstance(example, dict) and example:
        return example
    columns = (config.get("schema") or {}).get("columns") or []
    return {
        col["name"]: [(col.get("categories") or [None])[0] if col.get("kind") == "categorical" else 0.0]
        for col in columns
    }


def _snippets(config: dict[str, Any], repo_id: str) -> dict[str, str | bool]:
    pickle = (config.get("model") or {}).get("format") == "joblib"
    opt = ", allow_pickle=True" if pickle else ""
    load = f'import gmm_hub\n\nmodel = gmm_hub.load("{repo_id}"{opt})\n'
    model_file = (config.get("model") or {}).get("file") or "model.skops"
    download = (
        "from huggingface_hub import hf_hub_download\n\n"
        "import gmm_hub\n\n"
        f'hf_hub_download("{repo_id}", "config.json")  # schema + sha256 hashes, checked by load\n'
        f'model = gmm_hub.load(hf_hub_download("{repo_id}", {json.dumps(model_file)}){opt})\n'
    )
    columns = "".join(f"    {name!r}: {_py(values)},\n" for name, values in _example_input(config).items())
    predict = (
        "import pandas as pd\n\n"
        f"X = pd.DataFrame({{\n{columns}}})\n"
        "print(model.predict(X))\nprint(model.predict_proba(X))\n"
    )
    return {"load_snippet": load, "download_snippet": download, "predict_snippet": predict, "needs_pickle": pickle}


def _class_rows(config: dict[str, Any]) -> list[dict[str, str]]:
    dataset = config.get("dataset") or {}
    counts = {str(k): v for k, v in (dataset.get("class_counts") or {}).items()}
    per_class = {str(row.get("class")): row for row in (config.get("model") or {}).get("per_class") or []}
    labels = [str(label) for label in config.get("classes") or []] or list(counts) or list(per_class)
    if not counts:  # no data set recorded: shares of the training set instead
        counts = {label: row.get("n_train") for label, row in per_class.items()}
    total = sum(v for v in counts.values() if is_finite(v)) or None
    rows = []
    for label in labels:
        count = counts.get(label)
        row = per_class.get(label, {})
        rows.append(
            {
                "label": _md(label),
                "count": _md(count),
                "share": f"{count / total:.2%}" if total and is_finite(count) else "–",
                "n_train": _md(row.get("n_train")),
                "prior": _md(row.get("prior")),
                "n_components": _md(row.get("n_components")),
                "covariance_type": _md(row.get("covariance_type")),
            }
        )
    return rows


def _imbalance(config: dict[str, Any]) -> tuple[float | None, str | None, int | None]:
    """(majority/minority ratio, minority label, minority count)."""
    dataset = config.get("dataset") or {}
    counts = {str(k): v for k, v in (dataset.get("class_counts") or {}).items() if is_finite(v)}
    if not counts:
        per_class = (config.get("model") or {}).get("per_class") or []
        counts = {str(r.get("class")): r.get("n_train") for r in per_class if is_finite(r.get("n_train"))}
    if not counts:
        return None, None, None
    minority = min(counts, key=counts.__getitem__)
    ratio = dataset.get("imbalance_ratio")
    if not is_finite(ratio):
        ratio = max(counts.values()) / counts[minority] if counts[minority] else None
    return ratio, minority, int(counts[minority])


def _eval_table(metrics: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    keys = [k for k in _metric_keys(metrics) if is_finite(metrics.get(k))]
    baselines = metrics.get("baselines") or {}
    keys += [k for k in _metric_keys(metrics) if k not in keys and any(is_finite(b.get(k)) for b in baselines.values())]
    columns = [METRICS[k][1] for k in keys]
    rows = [{"model": "**gmm_hub (this model)**", "values": [_fmt(metrics.get(k)) for k in keys]}]
    for name, scores in baselines.items():
        status = (scores or {}).get("status")
        label = _md(f"{name} ({status})" if status else name)
        rows.append({"model": label, "values": [_fmt((scores or {}).get(k)) for k in keys]})
    return columns, rows if keys else []


def _preprocessing(config: dict[str, Any]) -> list[str]:
    model = config.get("model") or {}
    schema = config.get("schema") or {}
    columns = schema.get("columns") or []
    steps = model.get("preprocessing")
    if isinstance(steps, str):
        lines = [steps]
    elif isinstance(steps, dict):
        lines = [f"`{name}`: {_fmt(step)}" for name, step in steps.items()]
    elif isinstance(steps, list):
        lines = [_fmt(step) for step in steps]
    else:
        lines = []
    kinds = [col.get("kind") for col in columns]
    if columns:
        lines.append(
            f"{kinds.count('numeric')} numeric and {kinds.count('categorical')} categorical input columns "
            f"(see *Input schema*); missing values are "
            f"{'handled by the pipeline' if schema.get('handles_missing') else 'not accepted'}."
        )
    if model.get("estimator"):
        lines.append(f"Saved estimator: `{model['estimator']}`.")
    return lines


def _schema_row(col: dict[str, Any]) -> dict[str, str]:
    categories = col.get("categories") or []
    shown = ", ".join(str(c) for c in categories[:12]) + (", …" if len(categories) > 12 else "")
    return {
        "name": _md(col.get("name")),
        "dtype": _md(col.get("dtype")),
        "kind": _md(col.get("kind")),
        "categories": _md(shown) if shown else "–",
    }


def template_context(config: dict[str, Any], repo_id: str | None, images: dict[str, str | None]) -> dict[str, Any]:
    """Variables the card template sees (listed in ``model_cards/README.md``).

    Parameters
    ----------
    config : dict
        Parsed ``config.json``.
    repo_id : str or None
        Hub repository id for the "How to use" code; ``"user/repo"`` if None.
    images : dict
        Figure file name -> relative path, or None when the figure is not drawn.

    Returns
    -------
    dict
        Template variables; table cells are already escaped for markdown.
    """
    model = config.get("model") or {}
    metrics = config.get("metrics") or {}
    dataset = config.get("dataset") or None
    ratio, minority, minority_count = _imbalance(config)
    columns, eval_rows = _eval_table(metrics)
    citation = (dataset or {}).get("citation")
    classes = [str(label) for label in config.get("classes") or metrics.get("labels") or []]
    threshold = model.get("threshold")
    schema = config.get("schema") or {}
    return {
        "config": config,
        "repo_id": repo_id,
        "model_id": repo_id or PLACEHOLDER_REPO_ID,
        "model_name": _model_name(config, repo_id),
        "classes": classes,
        "n_classes": len(classes),
        "is_binary": len(classes) == 2,
        "pos_label": metrics.get("pos_label", classes[1] if len(classes) == 2 else None),
        "dataset": dataset,
        "dataset_name": _dataset_names(config)[1] if dataset else None,
        "class_rows": _class_rows(config),
        "counts_source": "data set" if (dataset or {}).get("class_counts") else "training set",
        "imbalance_ratio": ratio,
        "imbalance_ratio_text": _fmt(ratio, 1) if ratio is not None else None,
        "minority_label": minority,
        "minority_count": minority_count,
        "preprocessing": _preprocessing(config),
        "per_class": _class_rows(config),
        "priors": _fmt(model.get("priors")) if model.get("priors") is not None else None,
        "threshold": _fmt(threshold) if is_finite(threshold) else None,
        "params": [(_md(k), _md(v)) for k, v in sorted((model.get("params") or {}).items())],
        "metrics": metrics,
        "has_metrics": bool(eval_rows),
        "split": metrics.get("split"),
        "metric_columns": columns,
        "eval_rows": eval_rows,
        "confusion_matrix_image": images.get(CONFUSION_MATRIX_PNG),
        "precision_recall_image": images.get(PR_CURVE_PNG),
        "schema_rows": [_schema_row(col) for col in schema.get("columns") or []],
        "handles_missing": bool(schema.get("handles_missing")),
        "model_format": model.get("format") or "skops",
        "model_file": model.get("file") or "model.skops",
        "versions": [(_md(k), _md(v)) for k, v in (config.get("versions") or {}).items()],
        "references": list(REFERENCES),
        "dataset_citation": citation or None,
        "dataset_citation_is_bibtex": bool(citation) and str(citation).lstrip().startswith("@"),
        "created": config.get("created"),
        **_snippets(config, repo_id or PLACEHOLDER_REPO_ID),
    }
