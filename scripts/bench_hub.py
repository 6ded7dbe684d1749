"""Hub round trip timings against an embedded local Hub (no account, no network).

Measured in one process, after imports, ``--repeat`` times each (paths alternate):

- push: ``gmm_hub.push(bundle, new repo)`` (create repo + one commit);
- cold pull: ``gmm_hub.pull(repo)`` into an empty cache;
- warm load by repo id: ``gmm_hub.load("user/repo")`` with the files cached
  (resolves ``main`` with one request), and pinned to the commit sha (no request);
- local load: ``gmm_hub.load(bundle_dir)`` of the same bundle.

Target: warm ``load(repo_id)`` at most 1.2x the local load + 50 ms.

    python scripts/bench_hub.py [--repeat 15] [--rows 2000] [--features 8]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from huggingface_hub.utils import disable_progress_bars

import gmm_hub
from gmm_hub.evaluation import evaluate_model
from gmm_hub.hub._transfer import pull, push, use_endpoint
from gmm_hub.localhub._server import LocalHub


def build(workdir: Path, rows: int, features: int) -> Path:
    """A bundle with card and plots, like ``gmm-hub train`` writes."""
    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.1).astype(int)
    X = pd.DataFrame(rng.normal(size=(rows, features)) + 1.5 * y[:, None], columns=[f"x{i}" for i in range(features)])
    model = gmm_hub.tabular_pipeline(n_components=2, covariance_type="full", random_state=0).fit(X, y)
    bundle = gmm_hub.save(model, workdir / "bundle", metrics=evaluate_model(model, X, y))
    gmm_hub.write_card(bundle)
    return bundle


LABELS = {
    "push": "push (new repo, one commit)",
    "pull_cold": "pull into an empty cache",
    "load_local": "load(bundle_dir)",
    "load_repo": "load('user/repo')  warm cache",
    "load_sha": "load('user/repo', revision=sha)",
}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(work: Path, bundle: Path, repeat: int) -> tuple[dict[str, list[float]], list[str]]:
    """Time every operation against a fresh local Hub; return the times and a warm load's requests."""
    token = secrets.token_urlsafe(16)
    hub = LocalHub(work / "hub", tokens={"bench": token})
    hub.start()
    times: dict[str, list[float]] = {k: [] for k in LABELS}
    try:
        with use_endpoint(hub.url, hf_home=work / "hf_home"), disable_progress_bars():
            url = push(bundle, "bench/model", token=token)
            sha = url.rsplit("/", 1)[1]
            gmm_hub.load("bench/model")  # warm the cache
            gmm_hub.load(bundle)  # and the imports / OS file cache
            for i in range(repeat):
                times["push"].append(timed(lambda i=i: push(bundle, f"bench/push-{i}", token=token)))
                times["pull_cold"].append(timed(lambda i=i: pull(f"bench/push-{i}", cache_dir=work / f"c{i}")))
                times["load_local"].append(timed(lambda: gmm_hub.load(bundle)))
                times["load_repo"].append(timed(lambda: gmm_hub.load("bench/model")))
                times["load_sha"].append(timed(lambda: gmm_hub.load("bench/model", revision=sha)))
            before = len(hub.requests)
            gmm_hub.load("bench/model")
            warm_requests = [f"{r.method} {r.path}" for r in hub.requests[before:]]
    finally:
        hub.stop()
    return times, warm_requests


def report(title: str, times: dict[str, list[float]]) -> None:
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"\n{title}")
    print(f"{'operation':<34} {'median':>8} {'range':>17}")
    for key, label in LABELS.items():
        lo, hi = min(times[key]) * 1000, max(times[key]) * 1000
        print(f"{label:<34} {med[key]:>8.1f} {f'{lo:.1f}..{hi:.1f}':>17}")
    target = 1.2 * med["load_local"] + 50
    for key in ("load_repo", "load_sha"):
        verdict = "OK" if med[key] <= target else "OVER TARGET"
        print(
            f"{LABELS[key]:<34} {med[key] / med['load_local']:.2f}x local, "
            f"+{med[key] - med['load_local']:.1f} ms; target <= {target:.1f} ms: {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--features", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bundle = build(work, args.rows, args.features)
        size, n_files = sum(p.stat().st_size for p in bundle.iterdir()), len(list(bundle.iterdir()))
        times, warm_requests = measure(work / "hub", bundle, args.repeat)
    print(f"bundle: {size / 1024:.0f} KiB in {n_files} files; {args.repeat} runs each; ms, median (min..max)")
    report("local Hub (127.0.0.1)", times)
    print(
        f"\nrequests of a warm load('user/repo'): {warm_requests or 'none'}; "
        "with revision=<commit sha>: none (huggingface_hub's tree cache)"
    )


if __name__ == "__main__":
    main()
