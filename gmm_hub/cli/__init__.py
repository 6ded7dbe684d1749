"""The ``gmm-hub`` command line.

Each command group lives in its own module and registers itself on
:data:`app`. Errors that come from bad input (gmm_hub's own errors, and
``ValueError``/``TypeError``/``OSError`` raised while reading user files) are
printed as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import os
import sys

import click

from .. import __version__
from ..exceptions import GMMHubError

EXIT_USAGE = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="gmm-hub")
def app() -> None:
    """Train, bundle, card and share Gaussian-mixture classifiers."""


def redact(text: str) -> str:
    """Remove any Hugging Face token in the environment from ``text``."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        secret = os.environ.get(name)
        if secret:
            text = text.replace(secret, "***")
    return text


def fail(message: str, status: int = EXIT_USAGE) -> None:
    """Print ``gmm-hub: error: message`` on one line and exit with ``status``."""
    one_line = " ".join(redact(str(message)).split())
    click.echo(f"gmm-hub: error: {one_line}", err=True)
    sys.exit(status)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``gmm-hub`` console script."""
    try:
        status = app.main(args=argv, prog_name="gmm-hub", standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.exceptions.ClickException as err:  # usage errors, bad options
        fail(f"{err.format_message()} (see 'gmm-hub --help')", err.exit_code or EXIT_USAGE)
    except (GMMHubError, ValueError, TypeError, OSError) as err:
        fail(str(err) or type(err).__name__)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    if isinstance(status, int) and status:
        sys.exit(status)


# Command groups register themselves on `app` when imported.
from . import (
    _bundle,  # noqa: F401
    _card,  # noqa: F401
    _hub,  # noqa: F401
    _train,  # noqa: F401
)
