"""Cold-start load + predict: ``gmm_hub.load(bundle).predict(x)`` against plain joblib.

Each measurement is a fresh Python process (interpreter start, imports, load,
one predict), timed from outside: wall time with ``time.perf_counter`` and the
child's CPU time (user + system, from ``resource.getrusage``), which moves far
less than wall time when other work shares the machine. The two paths
alternate, ``--repeat`` times each, and the medians are compared. The joblib
path is the do-it-yourself baseline: ``joblib.load`` of a dict holding a
StandardScaler and one GaussianMixture per class, then ``score_samples``.
Target (issue 18): gmm_hub at most 1.15x the joblib path in a user's install.

``import skops.io`` lists every scikit-learn estimator at import time, and
scikit-learn's listing imports every package it walks, including dask.array and
pytest when they are installed; it used to be most of the difference. gmm_hub's
load no longer imports it (its own reader builds the audited nodes), and the
report still shows what that import costs in the environment. ``--python`` runs
the fresh processes with another interpreter, e.g. a venv holding only
``pip install gmm-hub``.

    python scripts/bench_load.py [--repeat 7] [--rows 2000] [--features 8] [--python PATH]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import gmm_hub

GMM_HUB_CODE = """
import sys, numpy as np
import gmm_hub
x = np.load(sys.argv[2])
pred = gmm_hub.load(sys.argv[1]).predict(x)
assert len(pred) == len(x)
"""

JOBLIB_CODE = """
import sys, numpy as np
import joblib
x = np.load(sys.argv[2])
d = joblib.load(sys.argv[1])
z = d["scaler"].transform(x)
scores = np.column_stack([g.score_samples(z) for g in d["gmms"]]) + np.log(d["priors"])
pred = d["classes"][scores.argmax(axis=1)]
assert len(pred) == len(x)
"""


def build(workdir: Path, rows: int, features: int) -> tuple[Path, Path, Path]:
    """Fit one model and write it both ways; return (bundle, joblib file, input .npy)."""
    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.1).astype(int)
    X = rng.normal(size=(rows, features)) + 1.5 * y[:, None]
    model = Pipeline(
        [
            ("scale", StandardScaler()),
            ("gmm", gmm_hub.GMMClassifier(n_components=2, random_state=0)),
        ]
    ).fit(X, y)
    bundle = gmm_hub.save(model, workdir / "bundle")
    gmm = model[-1]
    plain = workdir / "plain.joblib"
    joblib.dump(
        {
            "scaler": model[0],
            "gmms": gmm.gmms_,
            "priors": gmm.class_prior_,
            "classes": gmm.classes_,
        },
        plain,
    )
    x = workdir / "x.npy"
    np.save(x, X[:200])
    return bundle, plain, x


SKOPS_IMPORT_CODE = """
import sys, time
import numpy, sklearn.mixture, sklearn.preprocessing, joblib  # what both paths import anyway
start = time.perf_counter()
import skops.io
cost = time.perf_counter() - start
print(f"{cost:.3f}", *sorted(m for m in ("dask", "pytest") if m in sys.modules))
"""


TARGET = 1.15


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(python: str, code: str, *args: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process."""
    cpu, start = _children_cpu(), time.perf_counter()
    subprocess.run([python, "-c", code, *map(str, args)], check=True)
    return time.perf_counter() - start, _children_cpu() - cpu


def skops_import(python: str) -> tuple[float, list[str]]:
    """Seconds ``import skops.io`` adds in a fresh process, and the optional heavy modules it pulled in."""
    out = subprocess.run([python, "-c", SKOPS_IMPORT_CODE], check=True, capture_output=True, text=True)
    cost, *pulled = out.stdout.split()
    return float(cost), pulled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter for the timed processes (default: this one)",
    )
    args = parser.parse_args(argv)
    python = args.python
    with tempfile.TemporaryDirectory() as tmp:
        bundle, plain, x = build(Path(tmp), args.rows, args.features)
        run_once(python, JOBLIB_CODE, plain, x)  # warm the OS file cache for both paths
        run_once(python, GMM_HUB_CODE, bundle, x)
        ours, theirs = [], []
        for _ in range(args.repeat):
            theirs.append(run_once(python, JOBLIB_CODE, plain, x))
            ours.append(run_once(python, GMM_HUB_CODE, bundle, x))
    skops_costs, pulled = zip(*(skops_import(python) for _ in range(args.repeat)), strict=True)
    med = {
        name: [statistics.median(t[i] for t in runs) for i in (0, 1)]
        for name, runs in (("joblib", theirs), ("gmm_hub", ours))
    }
    ratio, cpu_ratio = med["gmm_hub"][0] / med["joblib"][0], med["gmm_hub"][1] / med["joblib"][1]
    print(f"{'path':<34}{'wall s':>8}{'min':>7}{'max':>7}{'cpu s':>8}")
    for name, label, runs in (
        ("joblib", "joblib.load + score_samples", theirs),
        ("gmm_hub", "gmm_hub.load(bundle).predict", ours),
    ):
        walls = [t[0] for t in runs]
        print(f"{label:<34}{med[name][0]:>8.3f}{min(walls):>7.3f}{max(walls):>7.3f}{med[name][1]:>8.3f}")
    print(f"interpreter: {python}")
    print(
        f"import skops.io alone: median {statistics.median(skops_costs):.3f} s; "
        f"it imported {', '.join(pulled[0]) or 'neither dask nor pytest'}"
    )
    ok = ratio <= TARGET
    print(
        f"ratio gmm_hub/joblib = {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU "
        f"(target <= {TARGET:.2f}x wall): {'OK' if ok else 'OVER'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
