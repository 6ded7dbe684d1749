"""``gmm-hub predict`` and ``gmm-hub verify``: use and check a saved bundle."""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path
from typing import Any

import click

from ..bundle._checks import verify_bundle
from . import app


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(6)}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def predictions_frame(predictor: Any, X: Any, *, proba: bool) -> Any:
    """A DataFrame with a ``prediction`` column and, with ``proba``, ``proba_<class>`` columns."""
    import pandas as pd

    out = pd.DataFrame({"prediction": predictor.predict(X)})
    if proba:
        probabilities = predictor.predict_proba(X)
        for i, label in enumerate(predictor.classes_):
            out[f"proba_{label}"] = probabilities[:, i]
    return out


@app.command("predict")
@click.argument("bundle")
@click.argument("input_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV file to write (atomically). Default: standard output.",
)
@click.option("--proba", is_flag=True, help="Add one probability column per class.")
@click.option(
    "--allow-pickle",
    is_flag=True,
    help="Allow a LOCAL model.joblib (pickle) bundle. Pickle can run arbitrary code: only for trusted files.",
)
@click.option(
    "--trust-remote-pickle",
    metavar="REPO_ID",
    default=None,
    help="Allow the model.joblib of this one Hub repo (must equal BUNDLE). It runs the author's code.",
)
def predict(
    bundle: str, input_csv: Path, output: Path | None, proba: bool, allow_pickle: bool, trust_remote_pickle: str | None
) -> None:
    """Predict the rows of INPUT_CSV with the model in BUNDLE.

    BUNDLE is a bundle directory, a model.skops file, or a Hub repo id
    (user/name) when no such local path exists; a path-like BUNDLE (./x,
    /x, ~/x, a/b/c, x.skops) is never looked up on the Hub. INPUT_CSV needs the
    model's input columns (any order; extra columns are dropped with a
    warning). The output CSV has a "prediction" column, in input row order.
    """
    import pandas as pd

    from ..bundle._io import load

    predictor = load(bundle, allow_pickle=allow_pickle, trust_remote_pickle=trust_remote_pickle)
    X = pd.read_csv(input_csv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = predictions_frame(predictor, X, proba=proba)
    for warning in caught:
        click.echo(f"gmm-hub: warning: {warning.message}", err=True)
    text = frame.to_csv(index=False)
    if output is None:
        click.echo(text, nl=False)
    else:
        _write_atomic(output, text)
        click.echo(f"Wrote {len(frame)} predictions to {output}", err=True)


@app.command("verify")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--allow-pickle", is_flag=True, help="Accept a model.joblib bundle (types cannot be audited).")
def verify(bundle: Path, allow_pickle: bool) -> None:
    """Run the checks of gmm_hub.load on BUNDLE and report each one.

    The same checks as loading (config, sizes and hashes, every node of the
    model against gmm_hub's allowlist, bounds, fitted arrays); a pickle is
    never unpickled. Exits 0 when the bundle is sound, 1 when it is not.
    """
    sound, report = verify_bundle(bundle, allow_pickle=allow_pickle)
    click.echo(f"bundle    {bundle}")
    for check, status, detail in report:
        click.echo(f"{check:<9} {status:<4} {detail}")
    click.echo(f"result    {'sound' if sound else 'NOT SOUND'}")
    if not sound:
        click.get_current_context().exit(1)
