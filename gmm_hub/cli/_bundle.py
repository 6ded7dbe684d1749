"""``gmm-hub predict`` and ``gmm-hub verify``: use and check a saved bundle."""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path
from typing import Any

import click

from ..bundle._trust import verify_bundle
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
    help="Allow a model.joblib (pickle) bundle. Pickle can run arbitrary code: only for trusted files.",
)
def predict(bundle: str, input_csv: Path, output: Path | None, proba: bool, allow_pickle: bool) -> None:
    """Predict the rows of INPUT_CSV with the model in BUNDLE.

    BUNDLE is a bundle directory or a model.skops file. INPUT_CSV needs the
    model's input columns (any order; extra columns are dropped with a
    warning). The output CSV has a "prediction" column, in input row order.
    """
    import pandas as pd

    from ..bundle._io import load

    predictor = load(bundle, allow_pickle=allow_pickle)
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
    """Check BUNDLE's hashes, model types and versions without loading the model.

    Exits 0 when the bundle is sound and 1 when it is not.
    """
    sound, report = verify_bundle(bundle, allow_pickle=allow_pickle)
    click.echo(f"bundle    {bundle}")
    for check, status, detail in report:
        click.echo(f"{check:<9} {status:<4} {detail}")
    click.echo(f"result    {'sound' if sound else 'NOT SOUND'}")
    if not sound:
        click.get_current_context().exit(1)
