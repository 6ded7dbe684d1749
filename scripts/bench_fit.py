"""Fit speed at scale: GMMClassifier against the naive BIC grid, at every seed of two generators.

Issue 18 item 1. Data: SYNTHETIC stand-ins for the credit-card fraud data
(284,807 rows x 30 features, 0.17% positives; see ``scripts/_synthetic.py``):
the ``fraud`` generator and the ``correlated`` one (the same rows linearly
mixed, standardised). Per generator and seed, a stratified 70/30 split,
standardised on the training rows, then side by side in one process:

* the naive grid: per class, scikit-learn ``GaussianMixture`` with K = 1..5,
  full covariance, on all training rows, lowest BIC, every other setting at
  scikit-learn's defaults; Bayes' rule with balanced priors;
* ``GMMClassifier(**params)`` (``--params``, default ``{}`` = its defaults).

Reported per seed: fit seconds, speed-up, held-out mean log-likelihood of each
class under its own mixture (and how much worse ours is, relative), F1-macro
and its drop, and where the fit's time went when the model records
``fit_seconds_``. The targets (>= 5x, log-likelihood within 1%, F1-macro
within 0.01) are judged on the WORST seed of each generator. The order of
the two fits alternates between seeds, so drift in machine load spreads over
both.

Then ``n_jobs=2`` against ``n_jobs=1`` at the first seed of each generator
(alternating, median of ``--jobs-repeat``), and whether the two fitted models
have the same parameters. ``--predict`` adds predict throughput and memory
(``scripts/bench_predict.py`` is the full prediction benchmark).

BLAS threads are limited to ``--blas-threads`` (default 1) for every fit:
on a shared machine multi-threaded OpenBLAS spins and can make EM 10x slower,
which would flatter whichever side it hurts most.

    python scripts/bench_fit.py                      # 2 generators x 5 seeds at full size
    python scripts/bench_fit.py --quick              # 30,000 rows, seeds 0 and 1
    python scripts/bench_fit.py --params '{"reg_covar": 1e-3}' --seeds 0,1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import add_params_argument, fit_breakdown, header, parse_params, write_json
from _synthetic import FRAUD_FEATURES, FRAUD_ROWS, GENERATORS, NAIVE, fit_model, fit_naive, split, versus
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from gmm_hub.evaluation import format_table
from gmm_hub.model import GMMClassifier

TARGETS = {"speedup": 5.0, "loglik_rel": 0.01, "f1_drop": 0.01}
# fitted attributes that may differ between runs for reasons other than the fit
VOLATILE = {"fit_seconds_"}


def make_model(params: dict[str, Any], seed: int, **overrides: Any) -> GMMClassifier:
    return GMMClassifier(**{"random_state": seed, **params, **overrides})


def run_seed(generator: str, seed: int, rows: int, params: dict, blas_threads: int) -> dict[str, Any]:
    """Naive grid and GMMClassifier on one data set, timed side by side."""
    data = split(generator, rows, seed)
    with threadpool_limits(blas_threads):
        fits = {
            "naive": lambda: fit_naive(data, seed),
            "model": lambda: fit_model(make_model(params, seed), data),
        }
        order = ["naive", "model"] if seed % 2 == 0 else ["model", "naive"]
        out = {name: fits[name]() for name in order}
    return {
        "generator": generator,
        "seed": seed,
        "train_rows": len(data.y_tr),
        "test_positives": int(data.y_te.sum()),
        **out,
        "speedup": out["naive"]["fit_s"] / out["model"]["fit_s"],
        **versus(out["naive"], out["model"]),
    }


def seed_table(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        n, m = r["naive"], r["model"]
        rows.append(
            {
                "seed": r["seed"],
                "naive s": f"{n['fit_s']:.1f}",
                "ours s": f"{m['fit_s']:.1f}",
                "speed-up": f"{r['speedup']:.1f}x",
                "log-lik c0 naive / ours": f"{n['loglik'][0]:.3f} / {m['loglik'][0]:.3f}",
                "log-lik c1 naive / ours": f"{n['loglik'][1]:.3f} / {m['loglik'][1]:.3f}",
                "worse c0 / c1 (nats)": " / ".join(f"{g:+.3f}" for g in r["loglik_gap"]),
                "worse c0 / c1 (rel.)": " / ".join(f"{100 * w:+.2f}%" for w in r["loglik_worse"]),
                "F1 naive / ours": f"{n['f1_macro']:.4f} / {m['f1_macro']:.4f}",
                "F1 drop": f"{r['f1_drop']:+.4f}",
                "components naive / ours": f"{', '.join(n['config'])} / {', '.join(m.get('config', ['?']))}",
                "ours: where time goes": fit_breakdown(m.get("fit_seconds")),
            }
        )
    return format_table(rows, list(rows[0]))


def worst(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The worst seed for each target (lowest speed-up, largest log-lik and F1 losses)."""
    slow = min(results, key=lambda r: r["speedup"])
    lik = max(results, key=lambda r: max(r["loglik_worse"]))
    f1 = max(results, key=lambda r: r["f1_drop"])
    return {
        "speedup": (slow["speedup"], slow["seed"]),
        "loglik_worse": (max(lik["loglik_worse"]), lik["seed"]),
        "f1_drop": (f1["f1_drop"], f1["seed"]),
    }


def fitted_state(obj: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Every fitted numeric attribute (``name_``), recursing into fitted sub-estimators."""
    out: dict[str, np.ndarray] = {}
    for name, value in sorted(vars(obj).items()):
        if not name.endswith("_") or name.startswith("_") or name in VOLATILE:
            continue
        key = prefix + name
        items = value if isinstance(value, (list, tuple)) else None
        if items and all(hasattr(v, "get_params") for v in items):
            for i, v in enumerate(items):
                out.update(fitted_state(v, f"{key}[{i}]."))
        elif hasattr(value, "get_params"):
            out.update(fitted_state(value, key + "."))
        else:
            try:
                out[key] = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):  # strings, labels: compared through predictions
                continue
    return out


def state_difference(a: Any, b: Any) -> tuple[float, list[str]]:
    """Largest relative difference between two models' fitted numbers, and attributes only one has."""
    sa, sb = fitted_state(a), fitted_state(b)
    odd = sorted(set(sa) ^ set(sb)) + [k for k in sa.keys() & sb.keys() if sa[k].shape != sb[k].shape]
    diff = 0.0
    for key in sorted(sa.keys() & sb.keys()):
        x, y = sa[key], sb[key]
        if x.shape != y.shape or x.size == 0:
            continue
        both = np.isfinite(x) & np.isfinite(y)
        if not np.array_equal(np.isfinite(x), np.isfinite(y)) or not np.array_equal(x[~both], y[~both], equal_nan=True):
            odd.append(key)
            continue
        scale = np.maximum(np.abs(x[both]), np.abs(y[both]))
        gap = np.abs(x[both] - y[both]) / np.where(scale > 0, scale, 1.0)
        diff = max(diff, float(gap.max(initial=0.0)))
    return diff, odd


def parallel_check(generator: str, seed: int, rows: int, params: dict, blas: int, repeat: int) -> dict[str, Any]:
    """``n_jobs=2`` against ``n_jobs=1``: alternating fits, median seconds, same parameters?"""
    X_tr, X_te, y_tr, _, _ = split(generator, rows, seed)
    times: dict[int, list[float]] = {1: [], 2: []}
    models: dict[int, GMMClassifier] = {}
    with threadpool_limits(blas):
        for i in range(repeat):
            for jobs in (1, 2) if i % 2 == 0 else (2, 1):
                model = make_model(params, seed, n_jobs=jobs)
                start = time.perf_counter()
                model.fit(X_tr, y_tr)
                times[jobs].append(time.perf_counter() - start)
                models[jobs] = model
    diff, odd = state_difference(models[1], models[2])
    same_pred = bool(np.array_equal(models[1].predict(X_te), models[2].predict(X_te)))
    t1, t2 = statistics.median(times[1]), statistics.median(times[2])
    return {
        "generator": generator,
        "seed": seed,
        "n_jobs=1 s": t1,
        "n_jobs=2 s": t2,
        "ratio": t1 / t2,
        "max_rel_param_diff": diff,
        "mismatched": odd,
        "same_predictions": same_pred,
        "same": not odd and diff <= 1e-9 and same_pred,
        "times": times,
    }


def parse_seeds(text: str) -> list[int]:
    if ".." in text:
        lo, hi = text.split("..")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_params_argument(parser)
    parser.add_argument("--rows", type=int, default=FRAUD_ROWS, help="rows of synthetic data (default 284,807)")
    parser.add_argument("--seeds", default="0..4", help="seeds, '0..4' or '0,2,3' (default 0..4)")
    parser.add_argument("--generators", default=",".join(GENERATORS), help="comma-separated (default: both)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 30,000 rows, seeds 0,1, one n_jobs round")
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument(
        "--n-jobs", type=int, default=1, help="(generator, seed) runs in parallel; timings are only fair with 1"
    )
    parser.add_argument("--jobs-repeat", type=int, default=3, help="alternating rounds of the n_jobs comparison")
    parser.add_argument("--no-parallel-check", action="store_true", help="skip the n_jobs=2 vs n_jobs=1 part")
    parser.add_argument("--predict", action="store_true", help="also measure predict throughput and memory")
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="predict subprocesses per method")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    params = parse_params(parser, args.params)
    generators = [g.strip() for g in args.generators.split(",") if g.strip()]
    if unknown := sorted(set(generators) - set(GENERATORS)):
        parser.error(f"--generators: unknown {unknown}; choose from {sorted(GENERATORS)}")
    seeds = parse_seeds(args.seeds)
    if args.quick:
        args.rows, args.predict_rows, args.jobs_repeat = 30_000, 100_000, 1
        seeds = seeds if args.seeds != "0..4" else [0, 1]

    print(
        header(
            "Fit benchmark (bench_fit.py)",
            params,
            f"{args.rows:,} rows x {FRAUD_FEATURES} (synthetic), generators {generators}, seeds {seeds}; "
            f"BLAS threads {args.blas_threads}; {args.n_jobs} run(s) at a time"
            + ("  (timings NOT comparable: runs share the cores)" if args.n_jobs > 1 else ""),
        )
    )
    if args.rows != FRAUD_ROWS:
        print("(the targets are set for 284,807 rows; smaller runs are smoke tests)")
    tasks = [(g, s) for g in generators for s in seeds]
    results = []
    for r in Parallel(n_jobs=args.n_jobs, return_as="generator")(
        delayed(run_seed)(g, s, args.rows, params, args.blas_threads) for g, s in tasks
    ):
        results.append(r)
        print(  # progress, so a long run shows where it is
            f"  {r['generator']} seed {r['seed']}: naive {r['naive']['fit_s']:.1f}s, ours {r['model']['fit_s']:.1f}s",
            flush=True,
        )

    verdicts: dict[str, dict[str, bool]] = {}
    worst_seeds = {}
    for g in generators:
        mine = [r for r in results if r["generator"] == g]
        w = worst_seeds[g] = worst(mine)
        print(
            f"\n## {g}: {mine[0]['train_rows']:,} training rows, "
            f"{mine[0]['test_positives']} held-out positives per seed"
            f"\n\n{NAIVE} vs GMMClassifier(**params). 'worse' > 0: ours has the lower held-out log-likelihood.\n"
        )
        print(seed_table(mine))
        print(
            f"\nWorst seed: speed-up {w['speedup'][0]:.1f}x (seed {w['speedup'][1]}), log-lik "
            f"{100 * w['loglik_worse'][0]:+.2f}% (seed {w['loglik_worse'][1]}), F1 drop {w['f1_drop'][0]:+.4f} "
            f"(seed {w['f1_drop'][1]})"
        )
        verdicts[g] = {
            f"fit >= {TARGETS['speedup']:g}x the naive grid at every seed": w["speedup"][0] >= TARGETS["speedup"],
            "held-out log-lik within 1% of naive (each class, every seed)": w["loglik_worse"][0]
            <= TARGETS["loglik_rel"],
            "F1-macro >= naive - 0.01 at every seed": w["f1_drop"][0] <= TARGETS["f1_drop"],
        }

    parallel = []
    if not args.no_parallel_check:
        print(f"\n## n_jobs=2 vs n_jobs=1 (seed {seeds[0]}, median of {args.jobs_repeat}, alternating)\n")
        for g in generators:
            p = parallel_check(g, seeds[0], args.rows, params, args.blas_threads, args.jobs_repeat)
            parallel.append(p)
            verdicts[f"{g} n_jobs"] = {
                "n_jobs=2 faster than n_jobs=1": p["ratio"] > 1.0,
                "n_jobs=2 model has n_jobs=1's parameters and predictions": p["same"],
            }
        table = [
            {
                "generator": p["generator"],
                "n_jobs=1 s": f"{p['n_jobs=1 s']:.1f}",
                "n_jobs=2 s": f"{p['n_jobs=2 s']:.1f}",
                "n_jobs=1 / n_jobs=2": f"{p['ratio']:.2f}x",
                "max rel. param diff": f"{p['max_rel_param_diff']:.1e}",
                "same predictions": p["same_predictions"],
                "attrs differing": ", ".join(p["mismatched"]) or "none",
            }
            for p in parallel
        ]
        print(format_table(table, list(table[0])))
        print("n_jobs=2 times include starting joblib's worker processes when the pool is cold.")

    pred = None
    if args.predict:
        from _predict_probe import predict_report
        from _synthetic import make_fraud_like

        model = make_model(params, seeds[0])
        X_tr, _, y_tr, _, _ = split(generators[0], args.rows, seeds[0])
        with threadpool_limits(args.blas_threads):
            model.fit(X_tr, y_tr)
        X_big = make_fraud_like(args.predict_rows, max(1, args.predict_rows // 580), seed=1)[0]
        X_big = (X_big - X_big.mean(axis=0)) / X_big.std(axis=0)
        pred, verdicts["predict"] = predict_report(model, X_big, args.blas_threads, args.repeat)

    print("\n## Targets\n")
    for name, checks in verdicts.items():
        for check, ok in checks.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}: {check}")
    if args.json:
        write_json(
            args.json,
            {"params": params, "rows": args.rows, "seeds": results, "worst": worst_seeds, "parallel": parallel}
            | {"predict": pred, "verdicts": verdicts},
        )
        print(f"\nwritten {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
