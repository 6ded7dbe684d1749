"""Predict throughput and peak memory, each measured in a fresh process (``bench_fit.py --predict``).

``scripts/bench_predict.py`` is the full prediction benchmark; this is the
quick check on the model ``bench_fit.py`` has just fitted, against direct
per-class ``GaussianMixture.score_samples`` on the whole array. Memory is the
peak RSS (sampled every 2 ms) above the RSS after loading the input, and the
tracemalloc peak (numpy allocations); the larger is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np

PREDICT_MB = 300.0

PREDICT_CODE = r"""
import json, sys, threading, time, tracemalloc
import numpy as np
from threadpoolctl import threadpool_limits
import joblib
model_path, x_path, how, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = joblib.load(model_path)
X = np.load(x_path)
def direct(X):
    X = model._to_model_units(X)  # the feature transform, as a scikit-learn user would apply it too
    s = np.column_stack([g.score_samples(X) for g in model.gmms_]) + np.log(model.class_prior_)
    return model.classes_[np.argmax(s, axis=1)]
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
run = {"predict": model.predict, "predict_proba": model.predict_proba, "direct": direct}[how]
with threadpool_limits(threads):
    run(X[:2000])  # warm up
    base, peak, done = rss(), [0], threading.Event()
    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)
    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    run(X)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    tracemalloc.start()
    run(X)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
print(json.dumps({"seconds": seconds, "rss_mb": (peak[0] - base) / 2**20, "traced_mb": traced / 2**20}))
"""


def measure_predict(model_path: Path, x_path: Path, how: str, threads: int, repeat: int) -> dict:
    """Median time and largest peak-memory rise over ``repeat`` fresh processes.

    Memory is measured twice: the peak of RSS sampled every 2 ms above the RSS
    after loading the input (what the OS sees), and the tracemalloc peak of a
    second call (every numpy allocation, exact).
    """
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", PREDICT_CODE, str(model_path), str(x_path), how, str(threads)],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "seconds": float(np.median([r["seconds"] for r in runs])),
        "rss_mb": float(max(r["rss_mb"] for r in runs)),
        "traced_mb": float(max(r["traced_mb"] for r in runs)),
    }


def predict_report(model: Any, X: np.ndarray, threads: int, repeat: int) -> tuple[dict, dict[str, bool]]:
    """Print throughput and memory of ``model`` on ``X``; return the figures and the checks."""
    rows = X.shape[0]
    with tempfile.TemporaryDirectory() as tmp:
        model_path, x_path = Path(tmp) / "model.joblib", Path(tmp) / "X.npy"
        joblib.dump(model, model_path)
        np.save(x_path, X)
        methods = ("direct", "predict", "predict_proba")
        pred = {how: measure_predict(model_path, x_path, how, threads, repeat) for how in methods}
    print(
        f"\nPredict on {rows:,} rows x {X.shape[1]} ({X.nbytes / 2**20:.0f} MB input), "
        f"median of {repeat} fresh processes:"
    )
    print(f"{'method':52} {'rows/s':>12} {'peak RSS +MB':>13} {'traced peak MB':>15}")
    for how, label in (
        ("direct", "direct: per-class GaussianMixture.score_samples"),
        ("predict", "GMMClassifier.predict"),
        ("predict_proba", "GMMClassifier.predict_proba"),
    ):
        p = pred[how]
        p["rows_per_s"] = rows / p["seconds"]
        print(f"{label:52} {p['rows_per_s']:12,.0f} {p['rss_mb']:13.1f} {p['traced_mb']:15.1f}")

    def extra(how: str) -> float:  # the larger of the two memory measures
        return max(pred[how]["rss_mb"], pred[how]["traced_mb"])

    checks = {
        f"{how} extra memory < {PREDICT_MB:g} MB ({rows:,} rows)": extra(how) < PREDICT_MB
        for how in ("predict", "predict_proba")
    }
    checks["predict throughput >= direct score_samples"] = pred["predict"]["rows_per_s"] >= pred["direct"]["rows_per_s"]
    return pred, checks
