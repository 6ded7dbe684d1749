"""Synthetic fraud-shaped data and the naive per-class BIC grid, shared by the benchmarks.

``bench_fit.py`` and regime (c) of ``bench_quality.py`` use these, so both
measure on identical data against an identical reference.

The data are a SYNTHETIC stand-in for the credit-card fraud data set
(284,807 rows x 30 features, 492 positives = 0.17%); the real data set is not
used. Two generators:

``fraud``
    Each class a mixture of correlated Gaussians plus non-Gaussian structure
    (Student-t tails, a squared feature, a periodic "time" and a log-normal
    "amount" column). Features are nearly independent at the scale of the
    data.
``correlated``
    The same rows times a random 30 x 30 mixing matrix, then standardised:
    features strongly correlated, with the smallest eigenvalues of the class
    covariances around 1e-3, as in the quality issue's description.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

FRAUD_ROWS, FRAUD_POSITIVES, FRAUD_FEATURES = 284_807, 492, 30
NAIVE = "naive grid K=1..5 full, all rows"
# smallest singular value of the correlated generator's mixing (the largest is 1)
MIXING_SMALLEST = 0.02


def fraud_positives(n_rows: int) -> int:
    """Positives at the fraud data's rate (0.17%), at least 2 (so each split side gets one)."""
    return max(2, round(n_rows * FRAUD_POSITIVES / FRAUD_ROWS))


def make_fraud_like(
    n_rows: int = FRAUD_ROWS,
    n_positive: int = FRAUD_POSITIVES,
    n_features: int = FRAUD_FEATURES,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic fraud-like data: (X, y) with ``n_positive`` rows of class 1.

    Both classes come from fixed mixtures (the structure is drawn from
    ``seed`` first, so it does not depend on ``n_rows``), the rows from a
    second stream seeded with ``seed + n_rows``.
    """
    shape_rng = np.random.default_rng(seed)
    d = n_features

    def design(n_comp: int, shift: float, scale: float) -> list:
        weights = shape_rng.dirichlet(np.full(n_comp, 3.0))
        parts = [
            (shift + shape_rng.normal(size=d), shape_rng.normal(scale=scale / np.sqrt(d), size=(d, d)))
            for _ in range(n_comp)
        ]
        return [weights, parts]

    classes = [design(4, 0.0, 1.0), design(2, 1.5, 2.0)]
    rng = np.random.default_rng(seed + n_rows)
    counts = [n_rows - n_positive, n_positive]
    blocks = []
    for (weights, parts), n in zip(classes, counts, strict=True):
        comp = rng.choice(len(weights), size=n, p=weights)
        block = np.empty((n, d))
        for k, (mean, mix) in enumerate(parts):
            m = comp == k
            block[m] = mean + rng.standard_normal((int(m.sum()), d)) @ mix
        blocks.append(block)
    X = np.vstack(blocks)
    y = np.repeat([0, 1], counts)
    X[:, 1:4] += 0.5 * rng.standard_t(3, size=(n_rows, 3))  # heavy tails
    X[:, 5] = X[:, 5] ** 2 / 3  # skewed, non-negative
    X[:, 0] = np.sin(rng.uniform(0, 2 * np.pi, n_rows)) + 0.3 * X[:, 0]  # periodic "time"
    X[:, -1] = np.log1p(rng.lognormal(3.0 + 0.5 * y, 1.2))  # "amount"
    order = rng.permutation(n_rows)
    return X[order], y[order]


def mixing_matrix(n_features: int, seed: int, smallest: float = MIXING_SMALLEST) -> np.ndarray:
    """A random linear map with fixed conditioning: ``Q1 @ diag(s) @ Q2``.

    ``Q1``, ``Q2`` are Haar-random rotations (QR of Gaussian matrices, signs
    fixed) and the singular values ``s`` run geometrically from 1 down to
    ``smallest``. A plain Gaussian matrix would do the mixing too, but its
    smallest singular value varies by 10x between seeds (squared: 1e-5 to
    7e-4 of the largest at seeds 0..5), which would make some seeds far
    harder than others for reasons that have nothing to do with the fit.
    """
    rng = np.random.default_rng([seed, 1])

    def rotation() -> np.ndarray:
        q, r = np.linalg.qr(rng.standard_normal((n_features, n_features)))
        return q * np.sign(np.diag(r))

    return rotation() @ np.diag(np.geomspace(1.0, smallest, n_features)) @ rotation()


def make_correlated(
    n_rows: int = FRAUD_ROWS,
    n_positive: int = FRAUD_POSITIVES,
    n_features: int = FRAUD_FEATURES,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`make_fraud_like` rows mixed by :func:`mixing_matrix`, then standardised.

    The mixing depends on ``seed`` only (not on ``n_rows``). After
    standardising, the smallest eigenvalues of the class covariances are
    about 1e-3 and the features are strongly correlated.
    """
    X, y = make_fraud_like(n_rows, n_positive, n_features, seed)
    return _mix(X, seed)[0], y


def _mix(X: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """Mixed and standardised rows, and the log-determinant of that linear map."""
    mixing = mixing_matrix(X.shape[1], seed)
    X = X @ mixing
    X -= X.mean(axis=0)
    scale = X.std(axis=0)
    X /= scale
    return X, float(np.linalg.slogdet(mixing)[1] - np.log(scale).sum())


GENERATORS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "fraud": make_fraud_like,
    "correlated": make_correlated,
}


class Split(NamedTuple):
    """A 70/30 split standardised on its training rows.

    ``loglik_shift`` converts a mean log-likelihood in these coordinates to
    the fraud generator's own standardised coordinates (add it): 0 for
    ``fraud``; for ``correlated``, the log-determinant of the linear map
    between the two. Differences of log-likelihoods do not depend on the
    coordinates, levels do: standardising the mixed features puts the level
    near 0 nats, where a *relative* difference would be meaningless, so
    relative figures use the level in the un-mixed coordinates (-30 to -50
    nats), the ones the 1% target was set on.
    """

    X_tr: np.ndarray
    X_te: np.ndarray
    y_tr: np.ndarray
    y_te: np.ndarray
    loglik_shift: float


def split(generator: str, n_rows: int, seed: int) -> Split:
    """Generate, split 70/30 (stratified, ``seed``) and standardise on the training rows."""
    if generator not in GENERATORS:
        raise ValueError(f"unknown generator {generator!r}; expected one of {sorted(GENERATORS)}")
    X, y = make_fraud_like(n_rows, fraud_positives(n_rows), FRAUD_FEATURES, seed=seed)
    train, test = train_test_split(np.arange(n_rows), test_size=0.3, stratify=y, random_state=seed)
    fraud_log_scale = float(np.log(X[train].std(axis=0)).sum())
    X, log_det = _mix(X, seed) if generator == "correlated" else (X, 0.0)
    scaler = StandardScaler().fit(X[train])
    shift = log_det - float(np.log(scaler.scale_).sum()) + fraud_log_scale
    return Split(scaler.transform(X[train]), scaler.transform(X[test]), y[train], y[test], shift)


def naive_grid(X: np.ndarray, y: np.ndarray, seed: int) -> list[GaussianMixture]:
    """Per class, K = 1..5 full-covariance mixtures on all its rows, lowest BIC kept.

    scikit-learn's ``GaussianMixture`` defaults otherwise (``reg_covar=1e-6``,
    ``tol=1e-3``, ``max_iter=100``, ``n_init=1``, k-means initialisation):
    the search a user would write without this package.
    """
    chosen = []
    for label in np.unique(y):
        rows = X[y == label]
        fits = [
            GaussianMixture(k, covariance_type="full", random_state=seed).fit(rows)
            for k in range(1, min(5, len(rows)) + 1)
        ]
        chosen.append(min(fits, key=lambda g: g.bic(rows)))
    return chosen


def naive_predict(gmms: list[GaussianMixture], X: np.ndarray) -> np.ndarray:
    """Bayes' rule with balanced priors: the class whose mixture scores the row highest."""
    return np.argmax(np.column_stack([g.score_samples(X) for g in gmms]), axis=1)


def held_out(gmms: list[Any] | None, pred: np.ndarray, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """F1-macro, balanced accuracy and each class's mean log-likelihood under its own mixture.

    ``gmms`` are the per-class mixtures (``GMMClassifier.gmms_``, fitted on
    the features as given); ``None`` leaves the log-likelihoods out.
    """
    out: dict[str, Any] = {
        "f1_macro": float(f1_score(y, pred, average="macro")),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
    }
    if gmms is not None:
        out["loglik"] = [float(g.score(X[y == c])) for c, g in enumerate(gmms)]
    return out


def fit_naive(data: Split, seed: int) -> dict[str, Any]:
    """Fit the naive grid, timed, and its held-out figures."""
    start = time.perf_counter()
    gmms = naive_grid(data.X_tr, data.y_tr, seed)
    seconds = time.perf_counter() - start
    return {
        "fit_s": seconds,
        "config": [f"{g.n_components} full" for g in gmms],
        **held_out(gmms, naive_predict(gmms, data.X_te), data.X_te, data.y_te),
        "loglik_shift": data.loglik_shift,
    }


class _ClassDensity:
    """One class's density of a GMMClassifier, with GaussianMixture's ``score`` (mean log-likelihood)."""

    def __init__(self, model: Any, k: int) -> None:
        self.model, self.k = model, k

    def score(self, X: np.ndarray) -> float:
        return float(self.model.class_log_likelihood(X)[:, self.k].mean())


def fit_model(model: Any, data: Split) -> dict[str, Any]:
    """Fit a GMMClassifier-like model, timed, and its held-out figures."""
    start = time.perf_counter()
    model.fit(data.X_tr, data.y_tr)
    seconds = time.perf_counter() - start
    gmms = getattr(model, "gmms_", None)
    if hasattr(model, "class_log_likelihood"):  # densities of X itself, the transform's Jacobian included
        gmms = [_ClassDensity(model, k) for k in range(len(model.classes_))]
    row = {"fit_s": seconds, **held_out(gmms, model.predict(data.X_te), data.X_te, data.y_te)}
    gmms = getattr(model, "gmms_", None)
    row["loglik_shift"] = data.loglik_shift
    if gmms is not None:
        row["config"] = [f"{g.n_components} {g.covariance_type}" for g in gmms]
    if isinstance(getattr(model, "fit_seconds_", None), dict):
        row["fit_seconds"] = {k: float(v) for k, v in model.fit_seconds_.items()}
    return row


def versus(ref: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """How far ``row`` falls behind ``ref``: log-likelihood loss per class (nats and relative), F1 loss.

    ``loglik_gap`` is ``ref - row`` in nats per row and ``loglik_worse`` that
    gap over ``|ref|`` measured in the fraud generator's coordinates (see
    :class:`Split`), per class: positive means worse than the reference.
    ``f1_drop`` is ``ref - row`` of F1-macro (positive: worse).
    """
    out: dict[str, Any] = {"f1_drop": ref["f1_macro"] - row["f1_macro"]}
    if "loglik" in ref and "loglik" in row:
        shift = ref.get("loglik_shift", 0.0)
        out["loglik_gap"] = [a - b for a, b in zip(ref["loglik"], row["loglik"], strict=True)]
        out["loglik_worse"] = [gap / abs(a + shift) for gap, a in zip(out["loglik_gap"], ref["loglik"], strict=True)]
    return out
