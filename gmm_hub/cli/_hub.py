"""``gmm-hub hub``: commands around the Hugging Face Hub (``hub serve`` for now)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from . import app


@app.group()
def hub() -> None:
    """Work with a Hugging Face Hub (or the local Hub-compatible server)."""


def _parse_tokens(values: tuple[str, ...]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for value in values:
        user, sep, token = value.partition("=")
        if not sep or not user or not token:
            # never echo the value: it may hold a secret
            raise click.UsageError("--token expects USER=TOKEN (for example --token alice=<secret>).")
        tokens[user] = token
    return tokens


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
    metavar="USER=TOKEN",
    envvar="GMM_HUB_SERVE_TOKENS",
    help="Map a bearer token to a user namespace; repeat for several users. "
    "Also read from GMM_HUB_SERVE_TOKENS (space separated), which keeps tokens out of `ps`.",
)
@click.option("--max-body-mb", default=512, show_default=True, type=click.IntRange(1), help="Request body cap.")
def serve(host: str, port: int, root: Path, tokens: tuple[str, ...], max_body_mb: int) -> None:
    """Serve a local Hub-compatible HTTP API until Ctrl-C.

    Point the huggingface_hub client at it with HF_ENDPOINT=http://HOST:PORT.
    """
    from .._hub_server import LocalHub

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    users = _parse_tokens(tokens)
    server = LocalHub(root, host=host, port=port, tokens=users, max_body_bytes=max_body_mb * 1024 * 1024)
    click.echo(f"Local Hub at {server.url} (root: {root}, users: {', '.join(sorted(users)) or 'none'})")
    click.echo(f"Use it with: HF_ENDPOINT={server.url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Local Hub stopped.")
