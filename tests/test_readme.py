"""The README's promises: its Python quickstart runs as written."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_quickstart_block_runs(tmp_path):
    quickstart = python_blocks()[0]
    assert "gmm_hub.save" in quickstart and "gmm_hub.load" in quickstart
    proc = subprocess.run([sys.executable, "-c", quickstart], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    balanced_accuracy, f1_macro = map(float, proc.stdout.splitlines()[0].split())
    assert balanced_accuracy > 0.9 and f1_macro > 0.9
    bundle = tmp_path / "bundles" / "breast-cancer"
    assert {"model.skops", "config.json", "README.md"} <= {p.name for p in bundle.iterdir()}


def test_readme_estimator_block_builds_a_pipeline():
    namespace: dict = {}
    exec(python_blocks()[2], namespace)
    assert namespace["clf"].steps[-1][0] == "gmmclassifier"
