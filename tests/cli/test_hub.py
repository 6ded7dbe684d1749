"""``gmm-hub push``, ``pull``, ``predict REPO_ID`` and ``quickstart`` against the local Hub."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from huggingface_hub import constants

import gmm_hub
from gmm_hub.cli import main
from gmm_hub.hub._transfer import push

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GMM_HUB_CLI = Path(sys.executable).with_name("gmm-hub")


@pytest.fixture
def bundle(tmp_path):
    return Path(shutil.copytree(FIXTURES / "gmm_bundle", tmp_path / "bundle"))


@pytest.fixture
def expected():
    return json.loads((FIXTURES / "gmm_bundle_expected.json").read_text())


def _run(capsys, args: list[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_push_without_token_is_one_line_exit_2(local_hub, bundle):
    done = subprocess.run(
        [str(GMM_HUB_CLI), "push", str(bundle), "alice/cli-gmm"],
        env=local_hub.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("gmm-hub: error:")
    assert "HF_TOKEN" in done.stderr and "hf auth login" in done.stderr
    assert local_hub.server.requests == []


def test_cli_push_has_no_token_option(capsys):
    code, out, _ = _run(capsys, ["push", "--help"])
    assert code == 0 and "--token" not in out and "HF_TOKEN" in out


def test_cli_push_tag_then_pull_revision_into_out(local_hub, bundle, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", local_hub.tokens["alice"])
    code, out, err = _run(capsys, ["push", str(bundle), "alice/cli-gmm", "--tag", "v1", "--message", "from the CLI"])
    assert code == 0, err
    assert re.search(rf"{re.escape(local_hub.url)}/alice/cli-gmm/commit/[0-9a-f]{{40}}", out)
    assert local_hub.tokens["alice"] not in out + err
    assert local_hub.api().list_repo_commits("alice/cli-gmm")[0].title == "from the CLI"
    code, out, err = _run(capsys, ["pull", "alice/cli-gmm", "--revision", "v1", "--out", str(tmp_path / "out")])
    assert code == 0, err
    assert out.strip() == str(tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"config.json", "model.skops"}
    assert (tmp_path / "out" / "model.skops").read_bytes() == (bundle / "model.skops").read_bytes()
    code, _, err = _run(capsys, ["pull", "alice/cli-gmm", "--out", str(tmp_path / "out")])
    assert code == 2 and "not empty" in err and err.count("\n") == 1


def test_cli_pull_prints_cache_directory(local_hub, bundle, capsys):
    push(bundle, "alice/cli-gmm", token=local_hub.tokens["alice"])
    code, out, _ = _run(capsys, ["pull", "alice/cli-gmm"])
    assert code == 0 and Path(out.strip()).is_relative_to(local_hub.cache_dir)
    code, _, err = _run(capsys, ["pull", "alice/no-such-repo"])
    assert code == 2 and "was not found, or it is private" in err and err.count("\n") == 1


def test_cli_push_create_pr_prints_the_pull_request_and_pull_reads_it(local_hub, bundle, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", local_hub.tokens["alice"])
    local_hub.api("alice").create_repo("alice/cli-gmm")
    code, out, err = _run(capsys, ["push", str(bundle), "alice/cli-gmm", "--create-pr"])
    assert code == 0, err
    assert out.strip().endswith(f"{local_hub.url}/alice/cli-gmm/discussions/1")
    assert "model.skops" not in local_hub.api().list_repo_files("alice/cli-gmm")  # main stays
    code, out, err = _run(capsys, ["pull", "alice/cli-gmm", "--revision", "refs/pr/1", "--out", str(tmp_path / "pr")])
    assert code == 0, err
    assert (tmp_path / "pr" / "model.skops").read_bytes() == (bundle / "model.skops").read_bytes()


def test_cli_push_wrong_token_or_fault_never_shows_the_token(local_hub, bundle, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "hf_wrong_cli_secret_token_42"
    monkeypatch.setenv("HF_TOKEN", wrong)
    code, out, err = _run(capsys, ["push", str(bundle), "alice/cli-gmm"])
    assert code == 2 and "401" in err and err.count("\n") == 1
    monkeypatch.setenv("HF_TOKEN", local_hub.tokens["alice"])
    local_hub.server.inject_fault("POST", r"/commit/", status=500)
    code, out2, err2 = _run(capsys, ["push", str(bundle), "alice/cli-gmm"])
    assert code == 2 and "HTTP 500" in err2
    for secret in (wrong, local_hub.tokens["alice"]):
        assert secret not in out + err + out2 + err2 + caplog.text


def test_cli_predict_accepts_a_repo_id(local_hub, bundle, expected, tmp_path, capsys):
    push(bundle, "alice/cli-gmm", token=local_hub.tokens["alice"])
    pd.DataFrame(expected["input"]).to_csv(tmp_path / "input.csv", index=False)
    code, out, err = _run(capsys, ["predict", "alice/cli-gmm", str(tmp_path / "input.csv")])
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["prediction"].tolist() == expected["predict"]


def test_cli_quickstart_end_to_end(tmp_path, capsys):
    endpoint = constants.ENDPOINT
    code, out, err = _run(capsys, ["quickstart", "--dir", str(tmp_path / "qs")])
    assert code == 0, err
    assert re.search(r"\| gmm_hub \| 0\.9\d+ \|", out)  # metrics table
    commit = re.search(r"commit +(http://127\.0\.0\.1:(\d+)/quickstart/breast-cancer-gmm/commit/[0-9a-f]{40})", out)
    assert commit and "identical to the local bundle on all 569 rows" in out
    assert f"model card  {tmp_path / 'qs' / 'bundle' / 'README.md'}" in out
    serve = f"gmm-hub hub serve --root {tmp_path / 'qs' / 'local_hub'}"
    assert (
        out.strip()
        .splitlines()[-1]
        .endswith(f"run `{serve}`, then open http://127.0.0.1:8765/quickstart/breast-cancer-gmm in a browser.")
    )  # the last line says how to see the model page
    assert (tmp_path / "qs" / "bundle" / "README.md").is_file()
    assert "quickstart/breast-cancer-gmm" in (tmp_path / "qs" / "bundle" / "README.md").read_text()
    with pytest.raises(ConnectionRefusedError):  # the server is stopped
        socket.create_connection(("127.0.0.1", int(commit.group(2))), timeout=2).close()
    assert endpoint == constants.ENDPOINT  # the client is pointed back where it was
    cached = next((tmp_path / "qs" / "hf_home" / "hub").glob("models--quickstart--*/snapshots/*"))
    assert gmm_hub.load(cached).predict(gmm_hub.load_dataset("breast_cancer").X.head(3)).shape == (3,)
