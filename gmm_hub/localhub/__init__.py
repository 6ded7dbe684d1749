"""Local Hub: a Hub-compatible HTTP server on loopback, for tests and offline work.

A separate program (``gmm-hub hub serve``), not part of the library's data
flow: the unmodified ``huggingface_hub`` client talks to it through
``HF_ENDPOINT``, and ``git clone`` works on it. :class:`LocalHub` runs it
in-process. Repos are bare git repositories (dulwich) with LFS content in a
store by sha256; the HTTP layer is Starlette routing on uvicorn. Needs the
``localhub`` extra: ``pip install "gmm-hub[localhub]"``.
"""

from ._server import Fault, LocalHub, RequestRecord

__all__ = ["Fault", "LocalHub", "RequestRecord"]
