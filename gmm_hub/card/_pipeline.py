"""What the model card says about a fitted pipeline, recorded in config.json at save time.

The card is rendered from ``config.json`` alone, so everything it states about
the saved model is read here, from the fitted objects, when the bundle is
written: :func:`describe_model` returns the preprocessing steps (a structured
list the card puts into words), scikit-learn's HTML diagram of the pipeline,
the fitted attributes of the classifier that the card mentions, and the types
a plain ``skops.io.load`` has to be told to trust.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["describe_model"]

logger = logging.getLogger(__name__)

#: Fitted attributes of the classifier the card may mention (absent ones are skipped).
_FITTED = (
    "threshold_",
    "prior_rows_",
    "converged_",
    "n_iter_",
    "power_lambdas_",
    "asinh_params_",
    "floor_scale_",
    "floor_shape_",
)


def _native(value: Any) -> Any:
    from ..bundle._schema import json_native

    return json_native(value)


def _columns(cols: Any, names: list[str]) -> list[str]:
    from ..bundle._describe import _resolve_columns

    return [str(c) for c in _resolve_columns(cols, names)]


def _step(est: Any, columns: list[str] | None) -> dict[str, Any]:
    """One preprocessing step: its class, the parameters the card explains, fitted details."""
    kind = type(est).__name__
    step: dict[str, Any] = {"step": kind}
    if columns is not None:
        step["columns"] = columns
    if kind.endswith("Imputer"):
        step["strategy"] = _native(getattr(est, "strategy", None))
    elif kind == "OneHotEncoder":
        step["handle_unknown"] = _native(getattr(est, "handle_unknown", None))
        step["min_frequency"] = _native(getattr(est, "min_frequency", None))
        step["max_categories"] = _native(getattr(est, "max_categories", None))
        step["drop"] = _native(getattr(est, "drop", None))
        infrequent = getattr(est, "infrequent_categories_", None)
        if infrequent is not None and columns is not None:
            step["infrequent"] = {
                col: _native(list(cats)) for col, cats in zip(columns, infrequent, strict=False) if cats is not None
            }
    elif kind == "StandardScaler":
        step["with_mean"] = bool(getattr(est, "with_mean", True))
        step["with_std"] = bool(getattr(est, "with_std", True))
    elif hasattr(est, "get_params"):
        step["params"] = {k: _native(v) for k, v in est.get_params(deep=False).items() if _is_plain(v)}
    return step


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _flatten(est: Any, columns: list[str] | None) -> list[dict[str, Any]]:
    if hasattr(est, "steps"):
        return [s for _, sub in est.steps for s in _flatten(sub, columns)]
    return [_step(est, columns)]


def preprocessing_steps(model: Any, names: list[str]) -> list[dict[str, Any]]:
    """The steps before the final estimator, each with the input columns it reads.

    A ``ColumnTransformer`` contributes its branches (one entry per step of
    each branch, tagged with the branch's columns); ``"drop"`` and
    ``"passthrough"`` branches are recorded as such.
    """
    steps = getattr(model, "steps", None)
    if not steps:
        return []
    out: list[dict[str, Any]] = []
    for _, est in steps[:-1]:
        if hasattr(est, "transformers_"):
            for branch, transformer, cols in est.transformers_:
                columns = _columns(cols, names)
                if not columns:
                    continue
                if isinstance(transformer, str):
                    out.append({"step": transformer, "columns": columns, "branch": str(branch)})
                    continue
                for entry in _flatten(transformer, columns):
                    out.append({**entry, "branch": str(branch)})
        else:
            out.extend(_flatten(est, None))
    return out


def html_repr(model: Any) -> str | None:
    """scikit-learn's HTML diagram of ``model``, as one line fit for a markdown file.

    Markdown ends an HTML block at a blank line or, for one that opens with
    ``<style>`` or ``<pre>``, at the line that closes it; what follows would be
    read as markdown (indented lines become code). So the diagram is put on a
    single line: newlines inside ``<pre>`` become ``&#10;`` (the text fallback
    keeps its layout), other newlines become spaces. The ``<script>``
    (copy-to-clipboard; the Hub strips scripts anyway) and the ``<body>`` tags
    go, and object addresses (``at 0x...``) are dropped so that saving twice
    gives the same text.
    """
    try:
        from sklearn.utils import estimator_html_repr
    except ImportError:  # pragma: no cover - scikit-learn >= 1.6 has it
        return None
    try:
        html = estimator_html_repr(model)
    except Exception:  # an estimator whose repr fails: the card simply has no diagram
        logger.debug("no HTML repr for %s", type(model).__name__, exc_info=True)
        return None
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    html = re.sub(r"</?body>", "", html)
    html = re.sub(r" at 0x[0-9a-f]+", "", html)
    html = re.sub(r"<pre>.*?</pre>", lambda m: m.group(0).replace("\n", "&#10;"), html, flags=re.S)
    return re.sub(r"\s*\n\s*", " ", html).strip()


def _fitted(final: Any) -> dict[str, Any]:
    return {name.rstrip("_"): _native(getattr(final, name)) for name in _FITTED if hasattr(final, name)}


def skops_trusted(model: Any) -> list[str] | None:
    """Types a plain ``skops.io.load(path, trusted=[...])`` of this model must be given."""
    try:
        import skops.io
    except ImportError:  # pragma: no cover - skops is a dependency
        return None
    try:
        return sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
    except Exception:  # a model skops cannot write: save() reports it, the card just omits the call
        logger.debug("could not list the skops types of %s", type(model).__name__, exc_info=True)
        return None


def describe_model(model: Any, names: list[str], fmt: str) -> dict[str, Any]:
    """The card's facts about a fitted model, for ``config["model"]``.

    Parameters
    ----------
    model : estimator or Pipeline
        The fitted model being saved.
    names : list of str
        Input column names (the schema's).
    fmt : {"skops", "joblib"}
        Storage format; the skops type list is recorded for skops only.

    Returns
    -------
    dict
        ``preprocessing`` (list of step dicts), ``html_repr`` (str or None),
        ``fitted`` (the classifier's fitted attributes the card mentions) and
        ``skops_trusted`` (list of type names, or None).
    """
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return {
        "preprocessing": preprocessing_steps(model, names),
        "html_repr": html_repr(model),
        "fitted": _fitted(final),
        "skops_trusted": skops_trusted(model) if fmt == "skops" else None,
    }
