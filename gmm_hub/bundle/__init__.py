"""Bundle: a fitted model saved securely with skops, and read back.

- :func:`save` writes ``model.skops`` and ``config.json`` (schema, versions,
  metrics, file hashes); :func:`load` checks and rebuilds a :class:`Predictor`;
- :func:`verify_bundle` runs the same checks and reports each one;
- :func:`trusted_types` is the fixed allowlist every node of a bundle's model must be on;
- :data:`INPUT_POLICY` says how prediction input is matched to the stored schema.
"""

from ._checks import verify_bundle
from ._io import load, save
from ._predictor import Predictor
from ._schema import INPUT_POLICY, UnknownCategoryWarning
from ._trust import trusted_types

__all__ = ["INPUT_POLICY", "Predictor", "UnknownCategoryWarning", "load", "save", "trusted_types", "verify_bundle"]
