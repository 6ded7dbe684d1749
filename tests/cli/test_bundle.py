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
