"""Checks on what skops built from an audited file, before anything uses it.

:func:`validate_model` visits every object the loaded tree holds and

- resets settings with side effects to their safe values: ``n_jobs`` ->
  None (no worker processes), ``memory`` -> None (no cache directory
  written), ``verbose`` -> 0 (no output); each reset is logged;
- refuses (:class:`~gmm_hub.exceptions.BundleError`) fitted arrays that are
  inconsistent with each other or not finite where the scorer needs them:
  every :class:`~sklearn.mixture.GaussianMixture` (``weights_``, ``means_``,
  ``covariances_``, ``precisions_``, ``precisions_cholesky_`` against
  ``n_components``, ``covariance_type`` and the number of features), every
  :class:`~gmm_hub.GMMClassifier` (``classes_``, ``gmms_``,
  ``class_prior_``, ``threshold_``, ``n_features_in_``) and the per-feature
  statistics of the scalers and the imputer;
- refuses a ``make_column_selector`` with a ``pattern``: a crafted regular
  expression could take exponential time on column names (gmm_hub's
  pipelines select by dtype).

numpy checks its own indexing, so an array of the wrong shape can only make
an estimator fail or, through broadcasting, answer wrongly: the shape checks
rule out the second.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import numpy as np

from ..exceptions import BundleError

__all__ = ["SAFE_SETTINGS", "validate_model"]

logger = logging.getLogger(__name__)

#: Settings reset on load, and the value they get.
SAFE_SETTINGS: dict[str, Any] = {"n_jobs": None, "memory": None, "verbose": 0}
_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_PER_FEATURE = {
    "StandardScaler": ("mean_", "scale_", "var_"),
    "RobustScaler": ("center_", "scale_"),
    "SimpleImputer": ("statistics_",),
    "PowerTransformer": ("lambdas_",),
}


def _bad(owner: Any, problem: str) -> BundleError:
    return BundleError(
        f"refusing the model: its {type(owner).__name__} {problem}. The file is damaged or was crafted; "
        "re-save the model with gmm_hub.save."
    )


def _objects(root: Any) -> list[Any]:
    """Every estimator-like object reachable from ``root`` (through attributes, lists, tuples, dicts)."""
    seen: set[int] = set()
    found, stack = [], [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, np.ndarray, np.generic, type)):
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") and type(obj).__module__.startswith(("sklearn.", "gmm_hub.")):
            found.append(obj)
            stack.extend(vars(obj).values())
    return found


def _array(owner: Any, name: str, shape: tuple[int, ...], *, finite: bool = True, kinds: str = "fiu") -> np.ndarray:
    value = getattr(owner, name, None)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds:
        raise _bad(owner, f"{name} is not a numeric array (got {type(value).__name__})")
    if value.shape != shape:
        raise _bad(owner, f"{name} has shape {value.shape}, expected {shape}")
    if finite and value.dtype.kind in "fiu" and not np.all(np.isfinite(value)):
        raise _bad(owner, f"{name} holds NaN or infinite values")
    return value


def _count(owner: Any, name: str, minimum: int = 1) -> int:
    value = getattr(owner, name, None)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise _bad(owner, f"{name} is {value!r}, expected an integer >= {minimum}")
    return int(value)


def _check_mixture(gmm: Any, n_features: int | None) -> int:
    kind = getattr(gmm, "covariance_type", None)
    if kind not in _COVARIANCE_TYPES:
        raise _bad(gmm, f"covariance_type is {kind!r}, expected one of {_COVARIANCE_TYPES}")
    k = _count(gmm, "n_components")
    means = getattr(gmm, "means_", None)
    if not isinstance(means, np.ndarray) or means.ndim != 2:
        raise _bad(gmm, "means_ is not a 2-D array")
    d = means.shape[1] if n_features is None else n_features
    _array(gmm, "means_", (k, d))
    weights = _array(gmm, "weights_", (k,))
    if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, atol=1e-6):
        raise _bad(gmm, f"weights_ are not non-negative weights summing to 1 (sum {weights.sum():.6g})")
    shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[kind]
    _array(gmm, "precisions_cholesky_", shape)
    for name in ("covariances_", "precisions_"):
        if getattr(gmm, name, None) is not None:
            _array(gmm, name, shape)
    if getattr(gmm, "n_features_in_", d) != d:
        raise _bad(gmm, f"n_features_in_ is {gmm.n_features_in_}, but its means_ have {d} features")
    return d


def _check_classifier(clf: Any) -> None:
    classes = getattr(clf, "classes_", None)
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        raise _bad(clf, "classes_ is not a 1-D array of at least 2 labels")
    n = len(classes)
    gmms = getattr(clf, "gmms_", None)
    if not isinstance(gmms, list) or len(gmms) != n:
        raise _bad(clf, f"gmms_ is not a list of {n} mixtures (one per class)")
    d = _count(clf, "n_features_in_")
    for gmm in gmms:
        if type(gmm).__name__ != "GaussianMixture":
            raise _bad(clf, f"gmms_ holds a {type(gmm).__name__}, expected GaussianMixture")
        _check_mixture(gmm, d)
    prior = _array(clf, "class_prior_", (n,))
    if np.any(prior < 0) or not np.isclose(prior.sum(), 1.0, atol=1e-6):
        raise _bad(clf, f"class_prior_ is not a probability vector (sum {prior.sum():.6g})")
    threshold = getattr(clf, "threshold_", None)
    if threshold is not None and not (isinstance(threshold, (float, int, np.floating)) and 0 <= threshold <= 1):
        raise _bad(clf, f"threshold_ is {threshold!r}, expected None or a number in [0, 1]")
    if getattr(clf, "power_lambdas_", None) is not None:  # the Yeo-Johnson transform of each feature
        for name in ("power_lambdas_", "power_center_", "power_scale_"):
            _array(clf, name, (d,))
        if np.any(clf.power_scale_ <= 0):
            raise _bad(clf, "power_scale_ holds a scale that is not positive")
        if getattr(clf, "asinh_params_", None) is not None:  # Johnson S_U (shift, spread) per feature, NaN: unused
            asinh = _array(clf, "asinh_params_", (d, 2), finite=False)
            used = ~np.isnan(asinh[:, 0])
            if not (np.isnan(asinh[~used]).all() and np.isfinite(asinh[used]).all() and np.all(asinh[used, 1] > 0)):
                raise _bad(
                    clf, "asinh_params_ holds a shift or spread that is not finite, or a spread that is not positive"
                )
    if getattr(clf, "floor_scale_", None) is not None and np.any(_array(clf, "floor_scale_", (n,)) < 0):
        raise _bad(clf, "floor_scale_ holds a negative floor multiplier")
    if getattr(clf, "floor_shape_", None) is not None:
        shapes = _array(clf, "floor_shape_", (n,), kinds="U")
        if not set(shapes.tolist()) <= {"diagonal", "pooled"}:
            raise _bad(clf, "floor_shape_ holds a shape other than 'diagonal' or 'pooled'")
    names = getattr(clf, "feature_names_in_", None)
    if names is not None and (not isinstance(names, np.ndarray) or names.shape != (d,)):
        raise _bad(clf, f"feature_names_in_ does not name its {d} features")


def _check_per_feature(est: Any) -> None:
    n = getattr(est, "n_features_in_", None)
    if n is None:
        return
    n = _count(est, "n_features_in_")
    for name in _PER_FEATURE[type(est).__name__]:
        if getattr(est, name, None) is not None:
            _array(est, name, (n,), finite=name != "statistics_", kinds="fiu" if name != "statistics_" else "fiuOU")


_PARAMS: dict[type, tuple[str, ...]] = {}


def _init_params(cls: type) -> tuple[str, ...]:
    """The parameters ``cls.__init__`` takes by name (what ``get_params`` reads back)."""
    if cls not in _PARAMS:
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        _PARAMS[cls] = tuple(p.name for p in inspect.signature(cls).parameters.values() if p.kind in kinds)
    return _PARAMS[cls]


def validate_model(model: Any) -> Any:
    """Reset side-effect settings and check the fitted arrays of everything in ``model``.

    Parameters
    ----------
    model : estimator
        What skops built from an audited file.

    Returns
    -------
    model : estimator
        The same object, with ``n_jobs``/``memory``/``verbose`` reset.

    Raises
    ------
    BundleError
        If a fitted array is missing, of the wrong shape or dtype, or not finite.
    """
    for obj in _objects(model):
        state = vars(obj)
        for name, safe in SAFE_SETTINGS.items():
            if name in state and state[name] not in (safe, None if safe is None else False):
                logger.info("reset %s.%s=%r to %r on load", type(obj).__name__, name, state[name], safe)
                state[name] = safe
        kind = type(obj).__name__
        if hasattr(obj, "get_params"):
            missing = [name for name in _init_params(type(obj)) if not hasattr(obj, name)]
            if missing:
                raise _bad(obj, f"lacks the parameter(s) {', '.join(missing)}")
        if kind == "make_column_selector" and getattr(obj, "pattern", None) is not None:
            raise _bad(obj, "selects columns by a regular expression (pattern=...), which gmm_hub does not load")
        if kind == "GMMClassifier" and hasattr(obj, "classes_"):
            _check_classifier(obj)
        elif kind == "GaussianMixture" and hasattr(obj, "means_"):
            _check_mixture(obj, None)
        elif kind in _PER_FEATURE:
            _check_per_feature(obj)
    return model
