"""``gmm-hub hub``: commands around the Hugging Face Hub (``hub serve`` for now)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from . import app, fail

_SERVER_MODULES = ("starlette", "uvicorn", "dulwich", "markdown_it", "nh3")


def _require_localhub() -> None:
    """One line and exit 2 when the local Hub's extra is not installed."""
    import importlib

    missing = []
    for name in _SERVER_MODULES:
        try:
            importlib.import_module(name)  # the server imports them next anyway
        except ImportError:
            missing.append(name)
    if missing:
        fail(f'the local Hub needs {", ".join(missing)}: pip install "gmm-hub[localhub]"')


@app.group()
def hub() -> None:
    """Work with a Hugging Face Hub (or the local Hub-compatible server)."""


def _parse_tokens(values: tuple[str, ...]) -> dict[str, list[str]]:
    """``USER=TOKEN[:read|:write]`` options as ``{user: [token spec, ...]}`` (a user may have several)."""
    from ..localhub._access import TokenSpecError, parse_token_option

    tokens: dict[str, list[str]] = {}
    for value in values:
        try:
            user, spec = parse_token_option(value)
        except TokenSpecError as err:  # the message never echoes the value: it may hold a secret
            raise click.UsageError(str(err)) from None
        tokens.setdefault(user, []).append(spec)
    return tokens


def _parse_orgs(values: tuple[str, ...]) -> dict[str, list[str]]:
    from ..localhub._access import TokenSpecError, parse_org_option

    orgs: dict[str, list[str]] = {}
    for value in values:
        try:
            org, members = parse_org_option(value)
        except TokenSpecError as err:
            raise click.UsageError(str(err)) from None
        orgs.setdefault(org, []).extend(members)
    return orgs


@hub.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (keep loopback).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="TCP port, 0 = any.")
@click.option(
    "--root",
    default="./local_hub",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory where repos and commits are stored.",
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    metavar="USER=TOKEN[:read]",
    envvar="GMM_HUB_SERVE_TOKENS",
    help="Map a bearer token to a user namespace; repeat for several users or tokens. "
    "A ':read' suffix makes a read token, which cannot write. "
    "Also read from GMM_HUB_SERVE_TOKENS (space separated), which keeps tokens out of `ps`.",
)
@click.option(
    "--org",
    "orgs",
    multiple=True,
    metavar="ORG=USER[,USER...]",
    help="An organisation and its members: they write to ORG/ and see its private repos.",
)
@click.option("--max-body-mb", default=512, show_default=True, type=click.IntRange(1), help="Request body cap.")
def serve(host: str, port: int, root: Path, tokens: tuple[str, ...], orgs: tuple[str, ...], max_body_mb: int) -> None:
    """Serve a local Hub-compatible HTTP API until Ctrl-C.

    Point the huggingface_hub client at it with HF_ENDPOINT=http://HOST:PORT.
    """
    _require_localhub()
    from ..localhub._server import LocalHub

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    users = _parse_tokens(tokens)
    organisations = _parse_orgs(orgs)
    server = LocalHub(
        root, host=host, port=port, tokens=users, orgs=organisations, max_body_bytes=max_body_mb * 1024 * 1024
    )
    click.echo(f"Local Hub at {server.url} (root: {root}, users: {', '.join(sorted(users)) or 'none'})")
    click.echo(f"Use it with: HF_ENDPOINT={server.url} (uploads through LFS or Xet, downloads over HTTP)")
    click.echo(f"Pages for people: {server.url}/ (a repo's card at {server.url}/USER/REPO)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Local Hub stopped.")


@app.command("push")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("repo_id")
@click.option("--private", is_flag=True, help="Create the repo private (an existing repo keeps its visibility).")
@click.option("--tag", default=None, help="Tag the new commit (e.g. v1) so it can be loaded with --revision v1.")
@click.option("--revision", default=None, help="Branch to commit to (created if missing). Default: main.")
@click.option("--message", "-m", default=None, help="Commit message.")
@click.option("--create-pr", is_flag=True, help="Open a pull request instead of committing to the branch.")
@click.option("--allow-pickle", is_flag=True, help="Allow pushing a model.joblib (pickle) bundle.")
def push(
    bundle: Path,
    repo_id: str,
    private: bool,
    tag: str | None,
    revision: str | None,
    message: str | None,
    create_pr: bool,
    allow_pickle: bool,
) -> None:
    """Verify BUNDLE and upload it to the Hub repo REPO_ID in one commit.

    The token comes from the HF_TOKEN environment variable or `hf auth login`;
    there is deliberately no option for it, since a token typed on the
    command line ends up in shell history. HF_ENDPOINT selects another Hub.
    """
    from ..hub._transfer import push as push_bundle

    url = push_bundle(
        bundle,
        repo_id,
        private=private,
        revision=revision,
        tag=tag,
        commit_message=message,
        create_pr=create_pr,
        allow_pickle=allow_pickle,
    )
    click.echo(f"Pushed {bundle} to {repo_id}{f' (tag {tag})' if tag else ''}: {url}")


@app.command("pull")
@click.argument("repo_id")
@click.option("--revision", default=None, help="Branch, tag or commit sha. Default: main.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Copy the bundle into this new directory (atomically) instead of only caching it.",
)
@click.option("--allow-pickle", is_flag=True, help="Also download a model.joblib (pickle) model file.")
def pull(repo_id: str, revision: str | None, out: Path | None, allow_pickle: bool) -> None:
    """Download the bundle in REPO_ID into the Hub cache; print its directory.

    Only config.json, model.skops, README.md and *.png are fetched, and
    checked against config.json. Works offline from a warm cache with
    HF_HUB_OFFLINE=1.
    """
    from ..hub._transfer import check_out_dir, copy_bundle
    from ..hub._transfer import pull as pull_bundle

    if out is not None:
        check_out_dir(out)  # before downloading anything
    path = pull_bundle(repo_id, revision=revision, allow_pickle=allow_pickle)
    if out is not None:
        path = copy_bundle(path, out)
    click.echo(str(path))


QUICKSTART_REPO = "quickstart/breast-cancer-gmm"


@app.command("quickstart")
@click.option(
    "--dir",
    "directory",
    default="gmm-hub-quickstart",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the bundle, local Hub and cache go.",
)
def quickstart(directory: Path) -> None:
    """Train, card, push, load back by repo id and predict: no account, no network.

    Trains on breast cancer, writes the bundle and its model card, starts a
    local Hub on a free loopback port with a throwaway token, pushes the
    bundle there, loads it back by repo id through the huggingface_hub cache
    (its own HF_HOME under --dir), checks the predictions match, and stops
    the server.
    """
    import secrets
    import time

    _require_localhub()

    import numpy as np
    from huggingface_hub.utils import disable_progress_bars

    from .. import load, write_card
    from ..data._datasets import load_dataset
    from ..evaluation._metrics import metrics_table
    from ..exceptions import HubError
    from ..hub._transfer import push as push_bundle
    from ..hub._transfer import use_endpoint
    from ..localhub._server import LocalHub
    from ._train import train_bundle

    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    click.echo("[1/3] training on breast_cancer (stratified hold-out, with baselines)...")
    bundle, metrics = train_bundle("breast_cancer", directory / "bundle", overwrite=True, n_jobs=-1)
    write_card(bundle, repo_id=QUICKSTART_REPO)  # the card's snippets name the repo
    token = secrets.token_urlsafe(24)  # throwaway: lives only as long as the server
    hub = LocalHub(directory / "local_hub", tokens={"quickstart": token}).start()
    click.echo(f"[2/3] pushing to a local Hub at {hub.url} ...")
    try:
        with use_endpoint(hub.url, hf_home=directory / "hf_home"), disable_progress_bars():
            commit_url = push_bundle(bundle, QUICKSTART_REPO, token=token, commit_message="gmm-hub quickstart")
            click.echo(f"[3/3] loading {QUICKSTART_REPO} back by repo id and predicting...")
            remote = load(QUICKSTART_REPO)
    finally:
        hub.stop()
    X = load_dataset("breast_cancer").X
    predicted = remote.predict(X)
    if not np.array_equal(predicted, load(bundle).predict(X)):
        raise HubError("the model loaded from the local Hub predicts differently from the local bundle.")
    click.echo("")
    click.echo(metrics_table(metrics))
    click.echo(f"({metrics['split_description']})")
    click.echo("")
    click.echo(f"commit      {commit_url}")
    click.echo(f"repo        {hub.url}/{QUICKSTART_REPO} (server now stopped)")
    click.echo(f"loaded from {remote.path.parent}")
    click.echo(f"predictions {list(predicted[:5])}... identical to the local bundle on all {len(X)} rows")
    click.echo(f"model card  {bundle / 'README.md'}")
    click.echo(f"done in {time.perf_counter() - started:.1f} s.")
    click.echo(
        f"See the model page as a visitor of the Hub would: run `gmm-hub hub serve --root {directory / 'local_hub'}`,"
        f" then open http://127.0.0.1:8765/{QUICKSTART_REPO} in a browser."
    )
