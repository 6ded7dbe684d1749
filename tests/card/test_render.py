"""Tests of gmm_hub.card._render: the model card (README.md) rendered from a bundle alone."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

import gmm_hub
from gmm_hub.card._metadata import card_tags
from gmm_hub.card._render import default_template_path, render_card, write_card
from gmm_hub.evaluation import evaluate_model
from gmm_hub.exceptions import BundleError, InvalidInputError

ROOT = Path(__file__).resolve().parents[2]
RND_SEED = 0
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
HUB_METRIC = {
    "f1": "f1_macro",
    "recall": "balanced_accuracy",
    "average_precision": "average_precision",
    "matthews_correlation": "mcc",
}


def _fit_and_save(X, y, path: Path, *, dataset, with_metrics=True, baselines=None, fmt="skops") -> Path:
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=RND_SEED)
    model = gmm_hub.tabular_pipeline(n_components=1, covariance_type="diag", random_state=RND_SEED)
    model.fit(X_train, y_train)
    metrics = None
    if with_metrics:
        metrics = evaluate_model(model, X_test, y_test)
        metrics["split"] = "test"
        metrics["split_description"] = "25% stratified hold-out"
        if baselines:
            metrics["baselines"] = baselines
    return gmm_hub.save(model, path, metrics=metrics, dataset=dataset, format=fmt)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Real bundles made by gmm_hub.save (cards not yet written); copy before changing one."""
    root = tmp_path_factory.mktemp("bundles")
    data = gmm_hub.load_dataset("breast_cancer")
    baselines = {"logistic_regression": {"balanced_accuracy": 0.95, "f1_macro": 0.951, "mcc": 0.9}}
    iris = load_iris(as_frame=True)
    iris_y = iris.target.map(dict(enumerate(iris.target_names)))
    iris_info = {
        "name": "iris",
        "source": "sklearn.datasets.load_iris",
        "hub_id": None,
        "n_rows": 150,
        "n_features": 4,
        "class_counts": {str(k): int(v) for k, v in iris_y.value_counts().items()},
        "imbalance_ratio": 1.0,
        "fingerprint": None,
        "citation": None,
    }
    return {
        "binary": _fit_and_save(data.X, data.y, root / "binary", dataset=data, baselines=baselines),
        "joblib": _fit_and_save(data.X, data.y, root / "joblib", dataset=data, fmt="joblib"),
        "multiclass": _fit_and_save(iris.data, iris_y, root / "multiclass", dataset=iris_info),
        "empty": _fit_and_save(data.X, data.y, root / "empty", dataset=None, with_metrics=False),
    }


@pytest.fixture
def bundle_copy(bundles, tmp_path):
    """Return a function copying one of the module bundles into this test's tmp_path."""

    def copy(kind: str) -> Path:
        return Path(shutil.copytree(bundles[kind], tmp_path / kind))

    return copy


def _config(bundle: Path) -> dict:
    return json.loads((bundle / "config.json").read_text(encoding="utf-8"))


def _section(text: str, heading: str) -> str:
    """Markdown between ``## heading`` and the next level-2 heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"no '## {heading}' section"
    return match.group(1)


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


# ----------------------------------------------------------------------------- metadata


def test_write_card_metadata_keys_and_types(bundle_copy):
    from huggingface_hub import ModelCard

    bundle = bundle_copy("binary")
    card = ModelCard.load(write_card(bundle))
    meta = card.data.to_dict()
    assert meta["library_name"] == "gmm_hub"
    assert meta["license"] == "mit"
    assert meta["pipeline_tag"] == "tabular-classification"
    assert meta["tags"] == card_tags(_config(bundle)) == ["gaussian-mixture", "sklearn", "skops"]  # ratio 1.7
    assert not {"gmm_hub", "tabular-classification"} & set(meta["tags"])  # library_name, pipeline_tag
    assert meta["datasets"] == ["scikit-learn/breast-cancer-wisconsin"]
    assert meta["metrics"] == ["average_precision", "f1", "matthews_correlation", "recall"]
    assert isinstance(meta["model-index"], list) and meta["model-index"][0]["name"]
    assert all(isinstance(tag, str) for tag in meta["tags"] + meta["metrics"] + meta["datasets"])


def test_write_card_eval_results_round_trip_exactly(bundle_copy):
    from huggingface_hub import ModelCard

    bundle = bundle_copy("binary")
    card = ModelCard.load(write_card(bundle))
    metrics = _config(bundle)["metrics"]
    results = card.data.eval_results
    assert len(results) == 4  # one per (data set, metric): F1-macro, balanced accuracy, PR-AUC, MCC
    for result in results:
        assert result.task_type == "tabular-classification"
        assert result.dataset_type == "scikit-learn/breast-cancer-wisconsin"
        assert result.dataset_name == "breast_cancer"
        assert result.dataset_split == "test"
        assert result.metric_value == metrics[HUB_METRIC[result.metric_type]]  # exact, not approx
    assert {r.metric_type for r in results} == set(HUB_METRIC)


def test_write_card_multiclass_has_no_binary_metrics_or_pr_plot(bundle_copy):
    from huggingface_hub import ModelCard

    bundle = bundle_copy("multiclass")
    readme = write_card(bundle)
    card = ModelCard.load(readme)
    # no Hub id for this data set: model-index needs dataset.type, so there is none
    assert card.data.eval_results is None and "datasets" not in card.data.to_dict()
    assert not (bundle / "precision_recall.png").exists()
    assert IMAGE_LINK.findall(card.text) == ["confusion_matrix.png"]
    assert "MCC" not in card.text and "PR-AUC" not in card.text
    assert "highest posterior probability is predicted (no threshold)" in card.text
    assert set(_config(bundle)["files"]) == {"model.skops", "README.md", "confusion_matrix.png"}


def test_write_card_empty_metrics_still_renders(bundle_copy):
    from huggingface_hub import ModelCard

    bundle = bundle_copy("empty")
    card = ModelCard.load(write_card(bundle))
    meta = card.data.to_dict()
    assert "model-index" not in meta and "metrics" not in meta
    assert card.data.eval_results is None
    assert meta["library_name"] == "gmm_hub" and meta["license"] == "mit"
    assert "No evaluation metrics are stored with this bundle." in card.text
    assert IMAGE_LINK.findall(card.text) == []
    assert sorted(p.name for p in bundle.iterdir()) == ["README.md", "config.json", "model.skops"]


# ----------------------------------------------------------------------------- body


def test_write_card_images_referenced_exist_in_bundle(bundle_copy):
    bundle = bundle_copy("binary")
    text = write_card(bundle).read_text(encoding="utf-8")
    images = IMAGE_LINK.findall(text)
    assert images == ["confusion_matrix.png", "precision_recall.png"]
    files = _config(bundle)["files"]
    for name in images:
        assert (bundle / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert files[name]["size"] == (bundle / name).stat().st_size


def test_write_card_body_sections(bundle_copy):
    bundle = bundle_copy("binary")
    text = write_card(bundle).read_text(encoding="utf-8")
    config = _config(bundle)
    for heading in [
        "How to use",
        "Evaluation",
        "Model",
        "Inputs",
        "Bias, risks and limitations",
        "Training data",
        "Security and environment",
        "Citations",
    ]:
        assert _section(text, heading).strip()
    evaluation = _section(text, "Evaluation")
    for row in config["model"]["per_class"]:
        assert (
            f"| {row['class']} |" in evaluation
            and f"| {row['n_components']} | {row['covariance_type']} |" in evaluation
        )
    assert "| logistic_regression |" in evaluation  # baseline row
    assert "| mean radius | float64 | number | imputed |" in _section(text, "Inputs")
    assert "allowlist" in _section(text, "Security and environment")
    assert "| scikit-learn |" in _section(text, "Security and environment")
    citations = _section(text, "Citations")
    for needle in ["Dempster", "Wilson", "Efron", "Nuclear feature extraction"]:
        assert needle in citations
    # SMOTE is never used; BIC is not (n_components=1 fixed); He & Garcia is not cited at ratio 1.7
    assert "with 1 component(s) and `diag` covariances for every class" in _section(text, "Model")
    for absent in ["Chawla", "SMOTE", "Schwarz", "BIC", "He, H. and Garcia"]:
        assert absent not in text
    assert config["versions"]["sklearn"] in _section(text, "Security and environment")


def test_write_card_warns_about_extreme_imbalance(bundle_copy):
    bundle = bundle_copy("binary")
    config = _config(bundle)
    config["dataset"]["class_counts"] = {"benign": 5000, "malignant": 20}
    config["dataset"]["imbalance_ratio"] = 250.0
    (bundle / "config.json").write_text(json.dumps(config), encoding="utf-8")
    text = write_card(bundle).read_text(encoding="utf-8")
    limits = _section(text, "Bias, risks and limitations")
    assert "majority/minority ratio of 250.0:1" in limits and "He and Garcia, 2009" in limits
    assert "He, H. and Garcia" in _section(text, "Citations")
    from huggingface_hub import ModelCard

    assert "imbalanced-classification" in ModelCard(text).data.tags


def test_write_card_how_to_use_code_runs_on_bundle(bundle_copy):
    bundle = bundle_copy("binary")
    text = write_card(bundle).read_text(encoding="utf-8")
    how_to = _section(text, "How to use")
    assert f'pip install "gmm-hub=={gmm_hub.__version__}"' in how_to
    hub_load, skops_load = _python_blocks(how_to)
    assert 'gmm_hub.load("user/repo")' in hub_load
    assert 'hf_hub_download("user/repo", "model.skops")' in skops_load
    # The one documented substitution: the placeholder repo id becomes the local bundle path
    # (gmm_hub.load takes both). The skops variant runs against the local Hub below.
    namespace: dict = {}
    exec(compile(hub_load.replace('"user/repo"', repr(str(bundle))), "how_to_use_load", "exec"), namespace)
    model = namespace["model"]
    X = namespace["X"]
    assert list(X.columns) == _config(bundle)["sklearn"]["columns"]
    assert set(model.predict(X)) <= {"benign", "malignant"}
    assert np.allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_write_card_how_to_use_joblib_bundle_asks_for_pickle(bundle_copy):
    bundle = bundle_copy("joblib")
    text = write_card(bundle).read_text(encoding="utf-8")
    (hub_load,) = _python_blocks(_section(text, "How to use"))  # no skops call for a pickle
    assert 'gmm_hub.load("user/repo", allow_pickle=True)' in hub_load
    assert "joblib (pickle)" in _section(text, "How to use")
    assert "skops" not in ModelCardTags(text)
    namespace: dict = {}
    exec(hub_load.replace('"user/repo"', repr(str(bundle))), namespace)
    assert len(namespace["model"].predict(namespace["X"])) == len(namespace["X"])


def ModelCardTags(text: str) -> list[str]:
    from huggingface_hub import ModelCard

    return ModelCard(text).data.tags or []


def test_write_card_repo_id_fills_snippets_and_license_is_kept(bundle_copy):
    from huggingface_hub import ModelCard

    bundle = bundle_copy("binary")
    write_card(bundle, license="apache-2.0", repo_id="alice/bc-gmm")
    card = ModelCard.load(bundle / "README.md")
    assert card.data.license == "apache-2.0"
    assert card.data.to_dict()["model-index"][0]["name"] == "bc-gmm"
    how_to = _section(card.text, "How to use")
    assert 'gmm_hub.load("alice/bc-gmm")' in how_to and "user/repo" not in how_to
    write_card(bundle)  # regenerating without --license keeps the card's license
    assert ModelCard.load(bundle / "README.md").data.license == "apache-2.0"


@pytest.mark.parametrize("license", ["", "mit license", "mit\nfoo: bar", 3])
def test_write_card_rejects_bad_license(bundle_copy, license):
    bundle = bundle_copy("empty")
    with pytest.raises(InvalidInputError, match="license identifier"):
        write_card(bundle, license=license)
    assert not (bundle / "README.md").exists()


def test_write_card_rejects_bad_repo_id(bundle_copy):
    bundle = bundle_copy("empty")
    with pytest.raises(InvalidInputError, match="repo id"):
        write_card(bundle, repo_id='a/b"); import os; ("')


def test_write_card_requires_a_bundle(tmp_path):
    with pytest.raises(BundleError, match=r"config.json"):
        write_card(tmp_path)


# ----------------------------------------------------------------------------- bundle integrity


def test_write_card_only_touches_card_entries_and_bundle_still_loads(bundle_copy):
    bundle = bundle_copy("binary")
    before = _config(bundle)
    model_bytes = (bundle / "model.skops").read_bytes()
    write_card(bundle)
    after = _config(bundle)
    assert {k: v for k, v in after.items() if k != "files"} == {k: v for k, v in before.items() if k != "files"}
    assert after["files"]["model.skops"] == before["files"]["model.skops"]
    assert set(after["files"]) == {"model.skops", "README.md", "confusion_matrix.png", "precision_recall.png"}
    assert (bundle / "model.skops").read_bytes() == model_bytes
    gmm_hub.load(bundle)  # verifies every listed file's sha256
    leftovers = [p.name for p in bundle.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_write_card_is_reproducible(bundle_copy):
    bundle = bundle_copy("binary")
    write_card(bundle)
    first = _config(bundle)["files"]
    write_card(bundle)
    assert _config(bundle)["files"] == first


def test_write_card_removes_stale_pr_plot(bundle_copy):
    bundle = bundle_copy("binary")
    write_card(bundle)
    assert (bundle / "precision_recall.png").exists()
    config = _config(bundle)
    del config["metrics"]["precision_recall_curve"]
    (bundle / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    text = write_card(bundle).read_text(encoding="utf-8")
    assert IMAGE_LINK.findall(text) == ["confusion_matrix.png"]
    assert not (bundle / "precision_recall.png").exists()
    assert "precision_recall.png" not in _config(bundle)["files"]
    gmm_hub.load(bundle)


# ----------------------------------------------------------------------------- templates


def test_write_card_custom_template_without_header_gets_metadata(bundle_copy, tmp_path):
    from huggingface_hub import ModelCard

    bundle = bundle_copy("binary")
    template = tmp_path / "mine.md"
    template.write_text(
        "# {{ model_name }} by ACME\n\n{{ load_snippet }}\n{% for r in eval_rows %}{{ r.model }}\n{% endfor %}"
        "{{ not_a_variable.deeper }}done\n",
        encoding="utf-8",
    )
    card = ModelCard.load(write_card(bundle, template=template, license="apache-2.0"))
    assert card.text.lstrip().startswith("# gmm-hub-breast-cancer by ACME")
    assert 'gmm_hub.load("user/repo")' in card.text and card.text.rstrip().endswith("done")
    assert card.data.license == "apache-2.0" and card.data.library_name == "gmm_hub"
    assert len(card.data.eval_results) == 4


def test_write_card_custom_template_with_header(bundle_copy, tmp_path):
    from huggingface_hub import ModelCard

    bundle = bundle_copy("empty")
    template = tmp_path / "mine.md"
    template.write_text("---\n{{ card_data }}\nlanguage: en\n---\n\nLicensed {{ license }}.\n", encoding="utf-8")
    card = ModelCard.load(write_card(bundle, template=template))
    assert card.data.language == "en" and card.data.library_name == "gmm_hub"
    assert "Licensed mit." in card.text


def test_write_card_broken_template_raises_and_leaves_bundle_unchanged(bundle_copy, tmp_path):
    bundle = bundle_copy("binary")
    before = sorted(p.name for p in bundle.iterdir())
    template = tmp_path / "broken.md"
    template.write_text("# title\n\n{% for x in classes %}\nno end\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"broken\.md.*line"):
        write_card(bundle, template=template)
    with pytest.raises(InvalidInputError, match="Cannot read the model-card template"):
        write_card(bundle, template=tmp_path / "missing.md")
    assert sorted(p.name for p in bundle.iterdir()) == before


def test_render_card_template_is_sandboxed(bundles, tmp_path):
    template = tmp_path / "evil.md"
    template.write_text("x{{ ''.__class__.__mro__[1].__subclasses__() }}y\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="unsafe"):
        render_card(_config(bundles["empty"]), template=template)


def test_write_card_warns_when_template_links_missing_image(bundle_copy, tmp_path):
    bundle = bundle_copy("empty")
    template = tmp_path / "img.md"
    template.write_text("![cm]({{ confusion_matrix_image or 'confusion_matrix.png' }})\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="not in the bundle"):
        write_card(bundle, template=template)


def test_default_template_ships_with_package_and_matches_model_cards():
    packaged = default_template_path()
    assert packaged == ROOT / "gmm_hub" / "card" / "templates" / "default.md"
    assert packaged.read_bytes() == (ROOT / "model_cards" / "default.md").read_bytes()
    # tomllib is 3.11+; the package-data line is plain text either way
    assert 'gmm_hub = ["py.typed", "card/templates/*.md"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- CLI


def test_cli_card_regenerates_card_and_keeps_bundle_valid(bundle_copy, capsys):
    from huggingface_hub import ModelCard

    from gmm_hub.cli import main

    bundle = bundle_copy("binary")
    model_entry = _config(bundle)["files"]["model.skops"]
    main(["card", str(bundle), "--license", "cc-by-4.0", "--repo-id", "alice/bc-gmm"])
    out = capsys.readouterr().out
    assert "README.md" in out and "confusion_matrix.png" in out and "precision_recall.png" in out
    assert ModelCard.load(bundle / "README.md").data.license == "cc-by-4.0"
    assert _config(bundle)["files"]["model.skops"] == model_entry
    gmm_hub.load(bundle)


def test_cli_card_bad_bundle_is_one_line_error(tmp_path, capsys):
    from gmm_hub.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["card", str(tmp_path / "nowhere")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("gmm-hub: error:") and "config.json" in err and err.count("\n") == 1


@pytest.mark.parametrize("variant", ["skops", "load_repo_id"])
def test_write_card_hub_snippets_run_against_local_hub(bundle_copy, local_hub, variant):
    bundle = bundle_copy("binary")
    write_card(bundle, repo_id="alice/bc-gmm")
    api = local_hub.api("alice")
    api.create_repo("alice/bc-gmm")
    api.upload_folder(repo_id="alice/bc-gmm", folder_path=bundle, commit_message="bundle")
    text = (bundle / "README.md").read_text(encoding="utf-8")
    hub_load, skops_load = _python_blocks(_section(text, "How to use"))
    namespace: dict = {}
    if variant == "skops":  # the plain skops call, unchanged: gmm_hub is imported only by skops itself
        exec(compile(skops_load, "how_to_use_skops", "exec"), namespace)
        X = _config(bundle)["sklearn"]["example_input"]
        import pandas as pd

        assert len(namespace["model"].predict(pd.DataFrame(X))) == len(next(iter(X.values())))
        assert Path(namespace["path"]).is_relative_to(local_hub.cache_dir)
        return
    exec(compile(hub_load, f"how_to_use_{variant}", "exec"), namespace)  # unchanged snippet
    assert len(namespace["model"].predict(namespace["X"])) == len(namespace["X"])
    assert Path(namespace["model"].path).is_relative_to(local_hub.cache_dir)


@pytest.mark.parametrize(
    ("fitted", "phrase"),
    [
        ({"floor_scale": [0.01, 0.5], "floor_shape": ["pooled", "pooled"]}, "spread like the pooled within-class"),
        ({"floor_scale": [0.01, 0.5], "floor_shape": ["diagonal", "pooled"]}, "shaped diagonal, pooled (in class"),
        ({"floor_scale": [0.01, 0.5]}, "on the diagonal"),  # a bundle from before floor shapes
    ],
)
def test_card_states_each_classs_floor_shape(fitted, phrase):
    from gmm_hub.card._prose import _regularisation_sentence

    text = _regularisation_sentence({"reg_covar": "auto"}, {"prior_rows": [0.0, 0.0], **fitted})
    assert "c = 0.01, 0.5 (in class order)" in text and phrase in text


def test_write_card_describes_the_floor_the_model_was_fitted_with(bundle_copy):
    bundle = bundle_copy("binary")
    model = _section(write_card(bundle).read_text(encoding="utf-8"), "Model")
    clf = gmm_hub.load(bundle).model[-1]  # tabular_pipeline(): the classifier is the last step
    scales = clf.floor_scale_
    shown = f"{scales[0]:.3g}" if len(set(scales)) == 1 else ", ".join(f"{c:.3g}" for c in scales)
    assert f"with c = {shown}" in model
    shapes = set(clf.floor_shape_)
    assert ("spread like the pooled within-class correlation" in model) == (shapes == {"pooled"})


@pytest.mark.parametrize(
    ("asinh", "heavy"),
    [(None, 0), ([[None, None], [None, None]], 0), ([[0.1, 0.002], [None, None]], 1), ([[0.1, 0.002], [-1.0, 3.0]], 2)],
)
def test_card_names_the_s_u_bend_only_where_a_feature_took_it(asinh, heavy):
    from gmm_hub.card._prose import model_description

    fitted = {"power_lambdas": [1.0, 0.4], "asinh_params": asinh}
    lines, cited = model_description({"model": {"params": {}, "fitted": fitted}}, pos_label=1)
    text = " ".join(lines)
    assert (f"{heavy} continuous feature(s) took Johnson's S_U transform" in text) == bool(heavy)
    assert ("johnson" in cited) == bool(heavy)
