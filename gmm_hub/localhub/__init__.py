"""Local Hub: a Hub-compatible HTTP server on loopback, for tests and offline work.

A separate program (``gmm-hub hub serve``), not part of the library's data
flow: the unmodified ``huggingface_hub`` client talks to it through
``HF_ENDPOINT``. :class:`LocalHub` runs it in-process.
"""

from ._server import Fault, LocalHub, RequestRecord

__all__ = ["Fault", "LocalHub", "RequestRecord"]
