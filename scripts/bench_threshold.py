"""Threshold tuning: the built-in out-of-fold search against scikit-learn's ``TunedThresholdClassifierCV``.

Issue 15 item 4 asks whether tuning the decision threshold pays, and whether
scikit-learn's tool should do it. On the keel suite with regime (a)'s
procedure (``tabular_preprocessor()``, the same stratified folds, defaults
only), per set, side by side:

* ``GMMClassifier()``: Bayes' rule with balanced priors, threshold 0.5 (the default);
* ``GMMClassifier(threshold=METRIC)``: the built-in tuning, out-of-fold
  log-odds from refits of the configuration chosen on all the rows (one fit
  per fold and class), every cut between distinct scores evaluated;
* ``TunedThresholdClassifierCV(GMMClassifier(), scoring=METRIC)``:
  scikit-learn's, which refits the whole estimator, search included, on each
  of its 5 folds and tries 100 evenly spaced thresholds of the probability.

Reported: mean balanced accuracy and F1-macro, sets won / lost against the
default (by more than 0.001), and fit time relative to the default.

    python scripts/bench_threshold.py --every 3            # every third keel set
    python scripts/bench_threshold.py --metric f1_macro
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
from _common import header
from _quality_models import cross_validate
from joblib import Parallel, delayed
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from gmm_hub.data import keel_suite, load_dataset
from gmm_hub.evaluation import format_table
from gmm_hub.model import GMMClassifier
from gmm_hub.model._tabular import tabular_preprocessor

METHODS = ("default (0.5)", "built-in tuning", "TunedThresholdClassifierCV")


def make(method: str, metric: str, seed: int):
    def build():
        if method == METHODS[0]:
            model = GMMClassifier(random_state=seed)
        elif method == METHODS[1]:
            model = GMMClassifier(threshold=metric, random_state=seed)
        else:
            model = TunedThresholdClassifierCV(GMMClassifier(random_state=seed), scoring=metric, random_state=seed)
        return make_pipeline(tabular_preprocessor(), model)

    return build


def one(name: str, metric: str, folds: int, seed: int) -> list[dict]:
    """Every method on one keel set, loaded once."""
    data = load_dataset(f"keel:{name}")
    splits = max(2, min(folds, int(data.y.value_counts().min())))
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in METHODS:
            row = cross_validate(make(method, metric, seed), data.X, data.y, splits, seed)
            rows.append({"dataset": name, "method": method, **row})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metric", default="balanced_accuracy", choices=["balanced_accuracy", "f1_macro"])
    parser.add_argument("--every", type=int, default=1, help="every k-th keel set (default: all)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)
    names = keel_suite()[:: args.every]
    print(
        header(
            "Threshold tuning (bench_threshold.py)",
            {},
            f"tuned for {args.metric}; {len(names)} keel sets (every {args.every}), {args.folds}-fold CV, "
            f"seed {args.seed}\n",
        )
    )
    per_set = Parallel(n_jobs=args.n_jobs)(delayed(one)(name, args.metric, args.folds, args.seed) for name in names)
    table = {(r["dataset"], r["method"]): r for rows in per_set for r in rows}
    ok = [n for n in names if all(table[(n, m)]["status"] == "ok" for m in METHODS)]
    summary = []
    base = {n: table[(n, METHODS[0])] for n in ok}
    for method in METHODS:
        got = [table[(n, method)] for n in ok]
        diff = np.array([g[args.metric] - base[n][args.metric] for g, n in zip(got, ok, strict=True)])
        seconds = sum(g["seconds"] for g in got) / sum(b["seconds"] for b in base.values())
        summary.append(
            {
                "method": method,
                "balanced accuracy": f"{np.mean([g['balanced_accuracy'] for g in got]):.4f}",
                "F1-macro": f"{np.mean([g['f1_macro'] for g in got]):.4f}",
                f"wins / losses vs default ({args.metric})": f"{np.sum(diff > 1e-3)} / {np.sum(diff < -1e-3)}",
                "fit time vs default": f"{seconds:.1f}x",
            }
        )
    print(format_table(summary, list(summary[0])))
    failed = sorted(set(names) - set(ok))
    if failed:
        print(f"\nleft out (a method failed): {failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
