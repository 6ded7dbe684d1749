"""Figures for the model card, drawn from the metrics stored in a bundle.

Both figures are drawn from plain lists (``config["metrics"]``), never from
data, so a card can be regenerated from the bundle alone. Matplotlib is
imported inside the functions and only its object-oriented API with the Agg
canvas is used: no ``pyplot``, no global figure state, no display needed.
Files are written atomically (temporary file in the same directory, then
:func:`os.replace`), so a reader never sees a half-written PNG.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import InvalidInputError

__all__ = ["confusion_layout", "plot_confusion_matrix", "plot_precision_recall"]

logger = logging.getLogger(__name__)

#: Pixels per inch of the PNGs (the Hub shows them scaled to its column).
_DPI = 150
#: Width of the confusion matrix, in inches, whatever the class count: the card
#: shows it at about this width (~700 px), so fonts keep their size on screen.
_MATRIX_WIDTH = 6.5


def confusion_layout(n: int) -> dict[str, Any]:
    """Figure size, font sizes and what to annotate for an ``n``-class confusion matrix.

    The figure grows with ``n`` up to one column width and no further (the
    card scales images to its column, so a wider figure would only shrink its
    text), and the cell text
    shrinks with the cell: counts and row shares up to 6 classes, counts of
    the non-empty cells up to 20, colour alone beyond.
    """
    width = min(_MATRIX_WIDTH, 3.0 + 0.35 * n)  # a 2x2 matrix needs no full column
    cell = width * 0.78 / max(n, 1)  # inches per cell, colour bar and labels aside
    return {
        "size": (width, width * 0.86),
        "tick_fontsize": 10 if n <= 10 else 8,
        "cell_fontsize": float(min(11.0, max(6.5, cell * 72 * 0.33))),
        "annotate": "count and share" if n <= 6 else "count" if n <= 20 else "none",
    }


def _new_figure(width: float, height: float) -> Any:
    """Return a matplotlib ``Figure`` attached to an Agg canvas."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - matplotlib is a dependency
        raise ImportError(
            "Drawing the model-card figures needs matplotlib; install it with "
            "`pip install matplotlib` (it is a dependency of gmm_hub)."
        ) from err
    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_atomic(fig: Any, path: Path) -> Path:
    """Save ``fig`` as PNG to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            # no "Software" entry: the bytes depend on the figure, not the matplotlib build
            fig.savefig(handle, format="png", dpi=_DPI, metadata={"Software": None})
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.debug("wrote %s", path)
    return path


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]],
    labels: Sequence[Any],
    path: str | os.PathLike[str],
    *,
    title: str = "Confusion matrix",
) -> Path:
    """Draw a confusion matrix as a PNG file.

    Each cell shows the count and its share of the true class (the row), and
    the colour follows that share, so a rare class is as visible as a common
    one.

    Parameters
    ----------
    matrix : sequence of sequence of int
        Square matrix of counts, rows are true classes and columns predicted
        classes, both in ``labels`` order (``evaluate()["confusion_matrix"]``).
    labels : sequence
        Class labels, one per row.
    path : str or path-like
        PNG file to write; replaced atomically if it exists.
    title : str, default="Confusion matrix"
        Figure title.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    InvalidInputError
        If ``matrix`` is not square, does not match ``labels`` or holds
        negative counts.
    """
    counts = np.asarray(matrix, dtype=float)
    n = len(labels)
    if counts.ndim != 2 or counts.shape != (n, n) or n == 0:
        raise InvalidInputError(
            f"Expected a square confusion matrix with one row and column per label "
            f"({n} labels) but got shape {counts.shape}; pass evaluate()['confusion_matrix'] "
            "together with evaluate()['labels']."
        )
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise InvalidInputError("Expected non-negative finite counts in the confusion matrix.")
    row_sums = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, row_sums, out=np.zeros_like(counts), where=row_sums > 0)

    layout = confusion_layout(n)
    fig = _new_figure(*layout["size"])
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, label="share of true class", shrink=0.8)
    names = [str(label) for label in labels]
    tick = layout["tick_fontsize"]
    ax.set_xticks(range(n), names, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center", fontsize=tick)
    ax.set_yticks(range(n), names, fontsize=tick)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    for i in range(n):
        for j in range(n):
            if layout["annotate"] == "none" or (layout["annotate"] == "count" and counts[i, j] == 0):
                continue
            colour = "white" if share[i, j] > 0.5 else "black"
            text = f"{int(counts[i, j])}"
            if layout["annotate"] == "count and share":
                text += f"\n{share[i, j]:.1%}"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=layout["cell_fontsize"])
    return _save_atomic(fig, Path(path))


def plot_precision_recall(
    precision: Sequence[float],
    recall: Sequence[float],
    path: str | os.PathLike[str],
    *,
    average_precision: float | None = None,
    prevalence: float | None = None,
    pos_label: Any = None,
    title: str = "Precision-recall curve",
) -> Path:
    """Draw a precision-recall curve as a PNG file.

    Parameters
    ----------
    precision, recall : sequence of float
        Points of the curve, as in ``evaluate()["precision_recall_curve"]``.
    path : str or path-like
        PNG file to write; replaced atomically if it exists.
    average_precision : float, optional
        PR-AUC shown in the legend.
    prevalence : float, optional
        Share of the positive class; drawn as the precision of a random
        classifier (the chance level of this curve).
    pos_label : object, optional
        Label of the positive class, shown on the axis.
    title : str, default="Precision-recall curve"
        Figure title.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    InvalidInputError
        If the two sequences differ in length, are empty, or leave [0, 1].
    """
    p = np.asarray(precision, dtype=float)
    r = np.asarray(recall, dtype=float)
    if p.ndim != 1 or p.shape != r.shape or p.size == 0:
        raise InvalidInputError(
            f"Expected precision and recall of the same non-zero length but got "
            f"{p.shape} and {r.shape}; pass evaluate()['precision_recall_curve']."
        )
    values = np.concatenate([p, r])
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise InvalidInputError("Expected precision and recall values in [0, 1].")

    fig = _new_figure(4.2, 3.2)
    ax = fig.add_subplot()
    label = "model" if average_precision is None else f"model (AP = {average_precision:.3f})"
    # clip_on=False: the segments on recall = 1 and precision = 1 lie on the frame
    ax.step(r, p, where="post", label=label, color="tab:blue", linewidth=1.8, clip_on=False, zorder=3)
    if prevalence is not None and 0 < prevalence < 1:
        ax.axhline(prevalence, linestyle="--", color="grey", label=f"chance ({prevalence:.3f})")
    positive = "" if pos_label is None else f" (positive class: {pos_label})"
    ax.set_xlabel(f"recall{positive}")
    ax.set_ylabel("precision")
    ax.set_xlim(-0.01, 1.02)
    ax.set_ylim(0.0, 1.04)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    ax.set_title(title)
    return _save_atomic(fig, Path(path))
