"""The regimes of ``bench_quality.py`` (issue 15 item 5, and a held-out check): what each runs, its table, its targets.

Every regime lists the (data set, model) pairs it needs (:func:`needs`) and
turns the finished rows into a Markdown section and PASS/FAIL checks
(:func:`report`). Rows are shared: regimes (a) and (b) both use gmm_hub's
standardised run of the suite, which runs once.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
from _quality_models import BRF, GMM, LOGISTIC, NAIVE, ORIGINAL, PIPE, RAW, SUITE_BASELINES
from _synthetic import versus

from gmm_hub.evaluation import format_table

METRICS = ("balanced_accuracy", "f1_macro")
SHORT = {"balanced_accuracy": "BA", "f1_macro": "F1"}
TITLES = {
    "a": "(a) the suite, standardised",
    "b": "(b) the suite fed raw to GMMClassifier()",
    "c": "(c) correlated synthetic fraud-shaped data",
    "d": "(d) Adult through tabular_pipeline()",
    "e": "(e) breast cancer",
    "f": "(f) outside the suite: the binary sets with imbalance ratio below 9",
    "g": "(g) shapes no default was chosen on: generated and shipped multi-class sets",
}
TARGET_A = {"balanced_accuracy": 0.852, "f1_macro": 0.77}
TARGET_B, TARGET_D, TARGET_E = 0.005, 0.823, 0.96
TARGET_C = {"loglik_rel": 0.01, "f1_drop": 0.01}


def needs(
    regime: str, suite: list[str], adult: str | None, sizes: list[int], outside: list[str], unseen: list[str] = ()
) -> list[tuple[str, str]]:
    """The (data set, model) pairs a regime's table is made of."""
    if regime in ("a", "f"):
        return [(d, m) for d in (suite if regime == "a" else outside) for m in (GMM, *SUITE_BASELINES)]
    if regime == "g":
        return [(d, m) for d in unseen for m in (GMM, NAIVE, *SUITE_BASELINES)]
    if regime == "b":
        return [(d, m) for d in suite for m in (RAW, GMM, ORIGINAL)]
    if regime == "c":
        return [(f"correlated:{n}", m) for n in sizes for m in (NAIVE, GMM, ORIGINAL)]
    if regime == "d":
        return [(adult, m) for m in (PIPE, *SUITE_BASELINES)] if adult else []
    return [("breast_cancer", m) for m in (GMM, *SUITE_BASELINES)]


def ok(row: dict | None) -> bool:
    return row is not None and row.get("status") == "ok"


class Checks(list):
    """PASS/FAIL rows: ``check(name, value, bar)`` means value >= bar (NaN fails)."""

    def __init__(self, regime: str) -> None:
        super().__init__()
        self.regime = regime

    def check(self, name: str, value: float, bar: float, *, at_most: bool = False) -> None:
        passed = not math.isnan(value) and (value <= bar if at_most else value >= bar)
        self.append({"regime": self.regime, "target": name, "value": value, "bar": bar, "pass": passed})

    def never_lose(self, ours: dict | None, original: dict | None, label: str = "") -> None:
        for m in METRICS:
            value = ours[m] if ok(ours) else math.nan
            bar = original[m] if ok(original) else -math.inf  # a failed original is beaten by any run
            self.check(f"{label}{SHORT[m]} >= original design", value, bar)


def paired(table: dict, datasets: list[str], ours: str, other: str, metric: str) -> tuple[float, float, int]:
    """Means of ``metric`` for two models over the data sets where both ran."""
    both = [d for d in datasets if ok(table.get((d, ours))) and ok(table.get((d, other)))]
    if not both:
        return math.nan, math.nan, 0
    return (
        float(np.mean([table[d, ours][metric] for d in both])),
        float(np.mean([table[d, other][metric] for d in both])),
        len(both),
    )


def suite_summary(table: dict, datasets: list[str], models: list[str]) -> list[dict]:
    summary = []
    for model in models:
        ran = [d for d in datasets if ok(table.get((d, model)))]
        entry: dict[str, Any] = {"model": model, "n_datasets": len(ran)}
        entry["failed"] = sum((d, model) in table and not ok(table[d, model]) for d in datasets)
        entry["not run"] = sum((d, model) not in table for d in datasets)
        cached = [table[d, model].get("cached", False) for d in datasets if (d, model) in table]
        entry["source"] = "cache" if cached and all(cached) else "run" if not any(cached) else "run+cache"
        for m in METRICS:
            entry[m] = float(np.mean([table[d, model][m] for d in ran])) if ran else math.nan
            if model != GMM:
                g, o, _ = paired(table, datasets, GMM, model, m)
                entry[f"gmm_hub {SHORT[m]} same sets"], entry[f"{SHORT[m]} same sets"] = g, o
        if model != GMM:
            for m in METRICS:
                d = [table[s, GMM][m] - table[s, model][m] for s in ran if ok(table.get((s, GMM)))]
                entry[f"gmm_hub wins/losses {SHORT[m]}"] = f"{sum(x > 1e-12 for x in d)} / {sum(x < -1e-12 for x in d)}"
        summary.append(entry)
    return summary


def report_a(table: dict, suite: list[str], regime: str = "a") -> tuple[list[str], Checks, dict]:
    """Regime (a), or (f) and (g) on other sets (no absolute targets: only the baselines; (g) adds the naive grid)."""
    candidates = (GMM, NAIVE, *SUITE_BASELINES) if regime == "g" else (GMM, *SUITE_BASELINES)
    models = [m for m in candidates if any((d, m) in table for d in suite)]
    summary = suite_summary(table, suite, models)
    checks = Checks(regime)
    ours = next((e for e in summary if e["model"] == GMM), None)
    for m in METRICS if regime == "a" else ():
        checks.check(f"mean {SHORT[m]} >= {TARGET_A[m]}", ours[m] if ours else math.nan, TARGET_A[m])
    others = [(LOGISTIC, "class-balanced logistic regression"), (ORIGINAL, "original design")]
    for other, label in others + ([(NAIVE, "naive per-class BIC grid")] if regime == "g" else []):
        for m in METRICS:
            g, o, n = paired(table, suite, GMM, other, m)
            checks.check(f"mean {SHORT[m]} >= {label} ({n} sets)", g, o)
    g, o, n = paired(table, suite, GMM, BRF, "balanced_accuracy")
    checks.check(f"stretch: mean BA >= balanced random forest ({n} sets)", g, o)

    detail, losses = [], []
    for d in suite:
        row: dict[str, Any] = {"dataset": d}
        for model in models:
            r = table.get((d, model))
            row[model] = f"{r['balanced_accuracy']:.3f} / {r['f1_macro']:.3f}" if ok(r) else "failed" if r else ""
        others = [(table[d, m]["balanced_accuracy"], m) for m in models if m != GMM and ok(table.get((d, m)))]
        if ok(table.get((d, GMM))) and others:
            best, who = max(others)
            gap = table[d, GMM]["balanced_accuracy"] - best
            row["gmm_hub - best (BA)"] = f"{gap:+.3f} ({who})"
            if gap < 0:
                losses.append((gap, row))
        detail.append(row)
    failures = Counter(m for (d, m), r in table.items() if d in suite and m in models and not ok(r))
    if not summary:
        return ["no results"], checks, {}
    cols = ["model", "source", "n_datasets", "failed", "not run", *METRICS]
    cols += [c for c in summary[-1] if c not in cols]
    lines = [
        format_table(summary, cols),
        "",
        f"Where gmm_hub loses to the best other model (BA): {len(losses)} of {len(suite)} sets; worst ten:",
        "",
        format_table([r for _, r in sorted(losses, key=lambda x: x[0])[:10]], ["dataset", "gmm_hub - best (BA)"]),
        "",
        "Failed runs (sets): " + (", ".join(f"{m} {n}" for m, n in failures.items()) or "none"),
        "",
        "<details><summary>Per data set (BA / F1-macro)</summary>",
        "",
        format_table(detail, ["dataset", *models, "gmm_hub - best (BA)"]),
        "",
        "</details>",
    ]
    return lines, checks, {"summary": summary, "per_dataset": detail}


def report_b(table: dict, suite: list[str]) -> tuple[list[str], Checks, dict]:
    checks = Checks("b")
    labels = {GMM: "gmm_hub, standardised (as in a)", RAW: "gmm_hub, raw", ORIGINAL: "original design (as in a)"}
    # a model left out of the run (--models) is left out of the table, not allowed to empty it
    labels = {m: label for m, label in labels.items() if m != ORIGINAL or any(ok(table.get((d, m))) for d in suite)}
    common = [d for d in suite if all(ok(table.get((d, m))) for m in labels)]
    rows = [
        {"model": label, "n_sets": len(common)}
        | {m: float(np.mean([table[d, model][m] for d in common])) if common else math.nan for m in METRICS}
        for model, label in labels.items()
    ]
    rows.append({"model": "raw - standardised"} | {m: rows[1][m] - rows[0][m] for m in METRICS})
    for m in METRICS:
        raw, std, n = paired(table, suite, RAW, GMM, m)
        checks.check(
            f"|mean {SHORT[m]} raw - standardised| <= {TARGET_B} ({n} sets)", abs(raw - std), TARGET_B, at_most=True
        )
    for m in METRICS:
        raw, orig, n = paired(table, suite, RAW, ORIGINAL, m)
        checks.check(f"raw mean {SHORT[m]} >= original design ({n} sets)", raw, orig)
    moved = sorted(
        (
            (table[d, RAW]["balanced_accuracy"] - table[d, GMM]["balanced_accuracy"], d)
            for d in suite
            if ok(table.get((d, RAW))) and ok(table.get((d, GMM)))
        ),
        key=lambda x: -abs(x[0]),
    )
    lines = [
        format_table(rows, ["model", "n_sets", *METRICS]),
        "",
        "Largest per-set changes of BA, raw minus standardised: "
        + (", ".join(f"{d} {x:+.3f}" for x, d in moved[:8] if abs(x) > 1e-12) or "none"),
    ]
    return lines, checks, {"rows": rows}


def report_c(table: dict, sizes: list[int]) -> tuple[list[str], Checks, dict]:
    checks = Checks("c")
    rows = []
    for n in sizes:
        name = f"correlated:{n}"
        ref = table.get((name, NAIVE))
        for model in (NAIVE, GMM, ORIGINAL):
            r = table.get((name, model))
            if r is None:
                continue
            row: dict[str, Any] = {"rows": f"{n:,}", "model": model, "source": "cache" if r.get("cached") else "run"}
            if ok(r):
                row.update({"fit s": r["seconds"], "F1-macro": r["f1_macro"], "BA": r["balanced_accuracy"]})
                row["log-lik c0 / c1"] = " / ".join(f"{v:.3f}" for v in r["loglik"])
                row["components"] = ", ".join(r.get("config", []))
                if ok(ref) and model != NAIVE:
                    diff = versus(ref, r)
                    worse = diff["loglik_worse"]
                    row["log-lik worse c0 / c1 (nats)"] = " / ".join(f"{g:+.3f}" for g in diff["loglik_gap"])
                    row["log-lik worse c0 / c1 (rel.)"] = " / ".join(f"{100 * w:+.2f}%" for w in worse)
                    row["F1 drop"] = ref["f1_macro"] - r["f1_macro"]
                    if model == GMM:
                        rel, drop = TARGET_C["loglik_rel"], TARGET_C["f1_drop"]
                        checks.check(
                            f"{n:,} rows: log-lik within 1% of naive (worst class)", max(worse), rel, at_most=True
                        )
                        checks.check(f"{n:,} rows: F1 drop vs naive <= {drop}", row["F1 drop"], drop, at_most=True)
            else:
                row["components"] = r["status"]
            rows.append(row)
        checks.never_lose(table.get((name, GMM)), table.get((name, ORIGINAL)), f"{n:,} rows: ")
    cols = ["rows", "model", "source", "fit s", "F1-macro", "F1 drop", "BA", "log-lik c0 / c1"]
    cols += ["log-lik worse c0 / c1 (nats)", "log-lik worse c0 / c1 (rel.)", "components"]
    return [format_table(rows, cols)], checks, {"rows": rows}


def report_one(regime: str, table: dict, dataset: str | None, ours: str, bar: float) -> tuple[list[str], Checks, dict]:
    """Regimes (d) and (e): one data set, gmm_hub against every baseline."""
    checks = Checks(regime)
    if dataset is None:
        return ["skipped: the Adult file is absent (set GMM_HUB_SHARED_DATA)"], checks, {}
    rows = []
    for model in (ours, *SUITE_BASELINES):
        r = table.get((dataset, model))
        if r is not None:
            rows.append({"model": model, "source": "cache" if r.get("cached") else "run", **r})
    r = table.get((dataset, ours))
    checks.check(f"{ours} BA >= {bar}", r["balanced_accuracy"] if ok(r) else math.nan, bar)
    checks.never_lose(r, table.get((dataset, ORIGINAL)))
    cols = ["model", "source", "folds", *METRICS, "balanced_accuracy_std", "seconds", "status"]
    return [format_table(rows, cols)], checks, {"rows": rows}


def report(
    regime: str,
    table: dict,
    suite: list[str],
    adult: str | None,
    sizes: list[int],
    outside: list[str],
    unseen: list[str] = (),
):
    """Markdown lines, checks and JSON summary of one regime."""
    if regime == "a":
        return report_a(table, suite)
    if regime in ("f", "g"):
        return report_a(table, outside if regime == "f" else unseen, regime)
    if regime == "b":
        return report_b(table, suite)
    if regime == "c":
        return report_c(table, sizes)
    if regime == "d":
        return report_one("d", table, adult, PIPE, TARGET_D)
    return report_one("e", table, "breast_cancer", GMM, TARGET_E)
