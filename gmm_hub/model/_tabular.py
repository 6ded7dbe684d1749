"""A ready pipeline for raw, mixed-type tables."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ._classifier import GMMClassifier

# One-hot columns are far from Gaussian: a rare category is a near-constant
# column whose tiny variance makes likelihoods explode. Pooling rare categories,
# with GMMClassifier's covariance floor, keeps the mixtures off those spikes.
MIN_CATEGORY_FREQUENCY = 0.01


def tabular_preprocessor() -> ColumnTransformer:
    """Impute and standardise numeric columns; impute and one-hot encode the rest.

    Categories rarer than 1% are pooled into one column and categories unseen
    in training are ignored (all zeros).

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Selects columns by dtype, so it works on any DataFrame.
    """
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="ignore",
                    min_frequency=MIN_CATEGORY_FREQUENCY,
                    sparse_output=False,
                ),
            ),
        ]
    )
    return ColumnTransformer(
        [
            ("numeric", numeric, make_column_selector(dtype_include=np.number)),
            ("categorical", categorical, make_column_selector(dtype_exclude=np.number)),
        ],
        verbose_feature_names_out=False,
    )


def tabular_pipeline(**classifier_params: Any) -> Pipeline:
    """Build a pipeline that takes a raw pandas DataFrame straight to predictions.

    Numeric columns are imputed (median) and standardised; every other column
    (text, category, bool) is imputed (most frequent) and one-hot encoded, with
    categories rarer than 1% pooled and categories unseen in training ignored.
    A :class:`GMMClassifier` follows.

    Parameters
    ----------
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
    return Pipeline([("preprocess", tabular_preprocessor()), ("gmm", GMMClassifier(**classifier_params))])
