"""Exceptions raised by gmm_hub.

Every error derives from :class:`GMMHubError` and from the builtin that
describes it (``ValueError`` for bad values, ``TypeError`` for refused types),
so callers can catch either. Messages say what was expected, what was found
and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "BundleError",
    "DatasetError",
    "GMMHubError",
    "HubError",
    "IntegrityError",
    "InvalidInputError",
    "SchemaError",
    "UntrustedModelError",
]


class GMMHubError(Exception):
    """Base class of every error raised on purpose by gmm_hub."""


class InvalidInputError(GMMHubError, ValueError):
    """Training or prediction data, or a parameter, is not usable as given."""


class DatasetError(GMMHubError, ValueError):
    """A data set name is unknown, or its source cannot be reached or read."""


class SchemaError(InvalidInputError):
    """Prediction input does not match the input schema stored with a model."""


class BundleError(GMMHubError, ValueError):
    """A model bundle is malformed, unsupported, or would be overwritten."""


class IntegrityError(BundleError):
    """A bundle file does not match the sha256 recorded in its config.json."""


class UntrustedModelError(GMMHubError, TypeError):
    """Loading would construct a type or run code that is not trusted."""


class HubError(GMMHubError, ValueError):
    """A Hub operation cannot proceed (no token, refused bundle, bad repo id)."""
