"""Helpers shared by the benchmark scripts: ``--params``, the run header, output files.

The classifier under test is always ``GMMClassifier(**params)``, with
``params`` given as JSON on the command line, so the same script measures
today's model and one whose parameters have changed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def add_params_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--params",
        type=str,
        default="{}",
        metavar="JSON",
        help="keyword arguments of the GMMClassifier under test, as a JSON object (default {} = its defaults)",
    )


def parse_params(parser: argparse.ArgumentParser, text: str) -> dict[str, Any]:
    """The ``--params`` JSON object, checked against GMMClassifier's signature (exit 2 if bad)."""
    from gmm_hub.model import GMMClassifier

    try:
        params = json.loads(text)
    except json.JSONDecodeError as err:
        parser.error(f"--params must be a JSON object, e.g. '{{\"reg_covar\": 0.01}}'; got {text!r} ({err})")
    if not isinstance(params, dict):
        parser.error(f"--params must be a JSON object, got {type(params).__name__}: {text!r}")
    unknown = sorted(set(params) - set(GMMClassifier().get_params()))
    if unknown:
        parser.error(f"--params: GMMClassifier has no parameter(s) {unknown}")
    return params


def commit() -> str:
    """Short commit of the worktree, ``+dirty`` when gmm_hub/ or scripts/ have uncommitted edits."""

    def git(*args: str) -> str:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
        return out.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no", "--", "gmm_hub", "scripts") else "")


def header(title: str, params: dict[str, Any], *lines: str) -> str:
    """Lines naming what was measured: the model's parameters, versions, commit and load."""
    import numpy
    import sklearn

    import gmm_hub

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    return "\n".join(
        [
            f"# {title}",
            "",
            f"GMMClassifier params: {json.dumps(params, sort_keys=True)}" + ("  (the defaults)" if not params else ""),
            f"gmm_hub {gmm_hub.__version__} at {commit()}; scikit-learn {sklearn.__version__}, "
            f"numpy {numpy.__version__}, Python {platform.python_version()}; "
            f"{os.cpu_count()} CPUs, load average {load:.1f} at start",
            *lines,
        ]
    )


def fit_breakdown(source: Any) -> str:
    """Where the fit's time went, from a model's ``fit_seconds_`` (or that dict), else ``"n/a"``."""
    seconds = source if isinstance(source, dict) or source is None else getattr(source, "fit_seconds_", None)
    if not isinstance(seconds, dict) or not seconds:
        return "n/a"
    return " ".join(f"{stage} {float(s):.1f}s" for stage, s in seconds.items())


def json_safe(value: Any) -> Any:
    """NaN and infinities become null (strict JSON); numpy scalars become Python numbers."""
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(json_safe(data), indent=2, default=str, allow_nan=False) + "\n")
