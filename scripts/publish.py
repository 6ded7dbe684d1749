"""Train, verify and push a gmm_hub model to the Hugging Face Hub, then summarise.

The publish workflow (.github/workflows/publish.yml) runs exactly this script,
so a release can be rehearsed locally::

    python scripts/publish.py --dataset breast_cancer --repo-id me/gmm-breast-cancer --dry-run
    HF_TOKEN=hf_... python scripts/publish.py --dataset breast_cancer --repo-id me/gmm-breast-cancer --tag v0.1.0

Steps, each a ``gmm-hub`` command run as a subprocess:

1. ``gmm-hub train DATASET --out BUNDLE --overwrite`` (prints the metrics table);
2. ``gmm-hub verify BUNDLE`` (stops here unless the bundle is sound);
3. ``gmm-hub push BUNDLE REPO_ID [--tag TAG] [--private]``, skipped with ``--dry-run``;
4. a Markdown summary (metrics table, Hub URL) appended to ``--summary``, which
   defaults to ``$GITHUB_STEP_SUMMARY`` in GitHub Actions, and ``url=``,
   ``bundle=`` lines appended to ``$GITHUB_OUTPUT`` when that is set.

The token is read from ``HF_TOKEN`` by ``gmm-hub push`` alone: it is removed
from the environment of the train and verify steps, never printed, and any
occurrence of it in a step's output is replaced by ``***``.

Each option falls back to an environment variable, so the workflow can pass
its inputs through ``env:``: ``--dataset`` to ``GMM_HUB_DATASET`` (then
``breast_cancer``), ``--repo-id`` to ``HF_REPO_ID``, ``--private`` to
``HF_PRIVATE`` (``true``/``false``), ``--tag`` to ``GITHUB_REF_NAME`` when
``GITHUB_REF_TYPE`` is ``tag`` (a tag push), ``--endpoint`` (only for the URL
in the summary) to ``HF_ENDPOINT`` (then https://huggingface.co).

Exit status: 0 on success, 1 when a step fails (its own status is reported),
2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
DEFAULT_DATASET = "breast_cancer"
DEFAULT_ENDPOINT = "https://huggingface.co"
TRUE = {"1", "true", "yes", "on"}
FALSE = {"", "0", "false", "no", "off"}


class StepError(RuntimeError):
    """A ``gmm-hub`` step exited with a non-zero status."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="publish.py",
        description="Train -> verify -> push a gmm_hub model and write a Markdown summary.",
    )
    parser.add_argument(
        "--dataset",
        default=env.get("GMM_HUB_DATASET") or DEFAULT_DATASET,
        help="Data set for 'gmm-hub train' (env GMM_HUB_DATASET, default %(default)s).",
    )
    parser.add_argument(
        "--repo-id",
        default=env.get("HF_REPO_ID") or None,
        help="Hub model repo OWNER/NAME (env HF_REPO_ID). Required unless --dry-run.",
    )
    parser.add_argument(
        "--tag",
        default=_default_tag(env),
        help="Hub tag to create on the pushed commit (default: the git tag in GitHub "
        "Actions, i.e. GITHUB_REF_NAME when GITHUB_REF_TYPE=tag; none otherwise).",
    )
    parser.add_argument(
        "--private",
        dest="private",
        action="store_true",
        default=None,
        help="Create the repo private (env HF_PRIVATE=true).",
    )
    parser.add_argument(
        "--public", dest="private", action="store_false", help="Create the repo public (overrides HF_PRIVATE)."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("build/publish/bundle"),
        help="Bundle directory; replaced if it exists (default %(default)s).",
    )
    parser.add_argument(
        "--summary",
        type=Path,
        default=_path_or_none(env.get("GITHUB_STEP_SUMMARY")),
        help="Markdown file to append the summary to (default $GITHUB_STEP_SUMMARY; "
        "without either, the summary is printed).",
    )
    parser.add_argument(
        "--endpoint",
        default=env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT,
        help="Hub URL used for the link in the summary (env HF_ENDPOINT).",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="Train, verify and summarise, but upload nothing (no token needed)."
    )
    args = parser.parse_args(argv)
    if args.private is None:
        args.private = _parse_bool(parser, "HF_PRIVATE", env.get("HF_PRIVATE", ""))
    args.tag = args.tag or None
    if not args.dry_run and not args.repo_id:
        parser.error(
            "no Hub repo id: pass --repo-id OWNER/NAME or set HF_REPO_ID "
            "(in GitHub Actions: the repository variable HF_REPO_ID), or use --dry-run"
        )
    if not args.dry_run and not any(env.get(name) for name in TOKEN_VARS):
        parser.error("no Hub token: set HF_TOKEN (in GitHub Actions: the repository secret HF_TOKEN), or use --dry-run")
    return args


def _default_tag(env: Mapping[str, str]) -> str | None:
    if env.get("GITHUB_REF_TYPE") == "tag":
        return env.get("GITHUB_REF_NAME") or None
    return None


def _path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None


def _parse_bool(parser: argparse.ArgumentParser, name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    parser.error(f"{name} must be true or false, got {value!r}")
    raise AssertionError  # parser.error exits


def gmm_hub_command() -> list[str]:
    """The ``gmm-hub`` console script of this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("gmm-hub")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("gmm-hub")
    if found:
        return [found]
    return [sys.executable, "-c", "from gmm_hub.cli import main; main()"]


def secrets() -> list[str]:
    return [os.environ[name] for name in TOKEN_VARS if os.environ.get(name)]


def redact(text: str) -> str:
    for secret in secrets():
        text = text.replace(secret, "***")
    return text


def run_step(title: str, args: list[str], *, with_token: bool = False) -> str:
    """Run ``gmm-hub ARGS``, echo its (redacted) output, return its stdout."""
    env = dict(os.environ)
    if not with_token:
        for name in TOKEN_VARS:
            env.pop(name, None)
    in_actions = bool(os.environ.get("GITHUB_ACTIONS"))
    shown = f"gmm-hub {' '.join(args)}"
    print(f"::group::{title}: {shown}" if in_actions else f"== {title}: {shown}", flush=True)
    proc = subprocess.run(gmm_hub_command() + args, env=env, capture_output=True, text=True, check=False)
    out, err = redact(proc.stdout), redact(proc.stderr)
    sys.stdout.write(out)
    sys.stdout.flush()
    sys.stderr.write(err)
    sys.stderr.flush()
    if in_actions:
        print("::endgroup::", flush=True)
    if proc.returncode != 0:
        last = err.strip().splitlines()[-1] if err.strip() else "no error message"
        raise StepError(f"{title} failed with exit status {proc.returncode}: {last}")
    return out


def hub_url(endpoint: str, repo_id: str, tag: str | None) -> str:
    base = f"{endpoint.rstrip('/')}/{repo_id}"
    return f"{base}/tree/{tag}" if tag else base


def metrics_table(bundle: Path) -> str:
    """Markdown table of the bundle's held-out metrics (gmm_hub, then the baselines)."""
    import json

    from gmm_hub.evaluation import metrics_table

    config = json.loads((bundle / "config.json").read_text(encoding="utf-8"))
    metrics = config.get("metrics") or {}
    table = metrics_table(metrics)
    split = metrics.get("split_description") or metrics.get("split")
    if split:
        table += f"\n\nEvaluation: {split}."
    data = config.get("dataset") or {}
    if data:
        table += (
            f"\n\nData: `{data.get('name')}`, {data.get('n_rows')} rows, {data.get('n_features')} features, "
            f"fingerprint `{data.get('fingerprint')}`."
        )
    return table


def summary_markdown(args: argparse.Namespace, bundle: Path, url: str | None) -> str:
    lines = [f"## gmm_hub model: `{args.dataset}`", ""]
    if url:
        visibility = "private" if args.private else "public"
        tag = f", tag `{args.tag}`" if args.tag else ""
        lines += [f"Pushed to the Hub ({visibility}{tag}): {url}", ""]
    else:
        target = f"`{args.repo_id}`" if args.repo_id else "(no repo id)"
        lines += [
            f"Dry run: nothing uploaded (would push to {target}"
            + (f" with tag `{args.tag}`" if args.tag else "")
            + ").",
            "",
        ]
    lines += ["### Held-out metrics", "", metrics_table(bundle), ""]
    return "\n".join(lines) + "\n"


def append(path: Path, text: str) -> None:
    # GitHub's step summary and output files are appended to, never replaced.
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def publish(args: argparse.Namespace) -> str | None:
    """Run train -> verify -> push; return the Hub URL (None for a dry run)."""
    bundle = args.out
    bundle.parent.mkdir(parents=True, exist_ok=True)
    run_step("train", ["train", args.dataset, "--out", str(bundle), "--overwrite"])
    run_step("verify", ["verify", str(bundle)])
    url = None
    if args.dry_run:
        print(f"dry run: not pushing {bundle} to {args.repo_id or '(no repo id)'}")
    else:
        push = ["push", str(bundle), args.repo_id]
        if args.tag:
            push += ["--tag", args.tag]
        if args.private:
            push.append("--private")
        run_step("push", push, with_token=True)
        url = hub_url(args.endpoint, args.repo_id, args.tag)
        print(f"pushed: {url}")
    summary = redact(summary_markdown(args, bundle, url))
    if args.summary:
        append(args.summary, summary)
    else:
        print(summary)
    if os.environ.get("GITHUB_OUTPUT"):
        append(Path(os.environ["GITHUB_OUTPUT"]), f"bundle={bundle}\nurl={url or ''}\n")
    return url


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        publish(args)
    except StepError as err:
        print(f"publish.py: error: {redact(str(err))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
