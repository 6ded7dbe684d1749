"""File names and format numbers shared by the bundle, card and hub modules."""

from __future__ import annotations

#: Version of the bundle layout written into config.json. Bump it when a
#: change would make an older gmm_hub misread a new bundle.
PROTOCOL = 1

CONFIG_FILE = "config.json"
SKOPS_FILE = "model.skops"
JOBLIB_FILE = "model.joblib"
CARD_FILE = "README.md"
CONFUSION_MATRIX_PNG = "confusion_matrix.png"
PR_CURVE_PNG = "precision_recall.png"

TASK = "tabular-classification"
LIBRARY_NAME = "gmm_hub"
