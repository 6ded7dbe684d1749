"""Tests for gmm_hub.sampling: make_imbalanced and undersampler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline

from gmm_hub.exceptions import InvalidInputError
from gmm_hub.sampling import make_imbalanced, undersampler

RND_SEED = 0
X = np.arange(200, dtype=float).reshape(100, 2)
Y = np.array([0] * 60 + [1] * 40)


def test_make_imbalanced_exact_counts():
    # 60 majority rows kept; minority share 0.2 -> 0.2 * 60 / 0.8 = 15 rows
    X_res, y_res = make_imbalanced(X, Y, 0.2, random_state=RND_SEED)
    assert np.bincount(y_res).tolist() == [60, 15]
    assert X_res.shape == (75, 2)
    # every kept row is an original row with its own label
    originals = {tuple(row): label for row, label in zip(X, Y, strict=True)}
    assert all(originals[tuple(row)] == label for row, label in zip(X_res, y_res, strict=True))


def test_make_imbalanced_rounds_to_nearest():
    # 0.05 * 60 / 0.95 = 3.16 -> 3
    _, y_res = make_imbalanced(X, Y, 0.05, random_state=RND_SEED)
    assert np.bincount(y_res).tolist() == [60, 3]


def test_make_imbalanced_reproducible_with_random_state():
    a = make_imbalanced(X, Y, 0.1, random_state=RND_SEED)
    b = make_imbalanced(X, Y, 0.1, random_state=RND_SEED)
    c = make_imbalanced(X, Y, 0.1, random_state=RND_SEED + 1)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_make_imbalanced_keeps_dataframe_and_series():
    frame = pd.DataFrame({"a": X[:, 0], "b": ["u", "v"] * 50}, index=np.arange(1000, 1100))
    target = pd.Series(np.where(Y == 1, "rare", "common"), index=frame.index, name="label")
    X_res, y_res = make_imbalanced(frame, target, 0.1, random_state=RND_SEED)
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert list(X_res.columns) == ["a", "b"] and y_res.name == "label"
    assert y_res.value_counts().to_dict() == {"common": 60, "rare": 7}  # 0.1 * 60 / 0.9 = 6.67 -> 7
    # rows stay aligned with their labels through the original index
    assert (target.loc[y_res.index] == y_res).all()
    assert (frame.loc[X_res.index, "a"] == X_res["a"]).all()


def test_make_imbalanced_default_minority_on_tie_is_last_label():
    y = np.array([0] * 50 + [1] * 50)
    _, y_res = make_imbalanced(X, y, 0.1, random_state=RND_SEED)
    assert np.bincount(y_res).tolist() == [50, 6]


def test_make_imbalanced_explicit_minority_class_multiclass():
    y = np.array([0] * 40 + [1] * 30 + [2] * 30)
    _, y_res = make_imbalanced(X, y, 0.1, minority_class=0, random_state=RND_SEED)
    # other classes: 60 rows -> 0.1 * 60 / 0.9 = 6.67 -> 7
    assert np.bincount(y_res).tolist() == [7, 30, 30]


@pytest.mark.parametrize("ratio", [0, 0.5, 0.7, -0.1, 1.0])
def test_make_imbalanced_ratio_out_of_range(ratio):
    with pytest.raises(InvalidInputError, match=r"expected 0 < minority_ratio < 0.5, got"):
        make_imbalanced(X, Y, ratio)


def test_make_imbalanced_rejects_non_number():
    with pytest.raises(InvalidInputError, match="minority_ratio must be a number"):
        make_imbalanced(X, Y, "0.1")


def test_make_imbalanced_single_class():
    with pytest.raises(InvalidInputError, match=r"at least two classes in y; got 1 class"):
        make_imbalanced(X, np.zeros(100, dtype=int), 0.1)


def test_make_imbalanced_more_minority_rows_than_exist():
    y = np.array([0] * 90 + [1] * 10)
    # 0.2 * 90 / 0.8 = 22.5 -> 22 rows asked, 10 exist
    expected = r"asks for 22 rows of class 1 .* only 10 exist .*minority_ratio <= 0.1000"
    with pytest.raises(InvalidInputError, match=expected):
        make_imbalanced(X, y, 0.2)


def test_make_imbalanced_ratio_too_small_leaves_no_row():
    with pytest.raises(InvalidInputError, match="leaves no row of class 1"):
        make_imbalanced(X, Y, 0.001)


def test_make_imbalanced_unknown_minority_class():
    expected = r"minority_class 7 is not a label of y; expected one of \[0, 1\]"
    with pytest.raises(InvalidInputError, match=expected):
        make_imbalanced(X, Y, 0.1, minority_class=7)


def test_undersampler_is_configured_random_under_sampler():
    sampler = undersampler(0.8, random_state=RND_SEED)
    assert isinstance(sampler, RandomUnderSampler)
    assert sampler.sampling_strategy == 0.8 and sampler.random_state == RND_SEED
    _, y_res = sampler.fit_resample(X, Y)
    assert np.bincount(y_res).tolist() == [50, 40]  # 40 / 0.8 = 50 majority rows


def test_undersampler_data_already_more_imbalanced_fails_at_fit():
    # 60:40 data cannot reach minority/majority = 0.5 without new majority rows
    with pytest.raises(ValueError, match="Please increase the ratio"):
        undersampler(0.5).fit_resample(X, Y)


def test_undersampler_exact_counts_balanced():
    y = np.array([0] * 80 + [1] * 20)
    _, y_res = undersampler(random_state=RND_SEED).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [20, 20]
    _, y_res = undersampler(0.5, random_state=RND_SEED).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [40, 20]


def test_undersampler_reproducible():
    y = np.array([0] * 80 + [1] * 20)
    a, _ = undersampler(0.5, random_state=RND_SEED).fit_resample(X, y)
    b, _ = undersampler(0.5, random_state=RND_SEED).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)


def test_undersampler_inside_imblearn_pipeline():
    rng = np.random.RandomState(RND_SEED)
    X_train = np.vstack([rng.normal(0, 1, (180, 2)), rng.normal(3, 1, (20, 2))])
    y_train = np.array([0] * 180 + [1] * 20)
    pipe = Pipeline([("under", undersampler(1.0, random_state=RND_SEED)), ("clf", LogisticRegression())])
    pipe.fit(X_train, y_train)
    # prediction does not resample: one prediction per row
    assert pipe.predict(X_train).shape == (200,)
    # trained on balanced data, the minority class is found
    assert (pipe.predict(X_train[y_train == 1]) == 1).mean() > 0.8


def test_undersampler_rejected_by_sklearn_pipeline():
    pipe = SkPipeline([("under", undersampler()), ("clf", LogisticRegression())])
    with pytest.raises(TypeError):
        pipe.fit(X, Y)


@pytest.mark.parametrize("ratio", [0, -1, 1.5])
def test_undersampler_ratio_out_of_range(ratio):
    with pytest.raises(InvalidInputError, match=r"expected 0 < ratio <= 1, got"):
        undersampler(ratio)
