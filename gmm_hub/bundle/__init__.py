"""Bundle: a fitted model saved securely with skops, and read back.

- :func:`save` writes ``model.skops`` and ``config.json`` (schema, versions,
  metrics, file hashes); :func:`load` checks and rebuilds a :class:`Predictor`;
- :func:`verify_bundle` runs the same checks without building the model;
- :func:`trusted_types` is the fixed allowlist a bundle's types must be on.
"""

from ._io import load, save
from ._predictor import Predictor
from ._trust import trusted_types, verify_bundle

__all__ = ["Predictor", "load", "save", "trusted_types", "verify_bundle"]
