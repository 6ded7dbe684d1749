"""Checking prediction input against the schema stored with a model: :data:`INPUT_POLICY`.

The schema itself (what :func:`extract_schema` stores in ``config.json``) is
described in :mod:`._describe`; its functions are re-exported here.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import SchemaError
from ._describe import example_input, extract_schema, json_native

__all__ = ["INPUT_POLICY", "UnknownCategoryWarning", "example_input", "extract_schema", "json_native", "validate_input"]

#: How prediction input is matched to the stored schema (``Predictor.predict``,
#: ``gmm-hub predict``), situation -> what happens. Model cards render it.
INPUT_POLICY: dict[str, str] = {
    "column order": (
        "columns are matched by name for every dataframe that has names (pandas, pyarrow, polars and "
        "any frame narwhals or the dataframe interchange protocol reads); a 2-D array is read in schema order"
    ),
    "missing column": "refused: SchemaError naming the missing column(s)",
    "extra column": "dropped, with a UserWarning naming it",
    "duplicate column names": "refused: SchemaError naming the duplicated column(s)",
    "unseen category": (
        "accepted and treated as the encoder's infrequent/unknown bucket, with an UnknownCategoryWarning "
        "(a UserWarning) naming the column and the values"
    ),
    "non-integral value in an integer column": "refused: SchemaError (integral floats such as 3.0 are accepted)",
    "missing value (NaN)": (
        "accepted where the pipeline imputes the column; elsewhere refused: SchemaError naming the column"
    ),
    "non-numeric or infinite value in a numeric column": "refused: SchemaError naming the column",
}


class UnknownCategoryWarning(UserWarning):
    """A categorical column holds values the model never saw in training (see :data:`INPUT_POLICY`)."""


def _schema_error(problem: str, cols: list[str], fix: str) -> SchemaError:
    return SchemaError(f"{problem}: {', '.join(map(str, cols))}. {fix}")


def _iter_columns(schema: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    handles = bool(schema.get("handles_missing", False))
    for col in schema["columns"]:
        yield {**col, "nullable": bool(col.get("nullable", handles))}


def _check_unique(names: list[Any]) -> None:
    counts: dict[str, int] = {}
    for name in names:
        counts[str(name)] = counts.get(str(name), 0) + 1
    dups = sorted(name for name, count in counts.items() if count > 1)
    if dups:
        raise _schema_error(
            "input names column(s) more than once",
            dups,
            "Columns are matched by name: rename or drop the duplicates.",
        )


def _as_pandas(X: Any) -> pd.DataFrame | None:
    """``X`` as a pandas DataFrame when it is a dataframe with column names, else None."""
    if isinstance(X, pd.DataFrame):
        _check_unique(list(X.columns))
        return X
    if isinstance(X, (np.ndarray, list, tuple)):
        return None
    names = getattr(X, "column_names", None) or getattr(X, "columns", None)  # pyarrow / others
    if names is not None and not isinstance(names, str):
        with contextlib.suppress(TypeError):
            _check_unique(list(names))
    try:
        import narwhals as nw

        frame = nw.from_native(X, eager_only=True, pass_through=True)
        if isinstance(frame, nw.DataFrame):
            _check_unique(list(frame.columns))
            return frame.to_pandas()
    except ImportError:  # pragma: no cover - narwhals is a dependency
        pass
    if hasattr(X, "__dataframe__"):
        converted = pd.api.interchange.from_dataframe(X)
        _check_unique(list(converted.columns))
        return converted
    return None


def _check_integral(name: str, values: Any, col: Mapping[str, Any], bad: list[str]) -> None:
    if str(col.get("dtype", "")).lower().lstrip("u").startswith("int"):
        arr = np.asarray(values, dtype=np.float64)
        finite = arr[np.isfinite(arr)]
        if np.any(finite != np.floor(finite)):
            example = float(finite[finite != np.floor(finite)][0])
            bad.append(f"{name} (integer column, got {example!r})")


def _check_frame(X: pd.DataFrame, schema: Mapping[str, Any]) -> pd.DataFrame:
    names = [c["name"] for c in schema["columns"]]
    present = {str(c): c for c in X.columns}
    missing = [n for n in names if n not in present]
    if missing:
        raise _schema_error(
            f"input is missing {len(missing)} column(s) the model needs",
            missing,
            f"Expected columns (in any order): {', '.join(names)}.",
        )
    extra = [c for c in present if c not in set(names)]
    if extra:
        warnings.warn(
            f"dropping {len(extra)} input column(s) the model does not use: {', '.join(extra)}",
            UserWarning,
            stacklevel=5,  # the caller of Predictor.predict
        )
    X = X[[present[n] for n in names]].copy()
    X.columns = names
    bad_type: list[str] = []
    bad_nan: list[str] = []
    bad_int: list[str] = []
    unseen: list[str] = []
    for col in _iter_columns(schema):
        name, series = col["name"], X[col["name"]]
        if col.get("kind", "numeric") == "numeric":
            try:
                X[name] = pd.to_numeric(series, errors="raise").astype("float64")
            except (ValueError, TypeError):
                bad_type.append(f"{name} (expected {col.get('dtype')}, got {series.dtype})")
                continue
            if np.isinf(X[name].to_numpy()).any():
                bad_type.append(f"{name} (infinite values)")
                continue
            _check_integral(name, X[name], col, bad_int)
        else:
            X[name] = _cast_categorical(series, col.get("categories"))
            unseen.extend(_unseen(name, X[name], col.get("categories")))
        if not col["nullable"] and X[name].isna().any():
            bad_nan.append(name)
    if bad_type:
        raise _schema_error(
            "cannot convert input column(s) to the type the model was trained on",
            bad_type,
            "Fix or drop the non-numeric or infinite values.",
        )
    if bad_int:
        raise _schema_error(
            "input has non-integral values in integer column(s)",
            bad_int,
            "Pass whole numbers (3.0 is accepted) or re-train with the column as float.",
        )
    if bad_nan:
        raise _schema_error(
            "input has missing values (NaN) in column(s) the model cannot impute",
            bad_nan,
            "Fill or drop those rows, or train with an imputer (tabular_pipeline does).",
        )
    if unseen:
        warnings.warn(
            "categories never seen in training, treated as the encoder's infrequent/unknown bucket: "
            + "; ".join(unseen),
            UnknownCategoryWarning,
            stacklevel=5,
        )
    return X


def _unseen(name: str, series: pd.Series, categories: list[Any] | None) -> list[str]:
    if not categories:
        return []
    known = {c for c in categories if c is not None}
    values = [v for v in pd.unique(series.dropna()) if v not in known]
    if not values:
        return []
    shown = ", ".join(repr(v)[:40] for v in values[:10]) + (f" (+{len(values) - 10} more)" if len(values) > 10 else "")
    return [f"{name}: {shown}"]


def _cast_categorical(series: pd.Series, categories: list[Any] | None) -> pd.Series:
    if not categories:
        return series
    known = [c for c in categories if c is not None]
    if (
        known
        and all(isinstance(c, str) for c in known)
        and not (
            pd.api.types.is_object_dtype(series)
            or isinstance(series.dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(series)
        )
    ):
        return series.astype(object).where(series.isna(), series.astype(str))
    return series


def validate_input(X: Any, schema: Mapping[str, Any], *, as_frame: bool) -> Any:
    """Check prediction input against ``schema`` and return it ready for the model.

    The rules are :data:`INPUT_POLICY`: dataframe columns (pandas, pyarrow,
    polars, anything narwhals or the interchange protocol reads) are matched
    by name, reordered, extras dropped with a warning, duplicates and missing
    columns refused; a 2-D array (or list of rows) must have the schema's
    width and is read in schema order. Numeric columns are cast to float64.

    Parameters
    ----------
    X : DataFrame, pyarrow Table, polars DataFrame, ndarray, list of rows or dict of columns
        Prediction input.
    schema : dict
        As returned by :func:`extract_schema`.
    as_frame : bool
        Return a DataFrame with the schema's column names (for models fitted
        on a DataFrame); otherwise a float ndarray.

    Returns
    -------
    X : DataFrame or ndarray

    Raises
    ------
    SchemaError
        Naming the missing or duplicated columns, the columns that cannot be
        cast, the integer columns given fractions, or the columns holding NaN
        that the model cannot impute.

    Warns
    -----
    UserWarning
        For dropped extra columns; :class:`UnknownCategoryWarning` for unseen categories.
    """
    names = [c["name"] for c in schema["columns"]]
    if isinstance(X, Mapping):
        _check_unique(list(X))
        X = pd.DataFrame(dict(X))
    if isinstance(X, pd.Series):
        X = X.to_frame().T
    frame = _as_pandas(X)
    if frame is None:
        arr = np.asarray(X)
        if arr.ndim != 2 or arr.shape[1] != len(names):
            shape = "x".join(map(str, arr.shape)) or "scalar"
            raise SchemaError(
                f"expected a 2-D input with {len(names)} column(s) ({', '.join(names)}), got shape "
                f"{shape}. Pass a DataFrame, or an array of shape (n_rows, {len(names)}); use "
                "x.reshape(1, -1) for a single row."
            )
        if not as_frame and arr.dtype.kind in "fiub":
            return _check_array(arr.astype(np.float64, copy=False), schema)
        frame = pd.DataFrame(arr, columns=names)
    elif not as_frame and frame.shape[1] == len(names) and not set(names) <= {str(c) for c in frame.columns}:
        frame = frame.set_axis(names, axis=1)  # model trained on an array: columns by position
    checked = _check_frame(frame, schema)
    return checked if as_frame else checked.to_numpy(dtype=np.float64)


def _check_array(arr: np.ndarray, schema: Mapping[str, Any]) -> np.ndarray:
    columns = list(_iter_columns(schema))
    nan_cols = np.isnan(arr).any(axis=0)
    bad = [c["name"] for c, has in zip(columns, nan_cols, strict=True) if has and not c["nullable"]]
    if bad:
        raise _schema_error(
            "input has missing values (NaN) in column(s) the model cannot impute",
            bad,
            "Fill or drop those rows, or train with an imputer (tabular_pipeline does).",
        )
    if np.isinf(arr).any():
        bad_inf = [c["name"] for c, has in zip(columns, np.isinf(arr).any(axis=0), strict=True) if has]
        raise _schema_error("input has infinite values in column(s)", bad_inf, "Pass finite numbers.")
    bad_int: list[str] = []
    for j, col in enumerate(columns):
        _check_integral(col["name"], arr[:, j], col, bad_int)
    if bad_int:
        raise _schema_error(
            "input has non-integral values in integer column(s)",
            bad_int,
            "Pass whole numbers (3.0 is accepted) or re-train with the column as float.",
        )
    return arr
