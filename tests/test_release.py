"""The release: the sdist and wheel that ``python -m build`` makes, checked and installed.

The wheel is installed into a fresh virtual environment with no source tree
beside it; the dependencies come from this environment's site-packages through
a ``.pth`` path entry (so the test needs no network), while ``gmm_hub`` itself
can only come from the wheel: the editable install's import hook lives in a
``.pth`` file that a plain path entry does not run. The release workflow
(``.github/workflows/release.yml``) repeats the install with dependencies from
PyPI.
"""

from __future__ import annotations

import email
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import gmm_hub

ROOT = Path(__file__).resolve().parents[1]
DIST_NAME = "gmm-hub"

pytestmark = pytest.mark.slow  # builds and installs: about 15 s


def _git_files(*prefixes: str) -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "--", *prefixes], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the file list to compare against comes from git ls-files")
    return [line for line in out.splitlines() if (ROOT / line).is_file()]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("build", reason="the `build` package (test extra) makes the distributions")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_distributions_pass_twine_check_strict(dist):
    pytest.importorskip("twine", reason="twine (test extra) checks the distributions")
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist["wheel"]), str(dist["sdist"])],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2


def test_wheel_metadata_names_one_distribution_and_version(dist):
    with zipfile.ZipFile(dist["wheel"]) as whl:
        (meta_name,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_bytes(whl.read(meta_name))
        entry_points = whl.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert meta["Name"] == DIST_NAME
    assert meta["Version"] == gmm_hub.__version__
    assert meta["License-Expression"] == "MIT"
    assert "gmm-hub = gmm_hub.cli:main" in entry_points
    # PEP 625/427 file names use the normalised name
    assert dist["wheel"].name.startswith(f"gmm_hub-{gmm_hub.__version__}-")
    assert dist["sdist"].name == f"gmm_hub-{gmm_hub.__version__}.tar.gz"


def test_wheel_holds_the_package_and_nothing_else(dist):
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = set(whl.namelist())
    package = {n for n in names if not n.startswith("gmm_hub-")}
    expected = {n for n in _git_files("gmm_hub") if "__pycache__" not in n}
    assert expected - package == set(), "tracked package files missing from the wheel"
    assert package - expected == set(), "files in the wheel that the package does not track"
    assert "gmm_hub/py.typed" in package
    assert any(n.startswith("gmm_hub/card/templates/") and n.endswith(".md") for n in package)
    assert not any(n.startswith(("tests/", "scripts/")) or n.endswith((".pyc", ".skops")) for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_sdist_holds_package_tests_licence_and_changelog(dist):
    with tarfile.open(dist["sdist"]) as tar:
        prefix = f"gmm_hub-{gmm_hub.__version__}/"
        names = {m.name.removeprefix(prefix) for m in tar.getmembers() if m.isfile()}
    for required in ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml"):
        assert required in names
    tracked = {n for n in _git_files("gmm_hub", "tests") if "__pycache__" not in n}
    assert tracked - names == set(), "tracked package or test files missing from the sdist"
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> dict[str, Path]:
    """A fresh venv holding only the wheel; dependencies reached through a path entry."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # pip from ensurepip: offline
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(dist["wheel"])], check=True
    )
    (purelib / "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path_factory.mktemp("elsewhere")  # no source tree in the working directory
    return {"python": python, "bin": bindir, "purelib": purelib, "cwd": work}


def _run(installed, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HF_TOKEN", "HF_ENDPOINT")}
    env["PATH"] = os.pathsep.join([str(installed["bin"]), env.get("PATH", "")])
    return subprocess.run(args, cwd=installed["cwd"], env=env, capture_output=True, text=True, **kwargs)


def test_installed_wheel_is_the_one_imported(installed):
    proc = _run(installed, str(installed["python"]), "-c", "import gmm_hub; print(gmm_hub.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(installed["purelib"])


def test_installed_wheel_version_command(installed):
    proc = _run(installed, str(installed["bin"] / "gmm-hub"), "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"gmm-hub, version {gmm_hub.__version__}"


def test_installed_wheel_runs_quickstart(installed, tmp_path):
    proc = _run(installed, str(installed["bin"] / "gmm-hub"), "quickstart", "--dir", str(tmp_path / "qs"), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    readme = (tmp_path / "qs" / "bundle" / "README.md").read_text(encoding="utf-8")
    assert "model-index" in readme
    assert (tmp_path / "qs" / "bundle" / "config.json").is_file()


@pytest.mark.parametrize("pattern", [r"pip install +(-U +)?['\"]?gmm_hub\b", r"package_name=['\"]gmm_hub['\"]"])
def test_one_distribution_name_everywhere(pattern):
    """What users are told to install is `gmm-hub`; `gmm_hub` is only the import name."""
    import re

    offenders = []
    for rel in _git_files(
        "gmm_hub", "scripts", "model_cards", "README.md", "CHANGELOG.md", ".github", "pyproject.toml"
    ):
        for lineno, line in enumerate((ROOT / rel).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if re.search(pattern, line):
                offenders.append(f"{rel}:{lineno}: {line.strip()}")
    assert offenders == []
