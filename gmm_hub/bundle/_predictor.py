"""The object :func:`gmm_hub.load` returns: a model with its bundle metadata.

Every prediction goes through the stored input schema first
(:func:`gmm_hub.bundle._schema.validate_input`, rules in
:data:`gmm_hub.bundle.INPUT_POLICY`), so columns are matched by name, extras
dropped with a warning, and missing or uncastable columns refused by name. An
error the model raises on input that passed the schema means the model itself is
inconsistent: it becomes a :class:`~gmm_hub.exceptions.BundleError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..exceptions import BundleError, GMMHubError
from ._schema import json_native, validate_input

__all__ = ["Predictor"]


class Predictor:
    """A loaded model with its bundle metadata and input checking.

    Parameters
    ----------
    model : estimator
        The fitted estimator or pipeline.
    config : dict
        The bundle's ``config.json`` content (or what could be derived for a
        lone model file).
    path : Path, default=None
        Where the model was loaded from.

    Attributes
    ----------
    model : estimator
        The deserialised estimator or pipeline.
    config : dict
        Bundle metadata; also available as :attr:`metadata`.
    schema : dict
        The input schema, ``config["schema"]``.
    classes_ : ndarray
        Class labels, as the model holds them.
    """

    def __init__(self, model: Any, config: dict[str, Any], path: Path | None = None) -> None:
        self.model = model
        self.config = config
        self.path = path

    @property
    def metadata(self) -> dict[str, Any]:
        """Alias of :attr:`config`."""
        return self.config

    @property
    def schema(self) -> dict[str, Any]:
        """The input schema stored with the model."""
        return self.config["schema"]

    @property
    def classes_(self) -> Any:
        """Class labels in the order of :meth:`predict_proba` columns."""
        return self.model.classes_

    @property
    def feature_names(self) -> list[str]:
        """Input column names, in the model's order."""
        return [c["name"] for c in self.schema["columns"]]

    def validate(self, X: Any) -> Any:
        """Return ``X`` checked and arranged as the model expects (see ``validate_input``)."""
        as_frame = getattr(self.model, "feature_names_in_", None) is not None
        categorical = [c["name"] for c in self.schema["columns"] if c.get("kind", "numeric") != "numeric"]
        if not as_frame and categorical:  # a model fed arrays cannot take the schema's categories
            raise BundleError(
                f"the bundle's model takes numeric arrays (it records no input column names) but its "
                f"schema lists categorical column(s) {', '.join(categorical)}: the model and its config "
                "do not belong together. Re-save the bundle from the fitted pipeline."
            )
        return validate_input(X, self.schema, as_frame=as_frame)

    def predict(self, X: Any) -> Any:
        """Predict class labels for ``X`` after checking it against the schema.

        Parameters
        ----------
        X : DataFrame, ndarray, list of rows or dict of columns
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_rows,)
        """
        return self._call("predict", self.validate(X))

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities for ``X``, columns in :attr:`classes_` order.

        Parameters
        ----------
        X : DataFrame, ndarray, list of rows or dict of columns
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_rows, n_classes)
        """
        return self._call("predict_proba", self.validate(X))

    def _call(self, method: str, X: Any) -> Any:
        """Run ``model.<method>(X)``; an error on input that passed the schema means the model is inconsistent."""
        try:
            return getattr(self.model, method)(X)
        except GMMHubError:
            raise
        except (ValueError, TypeError, AttributeError, LookupError, ArithmeticError) as err:
            raise BundleError(
                f"the model could not {method} input that matches its schema ({type(err).__name__}: "
                f"{str(err)[:200]}); the bundle may be inconsistent. Check it with `gmm-hub verify` or re-save it."
            ) from err

    def __repr__(self) -> str:
        est = self.config.get("model", {}).get("estimator", type(self.model).__name__)
        return f"Predictor({est}, classes={json_native(self.classes_)}, path={str(self.path)!r})"
