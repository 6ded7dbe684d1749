"""One real card per regime, read for what it states: nothing false, nothing missing.

Each regime trains a model, evaluates it on a held-out split, saves the bundle
and writes its card exactly as ``gmm-hub train`` does; the tests then check
the statements against the model, run the widget rows and the skops call, and
validate the metadata with huggingface_hub's own helpers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

import gmm_hub
from gmm_hub.card._plots import confusion_layout
from gmm_hub.card._render import write_card
from gmm_hub.evaluation import evaluate_model

RND_SEED = 0


def _train(X, y, path: Path, *, dataset=None, **params) -> tuple[Path, object, pd.DataFrame, pd.Series]:
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=RND_SEED)
    model = gmm_hub.tabular_pipeline(random_state=RND_SEED, **params).fit(X_train, y_train)
    metrics = evaluate_model(model, X_test, y_test, n_resamples=200)
    metrics["split"] = "test"
    metrics["split_description"] = f"stratified hold-out of {len(y_test)} rows"
    bundle = gmm_hub.save(model, path, metrics=metrics, dataset=dataset)
    write_card(bundle)
    return bundle, model, X_test, y_test


def _text(bundle: Path) -> str:
    return (bundle / "README.md").read_text(encoding="utf-8")


def _config(bundle: Path) -> dict:
    return json.loads((bundle / "config.json").read_text(encoding="utf-8"))


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"no '## {heading}' section"
    return match.group(1)


def _info(X, y, name: str, hub_id: str | None = None) -> dict:
    counts = pd.Series(y).value_counts().sort_index()
    return {
        "name": name,
        "source": "synthetic (tests)",
        "hub_id": hub_id,
        "n_rows": len(X),
        "n_features": X.shape[1],
        "class_counts": {str(k): int(v) for k, v in counts.items()},
        "imbalance_ratio": float(counts.max() / counts.min()),
        "fingerprint": None,
        "citation": None,
    }


def _check_common(bundle: Path, X_test: pd.DataFrame) -> dict:
    """What every card must satisfy; returns the parsed metadata."""
    from huggingface_hub import ModelCard, metadata_eval_result
    from huggingface_hub.repocard_data import model_index_to_eval_results
    from huggingface_hub.utils import validate_repo_id
    from markdown_it import MarkdownIt

    text = _text(bundle)
    config = _config(bundle)
    metrics = config["metrics"]
    card = ModelCard(text)
    meta = card.data.to_dict()
    assert "{{" not in text and "{%" not in text
    # tags never repeat library_name or pipeline_tag
    assert not {meta["library_name"], meta["pipeline_tag"]} & set(meta.get("tags") or [])
    # model-index: only with a valid Hub dataset id, a split name, and a lossless round trip
    for result in card.data.eval_results or []:
        validate_repo_id(result.dataset_type)
        assert result.dataset_split in ("test", "validation")
        key = {"f1": "f1_macro", "recall": "balanced_accuracy"}.get(result.metric_type, result.metric_type)
        key = "mcc" if key == "matthews_correlation" else key
        assert result.metric_value == metrics[key]
        rebuilt = metadata_eval_result(
            model_pretty_name=meta["model-index"][0]["name"],
            task_pretty_name=None,
            task_id=result.task_type,
            metrics_pretty_name=result.metric_name,
            metrics_id=result.metric_type,
            metrics_value=result.metric_value,
            metrics_config=result.metric_config,
            dataset_pretty_name=result.dataset_name,
            dataset_id=result.dataset_type,
            dataset_split=result.dataset_split,
        )
        _, (same,) = model_index_to_eval_results(rebuilt["model-index"])
        assert same == result
    if not config["dataset"] or not config["dataset"].get("hub_id"):
        assert "model-index" not in meta
    # the widget's rows are real held-out rows and predict through gmm_hub.load
    rows = pd.DataFrame(card.data.widget[0]["structuredData"])
    assert len(rows) >= 2
    predictor = gmm_hub.load(bundle)
    assert len(predictor.predict(rows)) == len(rows)
    merged = rows.merge(
        X_test.astype({c: object for c in X_test.columns if X_test[c].dtype == object}), how="left", indicator=True
    )
    assert (merged["_merge"] == "both").all(), "widget rows are not rows of the test split"
    # the headline numbers appear once, with their interval
    f1 = f"{metrics['f1_macro']:.4f}"
    body = text.split("\n---\n", 1)[1]
    assert body.count(f"**{f1}**") == 1
    low, high = metrics["intervals"]["f1_macro"]
    assert f"{low:.2f}–{high:.2f}" in body
    # per-class test counts and Wilson intervals
    for row in metrics["per_class"]:
        if row["recall_ci"]:
            low, high = row["recall_ci"]
            assert f"| {row['label']} | {row['support']} | {row['recall']:.2f} ({low:.2f}–{high:.2f}) |" in body
    # rendered as the Hub would: the diagram stays inside its <details>, nothing leaks as code
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(body)
    start = html.index("<summary>Pipeline diagram</summary>")
    assert "sk-container" in html[start : html.index("</details>\n", start)]
    assert "<pre><code>" not in html.replace('<pre><code class="language-python">', "").replace(
        '<pre><code class="language-bash">', ""
    )
    assert "<table>" in html
    # the environment names scikit-learn; runtime settings are not hyper-parameters
    assert "| scikit-learn |" in body and "| n_jobs |" not in body and "| verbose |" not in body
    return meta


def _run_skops_call(bundle: Path) -> None:
    """Run the card's plain skops call, with the local file in place of the download."""
    text = _text(bundle)
    (skops_block,) = [b for b in re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S) if "skops.io" in b]
    code = skops_block.replace('hf_hub_download("user/repo", "model.skops")', repr(str(bundle / "model.skops")))
    namespace: dict = {}
    exec(compile(code, "card_skops_call", "exec"), namespace)
    X = pd.DataFrame(_config(bundle)["sklearn"]["example_input"])
    assert (namespace["model"].predict(X) == gmm_hub.load(bundle).predict(X)).all()


# ----------------------------------------------------------------------------- regimes


def test_card_binary_balanced(tmp_path):
    rng = np.random.default_rng(RND_SEED)
    y = np.repeat(["no", "yes"], 120)
    X = pd.DataFrame({"a": rng.normal(size=240) + (y == "yes"), "b": rng.normal(size=240) - (y == "yes")})
    bundle, _, X_test, _ = _train(X, y, tmp_path / "b", dataset=_info(X, y, "balanced"))
    meta = _check_common(bundle, X_test)
    text = _text(bundle)
    assert "imbalanced-classification" not in meta["tags"]
    assert "He and Garcia" not in text and "majority/minority ratio of" not in text
    assert (
        "The threshold is the untuned default: class `yes` is predicted when its posterior probability exceeds **0.5**"
        in text
    )
    assert "tuned to maximise" not in text and "at least" not in text
    assert "Every class gets the same prior" in text
    assert "Missing values (NaN or None) are accepted in every column" in text
    assert "No input column is named like a sensitive attribute" in text
    _run_skops_call(bundle)


def test_card_binary_imbalanced_tiny_test_minority(tmp_path):
    rng = np.random.default_rng(RND_SEED)
    y = np.array([0] * 380 + [1] * 20)
    X = pd.DataFrame({"x1": rng.normal(size=400) + 2.5 * y, "x2": rng.normal(size=400)})
    bundle, _, X_test, y_test = _train(X, y, tmp_path / "i", dataset=_info(X, y, "keel:synthetic"))
    meta = _check_common(bundle, X_test)
    text = _text(bundle)
    metrics = _config(bundle)["metrics"]
    minority = metrics["per_class"][1]
    assert minority["support"] == int((y_test == 1).sum()) == 5
    assert "imbalanced-classification" in meta["tags"]
    assert "The smallest class, `1`, has 5 test rows" in text
    assert "has 15 training rows and 5 test rows" in text and "majority/minority ratio of 19.0:1" in text
    assert "He, H. and Garcia" in _section(text, "Citations")
    assert "`1` is the minority (positive) class" in text  # KEEL labels explained
    low, high = minority["recall_ci"]
    assert high - low > 0.3  # 5 rows cannot pin recall down, and the card shows it


def test_card_multiclass_14_classes(tmp_path):
    rng = np.random.default_rng(RND_SEED)
    n_classes = 14
    y = np.repeat([f"c{i:02d}" for i in range(n_classes)], 24)
    centres = rng.normal(scale=3, size=(n_classes, 3))
    X = pd.DataFrame(centres[np.arange(len(y)) // 24] + rng.normal(size=(len(y), 3)), columns=["u", "v", "w"])
    bundle, _, X_test, _ = _train(X, y, tmp_path / "m", dataset=_info(X, y, "fourteen"), max_components=2)
    _check_common(bundle, X_test)
    text = _text(bundle)
    assert "The class with the highest posterior probability is predicted (no threshold)." in text
    model_text = _section(text, "Model")
    assert "threshold" not in model_text.split("<details>")[0].replace("(no threshold)", "")
    assert "| threshold |" not in model_text and "| cv |" not in model_text  # binary-only settings
    assert not (bundle / "precision_recall.png").exists() and "PR-AUC" not in text
    from matplotlib.image import imread

    image = imread(bundle / "confusion_matrix.png")
    layout = confusion_layout(n_classes)
    assert image.shape[1] == round(layout["size"][0] * 150)  # 150 dpi
    # shown at the card's ~700 px column, the cell and tick text stay >= 9 px tall
    scale = min(1.0, 700 / image.shape[1])
    assert layout["cell_fontsize"] * 150 / 72 * scale >= 9 and layout["tick_fontsize"] * 150 / 72 * scale >= 9


def test_card_tuned_threshold(tmp_path):
    rng = np.random.default_rng(RND_SEED)
    y = np.array(["legit"] * 200 + ["fraud"] * 60)
    X = pd.DataFrame({"amount": rng.normal(size=260) + 1.2 * (y == "fraud"), "hour": rng.normal(size=260)})
    bundle, model, X_test, _ = _train(X, y, tmp_path / "t", dataset=_info(X, y, "tuned"), threshold="f1_macro", cv=3)
    _check_common(bundle, X_test)
    text = _text(bundle)
    threshold = model[-1].threshold_
    pos = model[-1].classes_[1]
    assert (
        f"The threshold was tuned to maximise F1-macro on 3-fold out-of-fold scores of the training rows: "
        f"class `{pos}` is predicted when its posterior probability exceeds **{threshold:.4g}**" in text
    )
    assert "untuned default" not in text and "fixed by hand" not in text


def _sensitive_frame(n: int = 600) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(RND_SEED)
    y = (rng.random(n) < 0.25).astype(int)
    X = pd.DataFrame(
        {
            "Age": rng.integers(18, 80, n),
            "Sex": rng.choice(["Female", "Male"], n),
            "marital_status": rng.choice(["Married", "Never-married", "Divorced"], n),
            "income": rng.normal(size=n) + 1.5 * y,
        }
    )
    return X, y


def _check_sensitive(bundle: Path, X_test: pd.DataFrame, expected: list[str]) -> None:
    text = _text(bundle)
    groups = _config(bundle)["metrics"]["sensitive"]["columns"]
    assert list(groups) == expected
    for column, entry in groups.items():
        assert sum(g["n"] for g in entry["groups"]) == len(X_test), column
        for group in entry["groups"]:
            assert f"| {column} | {group['group']} | {group['n']} |" in text
    limits = _section(text, "Bias, risks and limitations")
    assert all(f"`{c}`" in limits for c in expected[:6])
    policy = _section(text, "Inputs")
    assert "a category not seen in training is accepted with a warning" in policy


def test_card_categorical_and_sensitive_synthetic(tmp_path):
    from gmm_hub.data import Dataset

    X, y = _sensitive_frame()
    ds = Dataset(name="csv:people.csv", X=X, y=pd.Series(y), source="synthetic (tests)")  # dtypes recorded
    bundle, _, X_test, _ = _train(X, y, tmp_path / "s", dataset=ds, max_components=2)
    meta = _check_common(bundle, X_test)
    _check_sensitive(bundle, X_test, ["Age", "Sex", "marital_status"])
    text = _text(bundle)
    assert "model-index" not in meta and "datasets" not in meta
    assert text.lstrip("-").split("\n# ", 1)[1].startswith("gmm-hub-people-csv")
    assert "hold integers: a float with a fractional part there is an error" in text  # Age is int64
    assert "target encoded" in _section(text, "Model")
    # the behaviour the card states, on what the Predictor does today
    predictor = gmm_hub.load(bundle)
    with pytest.warns(UserWarning, match="dropping 1 input column"):
        predictor.predict(X_test.assign(extra=1))
    from gmm_hub.exceptions import SchemaError

    with pytest.raises(SchemaError, match="missing"):
        predictor.predict(X_test.drop(columns="Sex"))


def test_card_adult(tmp_path, adult_file):
    ds = gmm_hub.load_dataset(f"csv:{adult_file}", target="Salary")
    X, _, y, _ = train_test_split(ds.X, ds.y, train_size=2400, stratify=ds.y, random_state=RND_SEED)
    bundle, _, X_test, _ = _train(
        X.reset_index(drop=True),
        y.reset_index(drop=True),
        tmp_path / "adult",
        dataset=ds,
        max_components=2,
        covariance_type="diag",
    )
    meta = _check_common(bundle, X_test)
    assert "model-index" not in meta  # csv:adult.data is not a Hub dataset id
    _check_sensitive(bundle, X_test, ["age", "marital-status", "race", "sex", "native-country"])


def test_card_regenerated_by_cli_from_the_bundle_alone(tmp_path, capsys):
    from gmm_hub.cli import main

    X, y = _sensitive_frame(300)
    bundle, _, _, _ = _train(X, y, tmp_path / "r", dataset=_info(X, y, "people"), max_components=2)
    first = {
        name: (bundle / name).read_bytes() for name in ("README.md", "confusion_matrix.png", "precision_recall.png")
    }
    for name in first:
        (bundle / name).unlink()
    main(["card", str(bundle)])
    assert "Wrote" in capsys.readouterr().out
    assert {name: (bundle / name).read_bytes() for name in first} == first
    gmm_hub.load(bundle)  # hashes still match


def test_card_of_a_bundle_written_by_gmm_hub_0_1_states_nothing_it_lacks():
    from gmm_hub.card._render import render_card

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "gmm_bundle" / "config.json"
    text = render_card(json.loads(fixture.read_text(encoding="utf-8")))
    for absent in ["95% CI", "model-index", "widget", "skops.io.load", "Pipeline diagram", "imbalanced-classification"]:
        assert absent not in text
    assert "The threshold is the untuned default" in text
    assert "| n_jobs |" not in text
