"""Tests of gmm_hub.card._plots: the card figures drawn from stored metrics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gmm_hub.card._plots import plot_confusion_matrix, plot_precision_recall
from gmm_hub.exceptions import InvalidInputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MATRIX = [[90, 10], [3, 7]]
LABELS = ["legit", "fraud"]
PRECISION = [0.1, 0.4, 0.7, 1.0]
RECALL = [1.0, 0.8, 0.5, 0.0]


def _read_png(path: Path):
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return imread(path)


def test_plot_confusion_matrix_writes_valid_png(tmp_path):
    out = plot_confusion_matrix(MATRIX, LABELS, tmp_path / "cm.png")
    assert out == tmp_path / "cm.png"
    image = _read_png(out)
    assert image.ndim == 3 and image.shape[0] >= 200 and image.shape[1] >= 200
    assert image.std() > 0  # not a blank canvas
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.png"]  # no temp file left


def test_plot_confusion_matrix_handles_many_classes_and_empty_rows(tmp_path):
    n = 12
    matrix = [[(i == j) * 5 for j in range(n)] for i in range(n)]
    matrix[3] = [0] * n  # a class that never occurs in the evaluation data
    image = _read_png(plot_confusion_matrix(matrix, list(range(n)), tmp_path / "cm.png"))
    assert image.shape[1] > image.shape[0] * 0.9


@pytest.mark.parametrize(
    ("matrix", "labels"),
    [([[1, 2], [3, 4]], ["a", "b", "c"]), ([[1, 2, 3], [4, 5, 6]], ["a", "b"]), ([[1, -2], [3, 4]], ["a", "b"])],
)
def test_plot_confusion_matrix_rejects_bad_matrix(tmp_path, matrix, labels):
    with pytest.raises(InvalidInputError, match="confusion matrix"):
        plot_confusion_matrix(matrix, labels, tmp_path / "cm.png")
    assert not (tmp_path / "cm.png").exists()


def test_plot_precision_recall_writes_valid_png(tmp_path):
    out = plot_precision_recall(
        PRECISION, RECALL, tmp_path / "pr.png", average_precision=0.61, prevalence=0.1, pos_label="fraud"
    )
    image = _read_png(out)
    assert image.ndim == 3 and image.shape[0] >= 200 and image.shape[1] >= 200
    assert image.std() > 0


@pytest.mark.parametrize(
    ("precision", "recall", "match"),
    [
        ([0.5, 1.0], [1.0], "same non-zero length"),
        ([], [], "same non-zero length"),
        ([0.5, 1.5], [1.0, 0.0], r"\[0, 1\]"),
    ],
)
def test_plot_precision_recall_rejects_bad_curve(tmp_path, precision, recall, match):
    with pytest.raises(InvalidInputError, match=match):
        plot_precision_recall(precision, recall, tmp_path / "pr.png")


def test_plot_output_is_deterministic(tmp_path):
    # Regenerating a card must not change the recorded hashes of unchanged figures.
    a = plot_confusion_matrix(MATRIX, LABELS, tmp_path / "a.png").read_bytes()
    b = plot_confusion_matrix(MATRIX, LABELS, tmp_path / "b.png").read_bytes()
    assert a == b


def test_plot_replaces_existing_file_atomically(tmp_path, monkeypatch):
    target = tmp_path / "cm.png"
    target.write_bytes(b"previous figure")
    plot_confusion_matrix(MATRIX, LABELS, target)
    first = target.read_bytes()
    assert first[:8] == PNG_SIGNATURE

    from matplotlib.figure import Figure

    def broken_savefig(self, fname, **kwargs):
        fname.write(PNG_SIGNATURE + b"half a figure")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot_confusion_matrix([[1, 0], [0, 1]], LABELS, target)
    assert target.read_bytes() == first  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.png"]  # and no temp file is left


def test_plot_modules_import_matplotlib_lazily():
    code = (
        "import sys, gmm_hub.card._plots, gmm_hub.card._render\n"
        "heavy = [m for m in ('matplotlib', 'jinja2', 'huggingface_hub') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
