"""gmm_hub.bundle._validate: a loaded classifier's fitted state is checked before it is used."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

from gmm_hub import GMMClassifier
from gmm_hub.bundle._validate import validate_model
from gmm_hub.exceptions import BundleError

RND_SEED = 0


@pytest.fixture(scope="module")
def heavy_tailed_model() -> GMMClassifier:
    rng = np.random.default_rng(RND_SEED)
    X = np.column_stack([rng.standard_cauchy(400), rng.normal(size=400)])
    y = np.r_[np.zeros(360, int), np.ones(40, int)]
    X[y == 1] += 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GMMClassifier(n_components=1, feature_transform="auto", random_state=RND_SEED).fit(X, y)
    assert model.asinh_params_ is not None and not np.isnan(model.asinh_params_[0, 0])
    return model


def test_a_sound_s_u_transform_passes(heavy_tailed_model):
    assert validate_model(copy.deepcopy(heavy_tailed_model)) is not None


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p[:1], "asinh_params_ has shape"),
        (lambda p: p.astype(str), "asinh_params_ is not a numeric array"),
        (lambda p: np.where(np.isnan(p), p, -p), "spread that is not positive"),
        (lambda p: np.where(np.isnan(p), p, np.inf), "not finite"),
        (lambda p: np.c_[p[:, :1], np.full(len(p), np.nan)], "not finite"),  # a shift without its spread
    ],
    ids=["shape", "dtype", "negative-spread", "infinite", "half-nan"],
)
def test_a_damaged_s_u_transform_is_refused_by_name(heavy_tailed_model, damage, message):
    model = copy.deepcopy(heavy_tailed_model)
    model.asinh_params_ = damage(model.asinh_params_)
    with pytest.raises(BundleError, match=message):
        validate_model(model)
