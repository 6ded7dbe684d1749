"""``gmm-hub card``: (re)generate a bundle's model card and figures from the bundle alone."""

from __future__ import annotations

from pathlib import Path

import click

from . import app


@app.command("card")
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--template",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Jinja2 markdown template (start from model_cards/default.md). Default: the packaged template.",
)
@click.option(
    "--license",
    "license_id",
    default=None,
    metavar="ID",
    help="License id for the card metadata, e.g. mit, apache-2.0. Default: keep the card's license, else mit.",
)
@click.option(
    "--repo-id",
    default=None,
    metavar="USER/NAME",
    help="Hub repository id used in the 'How to use' code. Default: the placeholder user/repo.",
)
def card(bundle: Path, template: Path | None, license_id: str | None, repo_id: str | None) -> None:
    """Write BUNDLE/README.md, confusion_matrix.png and precision_recall.png.

    Reads only BUNDLE/config.json (no data, no model loading) and updates only
    the card and figure entries of its "files" table, so the model's hashes
    stay valid and the bundle still verifies.
    """
    from .._constants import CONFUSION_MATRIX_PNG, PR_CURVE_PNG
    from ..card._render import write_card

    readme = write_card(bundle, template=template, license=license_id, repo_id=repo_id)
    figures = [name for name in (CONFUSION_MATRIX_PNG, PR_CURVE_PNG) if (bundle / name).is_file()]
    click.echo(f"Wrote {readme}" + (f" and {', '.join(figures)}" if figures else ""))
