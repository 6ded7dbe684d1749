"""Tests of ``gmm-hub train`` and ``gmm-hub benchmark`` (gmm_hub.cli._train)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

import gmm_hub
from gmm_hub.cli import main
from gmm_hub.cli._train import DEFAULT_BENCHMARK
from gmm_hub.data import load_dataset
from gmm_hub.evaluation import evaluate

OFFLINE_PREFIXES = ("keel:", "csv:", "parquet:")


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit status, stdout, stderr)."""
    try:
        main(argv)
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def parse_table(text: str) -> dict[str, list[str]]:
    """Rows of a Markdown table in ``text``, keyed by their first cell."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def assert_one_line_error(status: int, out: str, err: str, match: str) -> None:
    assert status == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gmm-hub: error: ")
    assert match in lines[0]


# ---------------------------------------------------------------------- train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``gmm-hub train breast_cancer`` once for the module: (bundle dir, stdout)."""
    out_dir = tmp_path_factory.mktemp("train") / "bundle"
    capture = pytest.MonkeyPatch()
    try:
        import io
        import sys

        buffer = io.StringIO()
        capture.setattr(sys, "stdout", buffer)
        with threadpool_limits(1):
            main(["train", "breast_cancer", "--out", str(out_dir)])
    finally:
        capture.undo()
    return out_dir, buffer.getvalue()


def test_train_writes_loadable_bundle(trained):
    out_dir, stdout = trained
    names = {p.name for p in out_dir.iterdir()}
    assert {"model.skops", "config.json", "README.md"} <= names
    predictor = gmm_hub.load(out_dir)
    np.testing.assert_array_equal(predictor.classes_, ["benign", "malignant"])
    assert f"bundle written to {out_dir}" in stdout


def test_train_printed_table_matches_config_metrics(trained):
    out_dir, stdout = trained
    metrics = json.loads((out_dir / "config.json").read_text())["metrics"]
    table = parse_table(stdout)
    assert metrics["baselines"]  # the card compares against the baselines
    # a baseline that could not be fitted (QDA, in scikit-learn >= 1.8) is shown with its status
    failed = any("status" in values for values in metrics["baselines"].values())
    blank = [""] if failed else []
    assert table["model"] == ["balanced_accuracy", "f1_macro", *(["status"] if failed else [])]
    assert table["gmm_hub"] == [f"{metrics['balanced_accuracy']:.4f}", f"{metrics['f1_macro']:.4f}", *blank]
    for name, values in metrics["baselines"].items():
        if "status" in values:
            assert table[name] == ["", "", values["status"]]
        else:
            assert table[name] == [f"{values['balanced_accuracy']:.4f}", f"{values['f1_macro']:.4f}", *blank]
    assert set(table) == {"model", "gmm_hub", *metrics["baselines"]}


def test_train_metrics_describe_the_bundled_model_on_held_out_rows(trained):
    out_dir, _ = trained
    config = json.loads((out_dir / "config.json").read_text())
    ds = load_dataset("breast_cancer")
    _, X_test, _, y_test = train_test_split(ds.X, ds.y, test_size=0.25, stratify=ds.y, random_state=0)
    predictor = gmm_hub.load(out_dir)
    again = evaluate(y_test, predictor.predict(X_test))
    assert config["metrics"]["n_samples"] == len(y_test) == 143
    assert again["balanced_accuracy"] == pytest.approx(config["metrics"]["balanced_accuracy"])
    assert again["confusion_matrix"] == config["metrics"]["confusion_matrix"]
    assert config["dataset"]["name"] == "breast_cancer"


def test_train_unknown_dataset_is_one_line_error(tmp_path, capsys):
    status, out, err = run(["train", "no_such_dataset", "--out", str(tmp_path / "b")], capsys)
    assert_one_line_error(status, out, err, "unknown data set 'no_such_dataset'")
    assert not (tmp_path / "b").exists()


def test_train_bad_test_size_is_usage_error(tmp_path, capsys):
    status, out, err = run(["train", "breast_cancer", "--out", str(tmp_path / "b"), "--test-size", "2"], capsys)
    assert_one_line_error(status, out, err, "--test-size")


def test_train_missing_csv_is_one_line_error(tmp_path, capsys):
    status, out, err = run(["train", f"csv:{tmp_path / 'nope.csv'}", "--out", str(tmp_path / "b")], capsys)
    assert_one_line_error(status, out, err, "file not found")


# ------------------------------------------------------------------ benchmark


def test_benchmark_writes_results_json_and_md(tmp_path, capsys):
    out_dir = tmp_path / "bench"
    argv = [
        "benchmark",
        "breast_cancer",
        "--folds",
        "2",
        "--models",
        "gmm_hub,GaussianNB",
        "--out",
        str(out_dir),
        "--n-jobs",
        "1",
    ]
    status, out, _ = run(argv, capsys)
    assert status == 0
    results = json.loads((out_dir / "results.json").read_text())
    rows = results["rows"]
    assert [(r["dataset"], r["model"], r["status"]) for r in rows] == [
        ("breast_cancer", "gmm_hub", "ok"),
        ("breast_cancer", "GaussianNB", "ok"),
    ]
    assert all(0 <= r["balanced_accuracy"] <= 1 and 0 <= r["f1_macro"] <= 1 for r in rows)
    assert {s["model"]: s["n_datasets"] for s in results["summary"]} == {"gmm_hub": 1, "GaussianNB": 1}
    markdown = (out_dir / "results.md").read_text()
    for r in rows:
        assert f"| breast_cancer | {r['model']} | {r['balanced_accuracy']:.4f} | {r['f1_macro']:.4f} | ok |" in markdown
        assert f"| breast_cancer | {r['model']} | {r['balanced_accuracy']:.4f}" in out
    assert not list(out_dir.glob(".results*"))  # no temporary files left behind


def test_benchmark_unknown_model_is_one_line_error(tmp_path, capsys):
    argv = ["benchmark", "breast_cancer", "--models", "gmm_hub,xgboost", "--out", str(tmp_path)]
    status, out, err = run(argv, capsys)
    assert_one_line_error(status, out, err, "xgboost")


def test_benchmark_one_fold_is_usage_error(tmp_path, capsys):
    status, out, err = run(["benchmark", "breast_cancer", "--folds", "1", "--out", str(tmp_path)], capsys)
    assert_one_line_error(status, out, err, "--folds")


def test_benchmark_default_datasets_are_offline(tmp_path, capsys, monkeypatch):
    import gmm_hub.evaluation._benchmark as benchmark_module

    seen = {}

    def fake_run_benchmark(datasets, **kwargs):
        seen["datasets"] = list(datasets)
        return []

    monkeypatch.setattr(benchmark_module, "run_benchmark", fake_run_benchmark)
    status, _, _ = run(["benchmark", "--out", str(tmp_path)], capsys)
    assert status == 0
    assert seen["datasets"] == list(DEFAULT_BENCHMARK)
    for name in seen["datasets"]:
        assert name == "breast_cancer" or name.startswith(OFFLINE_PREFIXES), name
        assert load_dataset(name).X.shape[0] > 0  # loads without a network
