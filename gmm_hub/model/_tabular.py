"""A ready pipeline for raw, mixed-type tables."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from ..exceptions import InvalidInputError
from ._classifier import GMMClassifier

# One-hot columns are far from Gaussian: a rare category is a near-constant
# column whose tiny variance makes likelihoods explode. Pooling rare categories,
# with GMMClassifier's covariance floor, keeps the mixtures off those spikes.
MIN_CATEGORY_FREQUENCY = 0.01
CATEGORICAL_ENCODINGS = ("target", "onehot")


def _target_encoder(random_state: int | None) -> TargetEncoder:
    """A TargetEncoder with seeded, shuffled 5-fold cross-fitting on any supported scikit-learn.

    scikit-learn 1.9 moved the seed into a ``cv`` splitter (and deprecated
    ``random_state``); earlier versions take only an int ``cv``.
    """
    if TargetEncoder().get_params().get("random_state") == "deprecated":
        from sklearn.model_selection import StratifiedKFold

        return TargetEncoder(cv=StratifiedKFold(5, shuffle=True, random_state=random_state))
    return TargetEncoder(random_state=random_state)


def tabular_preprocessor(categorical: str = "onehot", random_state: int | None = 0) -> ColumnTransformer:
    """Impute and standardise numeric columns; impute and encode the rest.

    Parameters
    ----------
    categorical : {"onehot", "target"}, default="onehot"
        ``"onehot"``: one column per category, categories rarer than 1%
        pooled into one column and categories unseen in training ignored (all
        zeros). ``"target"``: scikit-learn's ``TargetEncoder``, which replaces
        each category by the (shrunk, cross-fitted) mean of the target within
        it: one column per feature (per class for multiclass targets), unseen
        categories getting the overall mean.
    random_state : int or None, default=0
        Seed of the target encoder's cross-fitting folds.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Selects columns by dtype, so it works on any DataFrame.
    """
    if categorical not in CATEGORICAL_ENCODINGS:
        raise InvalidInputError(f"categorical must be one of {list(CATEGORICAL_ENCODINGS)}, got {categorical!r}.")
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    if categorical == "target":
        encoder: Any = _target_encoder(random_state)
    else:
        encoder = OneHotEncoder(handle_unknown="ignore", min_frequency=MIN_CATEGORY_FREQUENCY, sparse_output=False)
    categorical_steps = Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("encode", encoder)])
    return ColumnTransformer(
        [
            ("numeric", numeric, make_column_selector(dtype_include=np.number)),
            ("categorical", categorical_steps, make_column_selector(dtype_exclude=np.number)),
        ],
        verbose_feature_names_out=False,
    )


def tabular_pipeline(*, categorical: str = "target", **classifier_params: Any) -> Pipeline:
    """Build a pipeline that takes a raw pandas DataFrame straight to predictions.

    Numeric columns are imputed (median) and standardised; every other column
    (text, category, bool) is imputed (most frequent) and encoded by
    ``categorical`` (see :func:`tabular_preprocessor`). A :class:`GMMClassifier`
    follows.

    Target encoding is the default because one-hot columns are what a
    Gaussian mixture fits worst: each is a pair of spikes, and a rare
    category's column is nearly constant within a class, so its tiny variance
    decides the likelihood. One target-encoded column per feature orders the
    categories by how they relate to the target instead (on Adult, balanced
    accuracy 0.803 against 0.772 one-hot; see the README).

    Parameters
    ----------
    categorical : {"target", "onehot"}, default="target"
        How non-numeric columns are encoded.
    **classifier_params
        Parameters of the :class:`GMMClassifier` step.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``"preprocess"`` (a ColumnTransformer) and ``"gmm"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from gmm_hub import tabular_pipeline
    >>> X = pd.DataFrame({"age": [25, 32, None, 51] * 10,
    ...                   "job": ["a", "b", "a", None] * 10})
    >>> y = [0, 1, 0, 1] * 10
    >>> tabular_pipeline(random_state=0).fit(X, y).predict(X.head(2))
    array([0, 1])
    """
    seed = classifier_params.get("random_state", 0)
    preprocess = tabular_preprocessor(categorical, random_state=seed)
    return Pipeline([("preprocess", preprocess), ("gmm", GMMClassifier(**classifier_params))])
