"""Without the localhub extra, `gmm-hub hub serve` and `quickstart` say what to install, in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

# A meta-path finder that hides the server's dependencies, as in an install without the extra.
WITHOUT_EXTRA = """
import sys
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("starlette", "uvicorn", "dulwich"):
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, Hide())
from gmm_hub.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("command", [["hub", "serve", "--port", "0"], ["quickstart"]])
def test_server_commands_without_the_extra_name_it(tmp_path, command):
    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, *command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "gmm-hub[localhub]"' in lines[0], out.stderr
    assert "Traceback" not in out.stderr and not list(tmp_path.iterdir())
