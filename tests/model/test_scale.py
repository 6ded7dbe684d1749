"""Scale behaviour of GMMClassifier: chunked scoring, bounded memory, parallel and Dask fits."""

from __future__ import annotations

import contextlib
import copy
import re
import tracemalloc
from functools import partial

import joblib
import numpy as np
import pytest

import gmm_hub.model._classifier as classifier_module
import gmm_hub.model._scoring as scoring_module
from gmm_hub.model._classifier import GMMClassifier

RND_SEED = 0


def _data(n_major=4000, n_minor=60, n_features=6, seed=RND_SEED):
    rng = np.random.default_rng(seed)
    X = np.vstack(
        [
            rng.normal(0, 1, (n_major, n_features)),
            rng.normal(1.2, 0.7, (n_minor, n_features)),
        ]
    )
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    order = rng.permutation(len(y))
    return X[order], y[order]


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return GMMClassifier(max_components=3, selection_size=1000, random_state=RND_SEED).fit(X, y), X, y


def test_predict_chunked_equals_unchunked(fitted, monkeypatch):
    model, X, y = fitted
    X_big = np.vstack([X, X[::-1]])  # 8,120 rows: many blocks of the minimum 64
    whole = {
        "proba": model.predict_proba(X_big),
        "decision": model.decision_function(X_big),
        "pred": model.predict(X_big),
        "score": model.score(X, y),
    }
    monkeypatch.setattr(scoring_module, "_BLOCK_BYTES", 1)
    model = copy.deepcopy(model)  # a new estimator gets a new scorer, with the smallest blocks
    chunked = {
        "proba": model.predict_proba(X_big),
        "decision": model.decision_function(X_big),
        "pred": model.predict(X_big),
        "score": model.score(X, y),
    }
    # the chunking really happened: 64-row blocks
    assert scoring_module.fused_scorer(model).block_rows == 64
    np.testing.assert_allclose(chunked["proba"], whole["proba"], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(chunked["decision"], whole["decision"], rtol=1e-12)
    np.testing.assert_array_equal(chunked["pred"], whole["pred"])
    assert chunked["score"] == whole["score"]


def test_predict_proba_memory_bounded_by_chunk_not_rows(fitted, monkeypatch):
    model, _, _ = fitted
    X = np.random.default_rng(1).normal(size=(300_000, model.n_features_in_))  # 14 MB
    monkeypatch.setattr(classifier_module, "_CHUNK_BYTES", 2**20)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        model.predict_proba(X)
        chunked_peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for gmm in model.gmms_:
            gmm.score_samples(X)
        direct_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # beyond the output (n x 2) there is one block of temporaries, whatever n is,
    # while scoring the whole array at once needs (n x n_features) temporaries
    out_bytes = X.shape[0] * 2 * 8
    assert chunked_peak - out_bytes < 2 * scoring_module.fused_scorer(model, "float64").block_bytes
    assert chunked_peak < direct_peak


@pytest.mark.parametrize("backend", ["threads (default)", "loky"])
def test_fit_n_jobs_2_is_the_fit_of_n_jobs_1(backend, monkeypatch):
    import gmm_hub.model._em as em_module

    X, y = _data()
    # blocks of 100 rows, so the threaded refit's E-steps spread over both threads
    monkeypatch.setattr(em_module, "_BLOCK_BYTES", 8 * 3 * X.shape[1] * 100)
    params = {"max_components": 3, "selection_size": 1000, "random_state": RND_SEED}
    one = GMMClassifier(n_jobs=1, **params).fit(X, y)
    config = joblib.parallel_config(backend="loky") if backend == "loky" else contextlib.nullcontext()
    with config:
        two = GMMClassifier(n_jobs=2, **params).fit(X, y)
    # threads share the process's arrays: bit for bit. loky's workers get memory-mapped copies,
    # whose alignment can change numpy's SIMD summation order: equal to rounding.
    same = np.testing.assert_array_equal if backend != "loky" else partial(np.testing.assert_allclose, rtol=1e-12)
    assert one.n_components_ == two.n_components_
    assert one.covariance_types_ == two.covariance_types_
    np.testing.assert_array_equal(one.floor_scale_, two.floor_scale_)
    same(one.floor_losses_, two.floor_losses_)
    for a, b in zip(one.gmms_, two.gmms_, strict=True):
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            same(getattr(a, name), getattr(b, name))
    same(one.predict_proba(X), two.predict_proba(X))


def test_fits_prefer_threads_unless_a_backend_is_set():
    from gmm_hub.model._parallel import fit_threads

    assert fit_threads(None) == 1
    assert fit_threads(2) == 2
    assert fit_threads(-1) == joblib.cpu_count()
    with joblib.parallel_config(backend="loky"):
        assert fit_threads(2) == 1  # loky's workers fit on one thread each
    with joblib.parallel_config(n_jobs=2):
        assert fit_threads(None) == 2


def test_fit_dask_backend_matches_sequential_and_runs_on_cluster():
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed not installed (pip install 'gmm-hub[dask]')"
    )
    X, y = _data()
    params = {"max_components": 2, "selection_size": 1000, "random_state": RND_SEED}
    sequential = GMMClassifier(**params).fit(X, y)
    cluster = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
    )
    with (
        cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as stream,
        joblib.parallel_config(backend="dask"),
    ):
        on_dask = GMMClassifier(n_jobs=-1, **params).fit(X, y)
    # joblib batches calls into tasks named "batch_of__fit_one_<n>_calls-<id>" (and "_refit")
    calls = [re.match(r"batch_of__(fit_one|refit)_(\d+)_calls", str(task["key"])) for task in stream.data]
    ran = {name: sum(int(m.group(2)) for m in calls if m and m.group(1) == name) for name in ("fit_one", "refit")}
    # every fit ran on the cluster: 2 classes x 7 candidates, a whitened restart of each winner of more than
    # one component, then the refit of the subsampled class 0
    restarts = sum(k > 1 for k in sequential.n_components_)
    assert ran["fit_one"] == 2 * 7 + restarts and ran["refit"] >= 1
    assert on_dask.n_components_ == sequential.n_components_
    assert on_dask.covariance_types_ == sequential.covariance_types_
    np.testing.assert_array_equal(on_dask.predict(X), sequential.predict(X))
    np.testing.assert_allclose(on_dask.predict_proba(X), sequential.predict_proba(X), rtol=1e-6, atol=1e-12)
