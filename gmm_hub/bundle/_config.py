"""What a bundle's ``config.json`` says about its model.

:func:`build_config` describes a fitted model: format and library versions, the
task, classes, input schema, threshold and priors, the training data set and
the metrics, plus the ``sklearn`` section the Hub's scikit-learn integration
reads. :func:`gmm_hub.save` adds the files' hashes; a model file loaded without
a config gets one built from the model alone.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .. import _constants as C
from ..exceptions import InvalidInputError
from ._checks import BUNDLE_FORMAT
from ._schema import example_input, extract_schema, json_native

__all__ = ["FORMATS", "build_config"]

#: model format -> file name inside the bundle
FORMATS = {"skops": C.SKOPS_FILE, "joblib": C.JOBLIB_FILE}


def _estimator_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _final_step(model: Any) -> Any:
    return model.steps[-1][1] if hasattr(model, "steps") else model


def _model_section(model: Any, file_name: str, fmt: str) -> dict[str, Any]:
    final = _final_step(model)
    per_class = []
    if hasattr(final, "gmms_"):
        counts = getattr(final, "class_counts_", [None] * len(final.classes_))
        for i, label in enumerate(final.classes_):
            per_class.append(
                {
                    "class": json_native(label),
                    "n_components": int(final.gmms_[i].n_components),
                    "covariance_type": str(final.gmms_[i].covariance_type),
                    "n_train": json_native(counts[i]),
                    "prior": float(final.class_prior_[i]),
                }
            )
    params = final.get_params(deep=False) if hasattr(final, "get_params") else {}
    threshold = getattr(final, "threshold_", None)
    return {
        "file": file_name,
        "format": fmt,
        "estimator": _estimator_name(model),
        "per_class": per_class,
        "threshold": None if threshold is None else float(threshold),
        "priors": json_native(params.get("priors")),
        "params": json_native(params),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    import numpy
    import sklearn

    from .. import __version__

    return {
        "gmm_hub": __version__,
        "sklearn": sklearn.__version__,
        "skops": version("skops"),
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def _dataset_info(dataset: Any) -> tuple[dict[str, Any] | None, Any]:
    """(info dict, training frame or None) from a Dataset, an info() dict or None."""
    if dataset is None:
        return None, None
    if isinstance(dataset, Mapping):
        return json_native(dict(dataset)), None
    if hasattr(dataset, "info"):
        return json_native(dataset.info()), getattr(dataset, "X", None)
    raise InvalidInputError(f"dataset must be a gmm_hub Dataset, its info() dict or None; got {type(dataset).__name__}")


def build_config(
    model: Any,
    *,
    fmt: str = "skops",
    metrics: Mapping[str, Any] | None = None,
    dataset: Any = None,
) -> dict[str, Any]:
    """Build a bundle's ``config.json`` content (without the ``files`` hashes).

    Parameters are those of :func:`save`.

    Returns
    -------
    config : dict
    """
    from ..card._pipeline import describe_model

    info, frame = _dataset_info(dataset)
    schema = extract_schema(model, frame)
    file_name = FORMATS[fmt]
    versions = _versions()
    model_section = _model_section(model, file_name, fmt)
    model_section.update(describe_model(model, [c["name"] for c in schema["columns"]], fmt))  # what the card states
    examples = (metrics or {}).get("examples") or {}  # real held-out rows from evaluate_model
    return {
        "format": BUNDLE_FORMAT,
        "format_version": C.PROTOCOL,
        "library_name": C.LIBRARY_NAME,
        "task": C.TASK,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model_section,
        "classes": json_native(model.classes_),
        "schema": schema,
        "dataset": info,
        "metrics": json_native(dict(metrics or {})),
        "versions": versions,
        "files": {},
        "sklearn": {
            "model": {"file": file_name},
            "columns": [c["name"] for c in schema["columns"]],
            "example_input": examples.get("rows") or example_input(schema, frame, model=model),
            "task": C.TASK,
            "model_format": fmt,
            "environment": [
                f"scikit-learn={versions['sklearn']}",
                f"skops={versions['skops']}",
                f"gmm_hub={versions['gmm_hub']}",
            ],
        },
    }
