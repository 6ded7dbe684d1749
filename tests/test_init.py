"""The public face of the package: what `import gmm_hub` exposes and costs."""

import subprocess
import sys

import pytest

import gmm_hub

HEAVY = ["huggingface_hub", "datasets", "matplotlib", "jinja2", "skops", "click", "imblearn"]


def test_import_does_not_load_heavy_modules():
    code = f"import sys, gmm_hub; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(set(gmm_hub.__all__) - {"__version__"}))
def test_public_name_resolves(name):
    assert getattr(gmm_hub, name) is not None
    assert name in dir(gmm_hub)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gmm_hub.nope  # noqa: B018


def test_errors_are_builtin_subclasses():
    from gmm_hub import exceptions as E

    assert issubclass(E.InvalidInputError, ValueError)
    assert issubclass(E.SchemaError, ValueError)
    assert issubclass(E.UntrustedModelError, TypeError)
    assert all(issubclass(getattr(E, n), E.GMMHubError) for n in E.__all__)


def test_moved_public_modules_keep_their_names():
    """0.1 had flat modules; their public names still import from the same place."""
    from gmm_hub.benchmark import run_benchmark
    from gmm_hub.data import keel_suite, load_dataset
    from gmm_hub.evaluation import evaluate, evaluate_model, format_table
    from gmm_hub.sampling import make_imbalanced, undersampler

    assert run_benchmark is gmm_hub.evaluation.run_benchmark
    assert make_imbalanced is gmm_hub.data.make_imbalanced and undersampler is gmm_hub.data.undersampler
    assert load_dataset is gmm_hub.load_dataset and keel_suite is gmm_hub.data.keel_suite
    assert evaluate is gmm_hub.evaluate and evaluate_model is gmm_hub.evaluate_model
    assert callable(format_table)


@pytest.mark.parametrize("stage", ["data", "model", "evaluation", "bundle", "card", "hub", "localhub", "cli"])
def test_each_stage_names_its_public_pieces(stage):
    import importlib

    module = importlib.import_module(f"gmm_hub.{stage}")
    for name in getattr(module, "__all__", ["main"]):
        assert getattr(module, name) is not None, f"gmm_hub.{stage}.{name}"


def test_local_hub_modules_have_no_import_cycle():
    """The app, its helpers and the storage import nothing of the server module that uses them.

    Importing a submodule runs the package ``__init__`` (which imports the server), so the
    check reads the modules' import statements.
    """
    import ast
    from pathlib import Path

    for name in ("_app", "_auth", "_body", "_errors", "_git", "_lfs", "_migrate", "_names", "_store"):
        tree = ast.parse((Path(gmm_hub.__file__).parent / "localhub" / f"{name}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert "_server" not in imported, f"{name} imports the server module"
