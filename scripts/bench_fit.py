"""Fit and predict at scale: GMMClassifier against the naive BIC search.

The data are a SYNTHETIC stand-in for the credit-card fraud data set of the
original design (284,807 rows x 30 features, 492 positives = 0.17%): each
class is a mixture of correlated Gaussians, plus non-Gaussian structure
(Student-t tails, a squared feature, a periodic "time" and a log-normal
"amount" column). Fixed seed; no download. The real data set is not used.

One run reports, side by side:

* fit wall time of the naive search (per class, sequential sklearn
  ``GaussianMixture`` fits with K = 1..5, full covariance, on all training
  rows, lowest BIC; same ``reg_covar``/``max_iter``/``tol``/``n_init`` as
  GMMClassifier) and of ``GMMClassifier()`` as it is (default parameters),
  ``GMMClassifier(covariance_type="full")`` and ``GMMClassifier(n_jobs=2)``;
* held-out (30% stratified split) mean log-likelihood of each class under its
  own mixture, F1-macro and balanced accuracy (naive: Bayes rule with the same
  balanced priors as GMMClassifier's default);
* predict throughput (rows/s) and peak extra memory on ``--predict-rows``
  rows (default 1,000,000), each in a fresh subprocess, against
  direct per-class ``GaussianMixture.score_samples`` on the whole array.
  Memory is the peak RSS (sampled every 2 ms) above the RSS after loading the
  input, and the tracemalloc peak (numpy allocations); the larger is checked.

BLAS threads are limited to ``--blas-threads`` (default 1) for every
measurement, naive and GMMClassifier alike: on a shared or oversubscribed
machine multi-threaded OpenBLAS spins and can make each EM step 10x slower,
which would flatter whichever side it hurts most. Parallelism then comes only
from joblib's ``n_jobs``.

    python scripts/bench_fit.py            # full size, a few minutes on 2 cores
    python scripts/bench_fit.py --quick    # 30,000 rows, 100,000 predict rows
    python scripts/bench_fit.py --rows 100000 --predict-rows 500000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from gmm_hub.model._classifier import GMMClassifier

FRAUD_ROWS, FRAUD_POSITIVES, FRAUD_FEATURES = 284_807, 492, 30
TARGETS = {"speedup": 5.0, "loglik_rel": 0.01, "f1_drop": 0.01, "predict_mb": 300.0}


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


def naive_search(X: np.ndarray, y: np.ndarray, gmm_params: dict, seed: int) -> list:
    """Per class, fit K = 1..5 full-covariance mixtures on all rows; keep the lowest BIC."""
    chosen = []
    for label in np.unique(y):
        rows = X[y == label]
        fits = [
            GaussianMixture(k, covariance_type="full", random_state=seed, **gmm_params).fit(rows) for k in range(1, 6)
        ]
        chosen.append(min(fits, key=lambda g: g.bic(rows)))
    return chosen


def held_out(gmms: list, predict, X: np.ndarray, y: np.ndarray) -> dict:
    pred = predict(X)
    return {
        "loglik": [float(g.score(X[y == c])) for c, g in enumerate(gmms)],
        "f1_macro": float(f1_score(y, pred, average="macro")),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
    }


PREDICT_CODE = r"""
import json, sys, threading, time, tracemalloc
import numpy as np
from threadpoolctl import threadpool_limits
import joblib
model_path, x_path, how, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = joblib.load(model_path)
X = np.load(x_path)
def direct(X):
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=FRAUD_ROWS, help="rows of synthetic data")
    parser.add_argument("--positives", type=int, default=None, help="positive rows (default 0.17%%)")
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="30,000 rows, 100,000 predict rows")
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="predict subprocesses per method")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.predict_rows = 30_000, 100_000
    positives = args.positives or max(50, round(args.rows * FRAUD_POSITIVES / FRAUD_ROWS))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"SYNTHETIC fraud-like data (not the real data set): {args.rows:,} rows x "
        f"{FRAUD_FEATURES} features, {positives} positives ({positives / args.rows:.2%}), "
        f"seed {args.seed}; 70/30 stratified split. {os.cpu_count()} CPUs, BLAS threads "
        f"{args.blas_threads}, load average {load:.1f} at start."
    )
    X, y = make_fraud_like(args.rows, positives, seed=args.seed)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=args.seed)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)

    default = GMMClassifier()
    gmm_params = {k: default.get_params()[k] for k in ("reg_covar", "max_iter", "tol", "n_init")}
    rows = {}
    with threadpool_limits(args.blas_threads):
        start = time.perf_counter()
        naive = naive_search(X_tr, y_tr, gmm_params, args.seed)
        seconds = time.perf_counter() - start

        def naive_predict(X):
            return np.argmax(np.column_stack([g.score_samples(X) for g in naive]), axis=1)

        rows["naive K=1..5 full, all rows"] = {
            "fit_s": seconds,
            "config": [f"{g.n_components} full" for g in naive],
            **held_out(naive, naive_predict, X_te, y_te),
        }
        models = {
            "GMMClassifier() default": GMMClassifier(random_state=args.seed),
            'GMMClassifier(covariance_type="full")': GMMClassifier(covariance_type="full", random_state=args.seed),
            "GMMClassifier(n_jobs=2)": GMMClassifier(n_jobs=2, random_state=args.seed),
        }
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(X_tr, y_tr)
            seconds = time.perf_counter() - start
            rows[name] = {
                "fit_s": seconds,
                "config": [f"{k} {c}" for k, c in zip(model.n_components_, model.covariance_types_, strict=True)],
                **held_out(model.gmms_, model.predict, X_te, y_te),
            }

    ref = rows["naive K=1..5 full, all rows"]
    print(f"\nFit on {len(y_tr):,} training rows; held-out {len(y_te):,} rows ({int(y_te.sum())} positives).")
    header = (
        f"{'model':40} {'fit s':>8} {'speedup':>8} {'loglik c0':>10} {'loglik c1':>10} "
        f"{'F1-macro':>9} {'bal.acc':>8}  chosen (class 0 | class 1)"
    )
    print(header)
    print("-" * len(header))
    verdicts = {}
    for name, r in rows.items():
        r["speedup"] = ref["fit_s"] / r["fit_s"]
        print(
            f"{name:40} {r['fit_s']:8.1f} {r['speedup']:7.1f}x {r['loglik'][0]:10.3f} "
            f"{r['loglik'][1]:10.3f} {r['f1_macro']:9.4f} {r['balanced_accuracy']:8.4f}  "
            f"{' | '.join(r['config'])}"
        )
        if r is ref:
            continue
        rel = [(a - b) / abs(a) for a, b in zip(ref["loglik"], r["loglik"], strict=True)]  # > 0: worse
        verdicts[name] = {
            f"fit >= {TARGETS['speedup']:g}x faster": r["speedup"] >= TARGETS["speedup"],
            "held-out loglik within 1% (each class)": max(rel) <= TARGETS["loglik_rel"],
            "F1-macro >= naive - 0.01": r["f1_macro"] >= ref["f1_macro"] - TARGETS["f1_drop"],
        }
        r["loglik_rel_worse"] = rel

    print(
        "Naive and n_jobs=None rows use one core (BLAS threads as above). The n_jobs=2 row includes\n"
        "starting joblib's loky worker processes, a one-off cost per Python session (a few seconds)."
    )

    # predict throughput and memory, each in a fresh process
    with tempfile.TemporaryDirectory() as tmp:
        model_path, x_path = Path(tmp) / "model.joblib", Path(tmp) / "X.npy"
        joblib.dump(models["GMMClassifier() default"], model_path)
        X_big = scaler.transform(make_fraud_like(args.predict_rows, max(1, args.predict_rows // 580), seed=1)[0])
        np.save(x_path, X_big)
        input_mb = X_big.nbytes / 2**20
        del X_big
        pred = {
            how: measure_predict(model_path, x_path, how, args.blas_threads, args.repeat)
            for how in ("direct", "predict", "predict_proba")
        }
    print(
        f"\nPredict on {args.predict_rows:,} rows x {FRAUD_FEATURES} ({input_mb:.0f} MB input), "
        f"default model, median of {args.repeat} fresh processes:"
    )
    print(f"{'method':52} {'rows/s':>12} {'peak RSS +MB':>13} {'traced peak MB':>15}")
    for how, label in (
        ("direct", "direct: per-class GaussianMixture.score_samples"),
        ("predict", "GMMClassifier.predict (chunked)"),
        ("predict_proba", "GMMClassifier.predict_proba (chunked)"),
    ):
        p = pred[how]
        p["rows_per_s"] = args.predict_rows / p["seconds"]
        print(f"{label:52} {p['rows_per_s']:12,.0f} {p['rss_mb']:13.1f} {p['traced_mb']:15.1f}")

    def extra(how):  # the larger of the two memory measures
        return max(pred[how]["rss_mb"], pred[how]["traced_mb"])

    verdicts["predict"] = {
        f"predict extra memory < 300 MB ({args.predict_rows:,} rows)": extra("predict") < TARGETS["predict_mb"],
        f"predict_proba extra memory < 300 MB ({args.predict_rows:,} rows)": extra("predict_proba")
        < TARGETS["predict_mb"],
        "predict throughput >= direct score_samples": pred["predict"]["rows_per_s"] >= pred["direct"]["rows_per_s"],
    }

    print("\nTargets:")
    if args.rows != FRAUD_ROWS or args.predict_rows != 1_000_000:
        print("  (set for 284,807 rows and 1,000,000 predict rows; smaller runs are smoke tests)")
    for name, checks in verdicts.items():
        for check, ok in checks.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}: {check}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "predict": pred, "verdicts": verdicts}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
