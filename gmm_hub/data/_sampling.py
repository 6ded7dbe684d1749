"""Controlled class imbalance: simulate a minority share, undersample a majority.

Both helpers are thin, validated faces over imbalanced-learn:

- :func:`make_imbalanced` drops minority rows from (more) balanced data until
  the minority class makes up a chosen share of the rows, through
  :func:`imblearn.datasets.make_imbalance`. Use it to study how a model copes
  with growing imbalance on one data set.
- :func:`undersampler` returns an :class:`imblearn.under_sampling.RandomUnderSampler`
  that drops majority rows until ``minority / majority == ratio``. It resamples
  during ``fit`` only, so it must sit inside an :class:`imblearn.pipeline.Pipeline`
  (scikit-learn's ``Pipeline`` cannot resample).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from imblearn.datasets import make_imbalance
from imblearn.under_sampling import RandomUnderSampler

from ..exceptions import InvalidInputError

__all__ = ["make_imbalanced", "undersampler"]

logger = logging.getLogger(__name__)


def _class_counts(y: Any) -> dict[Any, int]:
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    return {label.item() if hasattr(label, "item") else label: int(n) for label, n in zip(labels, counts, strict=True)}


def _default_minority(counts: dict[Any, int]) -> Any:
    # least frequent class; on a tie the last label in sorted order, so that
    # balanced 0/1 data treats 1 (scikit-learn's classes_[1]) as the minority
    smallest = min(counts.values())
    return [label for label, n in counts.items() if n == smallest][-1]


def make_imbalanced(
    X: Any,
    y: Any,
    minority_ratio: float,
    *,
    minority_class: Any = None,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[Any, Any]:
    """Drop minority rows so that the minority class has a chosen share of rows.

    Every row of the other classes is kept; ``n_min`` rows of the minority class
    are drawn without replacement, where ``n_min = round(r * n_other / (1 - r))``
    and ``n_other`` is the number of rows in all other classes. The work is done
    by :func:`imblearn.datasets.make_imbalance`.

    Parameters
    ----------
    X : array-like or pandas.DataFrame of shape (n_samples, n_features)
        Features. A DataFrame stays a DataFrame (original index kept).
    y : array-like or pandas.Series of shape (n_samples,)
        Class labels. A Series stays a Series.
    minority_ratio : float
        Wanted fraction of rows in the minority class after sampling,
        ``0 < minority_ratio < 0.5``. It must not exceed the current share of
        the minority class (rows are only dropped, never created).
    minority_class : label, default=None
        Class to thin out. ``None`` picks the least frequent class; on a tie,
        the last label in sorted order (``1`` for balanced 0/1 data).
    random_state : int, RandomState instance or None, default=None
        Seed for drawing the kept minority rows; fix it for reproducible output.

    Returns
    -------
    X_res : same type as ``X``
        Features of the kept rows.
    y_res : same type as ``y``
        Labels of the kept rows.

    Raises
    ------
    InvalidInputError
        If ``minority_ratio`` is outside ``(0, 0.5)``, ``y`` has a single
        class, ``minority_class`` is not a label of ``y``, the ratio asks for
        more minority rows than exist or for fewer than one.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_hub.sampling import make_imbalanced
    >>> X = np.arange(200).reshape(100, 2)
    >>> y = np.array([0] * 50 + [1] * 50)
    >>> X_res, y_res = make_imbalanced(X, y, 0.1, random_state=0)
    >>> np.bincount(y_res).tolist()
    [50, 6]
    """
    if isinstance(minority_ratio, bool) or not isinstance(minority_ratio, (int, float, np.floating)):
        raise InvalidInputError(
            f"minority_ratio must be a number; expected a float in (0, 0.5), got {minority_ratio!r}."
        )
    if not 0.0 < float(minority_ratio) < 0.5:
        raise InvalidInputError(
            f"minority_ratio is the minority share of rows after sampling; expected 0 < minority_ratio < 0.5, "
            f"got {minority_ratio!r}. Fix: pass e.g. minority_ratio=0.05 for 5% minority rows."
        )
    counts = _class_counts(y)
    if len(counts) < 2:
        raise InvalidInputError(
            f"make_imbalanced needs at least two classes in y; got {len(counts)} class(es) {list(counts)}. "
            "Fix: pass labels that contain both the majority and the minority class."
        )
    if minority_class is None:
        minority_class = _default_minority(counts)
    elif minority_class not in counts:
        raise InvalidInputError(
            f"minority_class {minority_class!r} is not a label of y; expected one of {list(counts)}."
        )
    n_have = counts[minority_class]
    n_other = sum(n for label, n in counts.items() if label != minority_class)
    n_min = round(minority_ratio * n_other / (1.0 - minority_ratio))
    current = n_have / (n_have + n_other)
    if n_min > n_have:
        raise InvalidInputError(
            f"minority_ratio={minority_ratio} asks for {n_min} rows of class {minority_class!r} next to "
            f"{n_other} other rows, but only {n_have} exist (current share {current:.4f}). Fix: pass "
            f"minority_ratio <= {current:.4f}, or drop majority rows instead with undersampler()."
        )
    if n_min < 1:
        raise InvalidInputError(
            f"minority_ratio={minority_ratio} leaves no row of class {minority_class!r} "
            f"(expected at least 1 of {n_other} other rows). Fix: pass a larger minority_ratio."
        )
    logger.debug(
        "make_imbalanced: keeping %d of %d rows of class %r next to %d other rows",
        n_min,
        n_have,
        minority_class,
        n_other,
    )
    return make_imbalance(X, y, sampling_strategy={minority_class: n_min}, random_state=random_state)


def undersampler(ratio: float = 1.0, *, random_state: int | np.random.RandomState | None = None) -> RandomUnderSampler:
    """Random undersampler that drops majority rows to ``minority / majority == ratio``.

    A configured :class:`imblearn.under_sampling.RandomUnderSampler`
    (``sampling_strategy=ratio``), for binary targets. It resamples only while
    fitting and passes data through unchanged at prediction time, so it has to
    be a step of an :class:`imblearn.pipeline.Pipeline`; scikit-learn's own
    ``Pipeline`` rejects samplers because it cannot resample.

    Parameters
    ----------
    ratio : float, default=1.0
        Wanted ``n_minority / n_majority`` after resampling, ``0 < ratio <= 1``
        (``1.0`` balances the classes). At fit time imbalanced-learn raises a
        ``ValueError`` if the data is already more imbalanced than ``ratio``
        (that would need new majority rows) or if the target is not binary.
    random_state : int, RandomState instance or None, default=None
        Seed for drawing the kept majority rows.

    Returns
    -------
    imblearn.under_sampling.RandomUnderSampler
        An unfitted sampler.

    Raises
    ------
    InvalidInputError
        If ``ratio`` is outside ``(0, 1]``.

    Examples
    --------
    >>> from imblearn.pipeline import Pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> from gmm_hub.sampling import undersampler
    >>> pipe = Pipeline([("under", undersampler(0.5, random_state=0)),
    ...                  ("clf", LogisticRegression())])
    """
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.floating)):
        raise InvalidInputError(f"ratio must be a number; expected a float in (0, 1], got {ratio!r}.")
    if not 0.0 < float(ratio) <= 1.0:
        raise InvalidInputError(
            f"ratio is n_minority / n_majority after undersampling; expected 0 < ratio <= 1, got {ratio!r}. "
            "Fix: pass e.g. ratio=1.0 to balance the classes, or ratio=0.5 for two majority rows per "
            "minority row."
        )
    return RandomUnderSampler(sampling_strategy=float(ratio), random_state=random_state)
