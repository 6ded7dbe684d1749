"""scripts/_synthetic.py: the benchmarks' generators and the log-likelihood level conversion."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import multivariate_normal

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
_synthetic = pytest.importorskip("_synthetic")


def _gaussian_loglik(split) -> float:
    """Held-out mean log-likelihood of one maximum-likelihood full Gaussian (affine-equivariant)."""
    mean, cov = split.X_tr.mean(axis=0), np.cov(split.X_tr.T, bias=True)
    return float(multivariate_normal(mean, cov).logpdf(split.X_te).mean())


def test_make_correlated_is_standardised_and_correlated():
    X, y = _synthetic.make_correlated(3000, 20, seed=3)
    assert X.shape == (3000, 30) and int(y.sum()) == 20
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1, rtol=1e-12)
    off_diagonal = np.abs(np.corrcoef(X.T) - np.eye(30))
    assert off_diagonal.max() > 0.5
    X2, _ = _synthetic.make_correlated(3000, 20, seed=3)
    np.testing.assert_array_equal(X, X2)


def test_mixing_matrix_has_the_stated_conditioning():
    s = np.linalg.svd(_synthetic.mixing_matrix(30, seed=0), compute_uv=False)
    np.testing.assert_allclose([s[0], s[-1]], [1.0, _synthetic.MIXING_SMALLEST], rtol=1e-10)


def test_split_loglik_shift_converts_levels_to_fraud_coordinates():
    fraud = _synthetic.split("fraud", 3000, seed=1)
    correlated = _synthetic.split("correlated", 3000, seed=1)
    assert fraud.loglik_shift == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(fraud.y_te, correlated.y_te)  # the same rows on each side
    # a full Gaussian fit is equivariant under linear maps, so only the level moves, by the shift
    assert _gaussian_loglik(correlated) + correlated.loglik_shift == pytest.approx(_gaussian_loglik(fraud), rel=1e-9)


def test_versus_is_relative_to_the_level_in_fraud_coordinates():
    ref = {"f1_macro": 0.9, "loglik": [-2.0, -50.0], "loglik_shift": -28.0}
    out = _synthetic.versus(ref, {"f1_macro": 0.85, "loglik": [-5.0, -49.0]})
    assert out["f1_drop"] == pytest.approx(0.05)
    assert out["loglik_gap"] == pytest.approx([3.0, -1.0])
    assert out["loglik_worse"] == pytest.approx([3.0 / 30.0, -1.0 / 78.0])
