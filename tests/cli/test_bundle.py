"""The bundle commands of the CLI: ``gmm-hub predict`` and ``gmm-hub verify``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gmm_hub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def bundle(tmp_path, mixed_model):
    return gmm_hub.save(mixed_model[0], tmp_path / "bundle", metrics={"f1_macro": 0.75})


def _cli(*args: str) -> int:
    from gmm_hub.cli import main

    try:
        main(list(args))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def test_cli_predict_writes_csv_with_proba(bundle, mixed_model, tmp_path, capsys):
    model, X, _ = mixed_model
    X[["channel", "age", "amount"]].to_csv(tmp_path / "in.csv", index=False)
    assert _cli("predict", str(bundle), str(tmp_path / "in.csv"), "--output", str(tmp_path / "out.csv"), "--proba") == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["prediction", "proba_0", "proba_1"]
    np.testing.assert_array_equal(out["prediction"], model.predict(X))
    np.testing.assert_allclose(out[["proba_0", "proba_1"]], model.predict_proba(X), rtol=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_cli_predict_to_stdout(bundle, mixed_model, tmp_path, capsys):
    mixed_model[1].head(4).to_csv(tmp_path / "in.csv", index=False)
    assert _cli("predict", str(bundle), str(tmp_path / "in.csv")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 5


def test_cli_predict_missing_column_is_one_line_error(bundle, mixed_model, tmp_path, capsys):
    mixed_model[1].drop(columns=["age"]).to_csv(tmp_path / "in.csv", index=False)
    assert _cli("predict", str(bundle), str(tmp_path / "in.csv")) == 2
    err = capsys.readouterr().err
    assert err.startswith("gmm-hub: error:") and "age" in err and len(err.splitlines()) == 1


def test_cli_verify_sound_and_tampered(bundle, capsys):
    assert _cli("verify", str(bundle)) == 0
    assert "result    sound" in capsys.readouterr().out
    (bundle / "model.skops").write_bytes((bundle / "model.skops").read_bytes()[:-10])
    assert _cli("verify", str(bundle)) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "truncated" in out and "NOT SOUND" in out


def test_cli_verify_console_script_exit_status(tmp_path):
    script = Path(sys.executable).with_name("gmm-hub")
    if not script.exists():
        pytest.skip("console script not installed")
    proc = subprocess.run([str(script), "verify", str(FIXTURES / "gmm_bundle")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "types     ok" in proc.stdout


MALFORMED_CONFIGS = {
    "deep": lambda text: text[:-2] + ', "deep": ' + "[" * 200_000 + "]" * 200_000 + "}",
    "digits": lambda text: text[:-2] + ', "created": ' + "9" * 5000 + "}",
    "versions": lambda text: text.replace('"versions": {', '"versions": "1.0", "old": {', 1),
    "format": lambda text: text.replace('"format": "gmm_hub-bundle"', '"format": ["gmm_hub-bundle"]', 1),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED_CONFIGS))
def test_cli_malformed_config_is_one_line_exit_2_and_verify_agrees(bundle, mixed_model, tmp_path, capsys, kind):
    config = bundle / "config.json"
    config.write_text(MALFORMED_CONFIGS[kind](config.read_text()))
    mixed_model[1].head(3).to_csv(tmp_path / "in.csv", index=False)
    assert _cli("predict", str(bundle), str(tmp_path / "in.csv")) == 2
    err = capsys.readouterr().err
    assert err.startswith("gmm-hub: error:") and len(err.splitlines()) == 1 and "config.json" in err
    assert _cli("verify", str(bundle)) == 1
    assert "NOT SOUND" in capsys.readouterr().out


def test_cli_predict_never_resolves_a_path_like_bundle_on_the_hub(tmp_path, capsys, monkeypatch):
    (tmp_path / "in.csv").write_text("a\n1\n")
    monkeypatch.chdir(tmp_path)
    assert _cli("predict", "bundles/fraud/v1", "in.csv", "--allow-pickle") == 2
    err = capsys.readouterr().err
    assert "not looked up on the Hub" in err and len(err.splitlines()) == 1


def test_cli_verify_and_load_agree_on_inconsistent_fitted_arrays(bundle, mixed_model, tmp_path, capsys):
    """verify builds the audited model and checks its arrays, as load does."""
    import hashlib
    import json
    import pickle

    import skops.io

    hostile = pickle.loads(pickle.dumps(mixed_model[0]))
    hostile[-1].class_prior_ = np.array([0.9, 0.9])
    data = skops.io.dumps(hostile)
    (bundle / "model.skops").write_bytes(data)
    config = json.loads((bundle / "config.json").read_text())
    config["files"]["model.skops"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    (bundle / "config.json").write_text(json.dumps(config))
    assert _cli("verify", str(bundle)) == 1
    assert "class_prior_" in capsys.readouterr().out
    mixed_model[1].head(3).to_csv(tmp_path / "in.csv", index=False)
    assert _cli("predict", str(bundle), str(tmp_path / "in.csv")) == 2
    assert "class_prior_" in capsys.readouterr().err
