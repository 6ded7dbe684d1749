"""Predict throughput and memory: the fused scorer against per-class ``score_samples``.

The model is ``GMMClassifier(n_components=5, covariance_type="full",
feature_transform=None)`` fitted on
SYNTHETIC fraud-like data (``make_fraud_like`` of ``scripts/bench_fit.py``,
standardised), so both classes have 5 full components over 30 features, and
its mixtures score the input as given (the default's Yeo-Johnson transform is
work a scikit-learn user would do too; its cost is printed separately). The
input is ``--rows`` fresh rows of the same generator (default 1,000,000).

One run reports, side by side, each method in ``--repeat`` fresh processes,
taken round-robin (median time; memory is the largest over the runs):

* scikit-learn: ``np.column_stack([g.score_samples(X) for g in gmms_]) + log prior``
  on the whole array, the joint log-likelihoods the classifier needs, and the
  same in chunks with bounded temporaries (gmm_hub 0.1.0's predict path), which
  is faster when memory is contended; the targets use the faster of the two;
* the fused scorer in float64 and in float32 (``scoring_dtype``): the same
  joint log-likelihoods (``_joint_log_likelihood``), then the public
  ``predict_proba``, ``decision_function`` and ``predict``.

Extra memory is the peak above the RSS after loading the input, less the
method's own output (sampled every 2 ms), and the tracemalloc peak (every numpy
allocation) less the output; the larger is checked against 100 MB. Agreement is
measured in the parent process on the first 200,000 rows: the largest relative
difference of the joint log-likelihoods from scikit-learn's (float64 target
1e-9) and from float64 (float32), and the largest posterior difference.

BLAS runs on ``--blas-threads`` threads (default 1) for every method.

    python scripts/bench_predict.py            # 1,000,000 rows, about a minute
    python scripts/bench_predict.py --quick    # 100,000 rows
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from _synthetic import make_fraud_like
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from gmm_hub.model._classifier import GMMClassifier

TARGETS = {"float64": 3.0, "float32": 5.0, "rtol64": 1e-9, "extra_mb": 100.0}

RUN_CODE = r"""
import json, sys, threading, time, tracemalloc
import numpy as np
import joblib
from threadpoolctl import threadpool_limits
model_path, x_path, how, dtype, threads = sys.argv[1:6]
model = joblib.load(model_path).set_params(scoring_dtype=dtype)
X = np.load(x_path)
def sklearn_jll(X):
    return np.column_stack([g.score_samples(X) for g in model.gmms_]) + np.log(model.class_prior_)
def sklearn_chunked(X):  # gmm_hub 0.1.0's predict path: 64 MiB of temporaries per chunk
    step = max(1024, 64 * 2**20 // (8 * X.shape[1] * (max(model.n_components_) + 2)))
    return np.vstack([sklearn_jll(X[i : i + step]) for i in range(0, len(X), step)])
run = {
    "sklearn": sklearn_jll,
    "sklearn_chunked": sklearn_chunked,
    "jll": model._joint_log_likelihood,
    "predict_proba": model.predict_proba,
    "decision_function": model.decision_function,
    "predict": model.predict,
}[how]
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
with threadpool_limits(int(threads)):
    run(X[:2000])  # warm up (and build the fused scorer)
    base, peak, done = rss(), [0], threading.Event()
    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)
    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    out = run(X)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    out_mb = out.nbytes / 2**20
    del out
    tracemalloc.start()
    out = run(X)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
print(json.dumps({"seconds": seconds, "rss_mb": (peak[0] - base) / 2**20 - out_mb,
                  "traced_mb": traced - out_mb, "out_mb": out_mb}))
"""


def measure(model_path: Path, x_path: Path, how: str, dtype: str, threads: int) -> dict:
    """Seconds and extra memory of one run of ``how`` in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", RUN_CODE, str(model_path), str(x_path), how, dtype, str(threads)],
        check=True,
        capture_output=True,
        text=True,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return {"seconds": r["seconds"], "extra_mb": max(r["rss_mb"], r["traced_mb"]), "out_mb": r["out_mb"]}


def agreement(model: GMMClassifier, X: np.ndarray) -> dict:
    """Largest differences of the fused scores from scikit-learn's and of float32 from float64."""
    ref = np.column_stack([g.score_samples(X) for g in model.gmms_]) + np.log(model.class_prior_)
    fused64 = model._joint_log_likelihood(X)
    proba64 = model.predict_proba(X)
    model32 = model.set_params(scoring_dtype="float32")
    fused32, proba32 = model32._joint_log_likelihood(X), model32.predict_proba(X)
    model.set_params(scoring_dtype="float64")
    return {
        "rel64": float(np.max(np.abs(fused64 - ref) / np.abs(ref))),
        "rel32": float(np.max(np.abs(fused32 - fused64) / np.abs(fused64))),
        "abs32": float(np.max(np.abs(fused32 - fused64))),
        "proba32": float(np.max(np.abs(proba32 - proba64))),
        "median_abs_jll": float(np.median(np.abs(ref))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to predict")
    parser.add_argument("--train-rows", type=int, default=30_000)
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per method")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = 100_000
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    X, y = make_fraud_like(args.train_rows, args.train_rows // 60, seed=0)
    scaler = StandardScaler().fit(X)
    with warnings.catch_warnings(), threadpool_limits(args.blas_threads):
        warnings.simplefilter("ignore")  # a 5-component fit of the small class may not converge: irrelevant here
        model = GMMClassifier(n_components=5, covariance_type="full", feature_transform=None, random_state=0)
        model.fit(scaler.transform(X), y)
    X_new = scaler.transform(make_fraud_like(args.rows, max(1, args.rows // 580), seed=1)[0])
    print(
        f"SYNTHETIC fraud-like data: predict {args.rows:,} rows x {X_new.shape[1]} "
        f"({X_new.nbytes / 2**20:.0f} MB); model {model.n_components_} full components per class. "
        f"{os.cpu_count()} CPUs, BLAS threads {args.blas_threads}, load average {load:.1f} at start."
    )
    with threadpool_limits(args.blas_threads):
        agree = agreement(model, X_new[:200_000])
    with warnings.catch_warnings(), threadpool_limits(args.blas_threads):
        warnings.simplefilter("ignore")
        bent = GMMClassifier(n_components=5, covariance_type="full", random_state=0).fit(scaler.transform(X), y)
        start = time.perf_counter()
        bent._to_model_units(X_new)
        transform_s = time.perf_counter() - start
    print(
        f"the default Yeo-Johnson transform of the input ({int(np.sum(bent.power_lambdas_ != 1))} of "
        f"{X_new.shape[1]} features bent): {transform_s:.2f} s, {X_new.shape[0] / transform_s:,.0f} rows/s"
    )
    methods = [
        ("sklearn", "float64", "per-class GaussianMixture.score_samples"),
        ("sklearn_chunked", "float64", "  the same, in chunks (gmm_hub 0.1.0)"),
        ("jll", "float64", "fused float64: joint log-likelihoods"),
        ("jll", "float32", "fused float32: joint log-likelihoods"),
        ("predict_proba", "float64", "fused float64: predict_proba"),
        ("predict_proba", "float32", "fused float32: predict_proba"),
        ("decision_function", "float64", "fused float64: decision_function"),
        ("predict", "float64", "fused float64: predict"),
        ("predict", "float32", "fused float32: predict"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        model_path, x_path = Path(tmp) / "model.joblib", Path(tmp) / "X.npy"
        joblib.dump(model, model_path)
        np.save(x_path, X_new)
        del X_new
        runs: dict[tuple[str, str], list[dict]] = {(how, dtype): [] for how, dtype, _ in methods}
        for _ in range(args.repeat):  # round-robin, so load from other work hits every method alike
            for key, one in runs.items():
                one.append(measure(model_path, x_path, *key, args.blas_threads))
        res = {
            key: {
                "seconds": float(np.median([r["seconds"] for r in one])),
                "extra_mb": float(max(r["extra_mb"] for r in one)),
                "out_mb": one[0]["out_mb"],
            }
            for key, one in runs.items()
        }
    base = res[("sklearn", "float64")]["seconds"]
    print(f"\nmedian of {args.repeat} fresh processes each")
    chunked = res[("sklearn_chunked", "float64")]["seconds"]
    print(f"{'method':42} {'rows/s':>12} {'vs sklearn':>11} {'vs chunked':>11} {'extra MB':>9} {'output MB':>10}")
    for how, dtype, label in methods:
        r = res[(how, dtype)]
        print(
            f"{label:42} {args.rows / r['seconds']:12,.0f} {base / r['seconds']:10.2f}x "
            f"{chunked / r['seconds']:10.2f}x {r['extra_mb']:9.1f} {r['out_mb']:10.1f}"
        )
    print(
        f"\nagreement on 200,000 rows (median |joint log-likelihood| {agree['median_abs_jll']:.1f}):\n"
        f"  fused float64 vs scikit-learn: max relative difference {agree['rel64']:.2e}\n"
        f"  fused float32 vs float64: max relative {agree['rel32']:.2e}, max absolute {agree['abs32']:.2e}, "
        f"max posterior difference {agree['proba32']:.2e}"
    )
    # against the faster of the two scikit-learn paths
    reference = min(base, chunked)
    speed64 = reference / res[("jll", "float64")]["seconds"]
    speed32 = reference / res[("jll", "float32")]["seconds"]
    fused_extra = max(r["extra_mb"] for (how, _), r in res.items() if not how.startswith("sklearn"))
    verdicts = {
        f"fused float64 >= {TARGETS['float64']:g}x score_samples ({speed64:.2f}x)": speed64 >= TARGETS["float64"],
        f"fused float32 >= {TARGETS['float32']:g}x score_samples ({speed32:.2f}x)": speed32 >= TARGETS["float32"],
        f"float64 within {TARGETS['rtol64']:g} relative ({agree['rel64']:.1e})": agree["rel64"] <= TARGETS["rtol64"],
        f"extra memory < {TARGETS['extra_mb']:g} MB, every fused method ({fused_extra:.0f} MB)": fused_extra
        < TARGETS["extra_mb"],
    }
    print("\nTargets (set for 1,000,000 rows; the machine may be shared, see the load average):")
    for check, ok in verdicts.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {check}")
    if args.json:
        args.json.write_text(
            json.dumps({"agreement": agree, "methods": {f"{h}/{d}": r for (h, d), r in res.items()}}, indent=2)
        )
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
