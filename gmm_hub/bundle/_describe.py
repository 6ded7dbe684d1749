"""Describe the input a fitted model expects: the schema stored in ``config.json``.

The schema is stored in a bundle's ``config.json`` under ``"schema"``::

    {"columns": [{"name": "age", "dtype": "float64", "kind": "numeric",
                  "categories": null, "nullable": true}, ...],
     "n_features": 3, "handles_missing": true}

``nullable`` tells whether the model imputes that column (a ``SimpleImputer``
on its path, or a ``OneHotEncoder`` that ignores unknown values); it is
derived from the fitted model, as are categories (from the encoders). Data
types come from the training frame when one is given, else they are
``float64`` for numeric and the encoder's category dtype for categorical
columns. :mod:`._schema` checks prediction input against it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import SchemaError

__all__ = ["example_input", "extract_schema", "json_native"]

_ENCODERS = ("OneHotEncoder", "OrdinalEncoder", "TargetEncoder")


def json_native(value: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) to JSON-native Python values.

    NaN and infinities become ``None`` (strict JSON has neither); tuples
    become lists; mapping keys become strings.
    """
    if isinstance(value, Mapping):
        return {str(k): json_native(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Index)):
        return [json_native(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _steps(transformer: Any) -> list[Any]:
    """The estimators along one ColumnTransformer branch (a Pipeline is flattened)."""
    if hasattr(transformer, "steps"):
        return [step for _, step in transformer.steps]
    return [transformer]


def _is_imputer(est: Any) -> bool:
    return type(est).__name__.endswith("Imputer")


def _branch_info(transformer: Any, n_cols: int) -> list[dict[str, Any]]:
    """kind/categories/nullable for each column fed into one branch."""
    steps = _steps(transformer)
    nullable = any(_is_imputer(s) for s in steps)
    encoder = next((s for s in steps if type(s).__name__ in _ENCODERS), None)
    if encoder is None:
        return [{"kind": "numeric", "categories": None, "nullable": nullable}] * n_cols
    if getattr(encoder, "handle_unknown", "error") in ("ignore", "infrequent_if_exist"):
        nullable = nullable or type(encoder).__name__ == "OneHotEncoder"
    cats = list(getattr(encoder, "categories_", [None] * n_cols))
    return [
        {"kind": "categorical", "categories": c, "nullable": nullable} for c in cats + [None] * (n_cols - len(cats))
    ]


def _first_step(model: Any) -> Any:
    return model.steps[0][1] if hasattr(model, "steps") else model


def _model_allows_nan(model: Any) -> bool:
    first = _first_step(model)
    if _is_imputer(first):
        return True
    if hasattr(model, "steps"):  # a Pipeline's tags come from its first step: unreliable
        return False
    try:
        from sklearn.utils import get_tags

        return bool(get_tags(model).input_tags.allow_nan)
    except Exception:  # pragma: no cover - estimators without tags
        return False


def _feature_names(model: Any) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(_first_step(model), "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def _n_features(model: Any) -> int:
    n = getattr(model, "n_features_in_", None) or getattr(_first_step(model), "n_features_in_", None)
    if n is None:
        raise SchemaError(
            "cannot read the input schema: the model has no n_features_in_; expected a fitted "
            "scikit-learn estimator or pipeline. Fit it before saving."
        )
    return int(n)


def extract_schema(model: Any, X: pd.DataFrame | None = None) -> dict[str, Any]:
    """Describe the input a fitted model expects.

    Parameters
    ----------
    model : estimator or Pipeline
        A fitted scikit-learn estimator or pipeline (usually
        ``tabular_pipeline()``), optionally starting with a ColumnTransformer.
    X : DataFrame, default=None
        Training features; when given, their dtypes are recorded.

    Returns
    -------
    schema : dict
        ``{"columns": [...], "n_features": int, "handles_missing": bool}``.
    """
    names = _feature_names(model)
    n = len(names) if names is not None else _n_features(model)
    names = names or [f"x{i}" for i in range(n)]
    default_nullable = _model_allows_nan(model)
    info: dict[str, dict[str, Any]] = {
        name: {"kind": "numeric", "categories": None, "nullable": default_nullable} for name in names
    }
    first = _first_step(model)
    if hasattr(first, "transformers_"):  # a fitted ColumnTransformer
        for _, transformer, cols in first.transformers_:
            cols = _resolve_columns(cols, names)
            if isinstance(transformer, str):  # "drop" / "passthrough"
                for col in cols:
                    info[col]["nullable"] = transformer == "drop"
                continue
            for col, col_info in zip(cols, _branch_info(transformer, len(cols)), strict=True):
                info[col] = dict(col_info)
    columns = []
    for name in names:
        spec = info[name]
        cats = spec["categories"]
        if X is not None and name in getattr(X, "columns", ()):
            dtype = str(X[name].dtype)
        elif cats is not None:
            dtype = str(np.asarray(cats).dtype)
        else:
            dtype = "float64"
        columns.append(
            {
                "name": name,
                "dtype": dtype,
                "kind": spec["kind"],
                "categories": None if cats is None else json_native(cats),
                "nullable": bool(spec["nullable"]),
            }
        )
    return {
        "columns": columns,
        "n_features": n,
        "handles_missing": all(c["nullable"] for c in columns),
    }


def _resolve_columns(cols: Any, names: list[str]) -> list[str]:
    if isinstance(cols, (str, int)):
        cols = [cols]
    elif isinstance(cols, slice):
        return names[cols]
    arr = np.asarray(cols)
    if arr.dtype == bool:
        return [n for n, keep in zip(names, arr, strict=True) if keep]
    return [names[int(c)] if isinstance(c, (int, np.integer)) else str(c) for c in arr]


def _scaler_stats(model: Any, names: list[str]) -> dict[str, tuple[float, float]]:
    """{column: (mean, scale)} from StandardScalers the model applies to raw columns."""
    first = _first_step(model)
    if hasattr(first, "transformers_"):
        branches = [(t, _resolve_columns(c, names)) for _, t, c in first.transformers_]
    else:
        branches = [(model, names)]
    stats = {}
    for transformer, cols in branches:
        for step in _steps(transformer) if not isinstance(transformer, str) else []:
            if type(step).__name__ == "StandardScaler" and getattr(step, "mean_", None) is not None:
                scale = step.scale_ if step.scale_ is not None else np.ones(len(cols))
                if len(step.mean_) == len(cols):
                    stats.update({c: (float(m), float(s)) for c, m, s in zip(cols, step.mean_, scale, strict=True)})
                break
            if not (_is_imputer(step) or type(step).__name__ == "StandardScaler"):
                break  # a step that changes the columns: stop looking
    return stats


def example_input(schema: Mapping[str, Any], X: pd.DataFrame | None = None, n: int = 3, *, model: Any = None) -> dict:
    """Build ``n`` example rows, column by column, for the Hub widget.

    Values are synthetic so no training record is published: numeric columns
    get the 25/50/75 % quantiles of ``X``, else mean and +-0.67 standard
    deviations from the model's StandardScaler, else 0, 1, -1; categorical
    columns cycle through their first categories.

    Parameters
    ----------
    schema : dict
        As returned by :func:`extract_schema`.
    X : DataFrame, default=None
        Training features used for quantiles.
    n : int, default=3
        Number of example rows.
    model : estimator, default=None
        The fitted model, whose scalers give typical numeric values.

    Returns
    -------
    example : dict
        ``{column: [n JSON-native values]}``.
    """
    example = {}
    stats = _scaler_stats(model, [c["name"] for c in schema["columns"]]) if model is not None else {}
    z = np.linspace(-0.6745, 0.6745, n) if n > 1 else np.zeros(1)
    for col in schema["columns"]:
        name = col["name"]
        if col["kind"] == "categorical" and col.get("categories"):
            cats = [c for c in col["categories"] if c is not None] or [None]
            values = [cats[i % len(cats)] for i in range(n)]
        elif X is not None and name in getattr(X, "columns", ()):
            series = pd.to_numeric(X[name], errors="coerce").dropna()
            qs = np.linspace(0.25, 0.75, n) if n > 1 else [0.5]
            values = [round(float(series.quantile(q)), 4) for q in qs] if len(series) else [0.0] * n
        elif name in stats:
            mean, scale = stats[name]
            values = [round(mean + float(zi) * scale, 4) for zi in z]
        else:
            values = [float((-1) ** (i + 1) * ((i + 1) // 2)) for i in range(n)]
        example[name] = json_native(values)
    return example
