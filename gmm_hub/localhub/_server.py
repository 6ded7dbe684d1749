"""A local, Hub-compatible HTTP server for tests and offline work.

The unmodified ``huggingface_hub`` client talks to it through
``HF_ENDPOINT=http://127.0.0.1:PORT`` (or ``HfApi(endpoint=...)``). It serves
the part of the Hub API the client uses to create, list, upload to, tag and
download from model (and dataset) repos. Every file is committed as a regular
git blob (the preupload answer is always ``"regular"``), so neither LFS nor Xet
is involved. Storage lives in :mod:`gmm_hub.localhub._storage`, request handling in
:mod:`gmm_hub.localhub._handler`.

Standard library only. Safe by default: binds 127.0.0.1, refuses ``..`` and
absolute paths (400), caps request bodies (413), and never logs tokens.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import threading
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from os import PathLike

from ._handler import RequestRecord, _Handler
from ._storage import HubStorage, check_ref

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 512 * 1024 * 1024
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Fault:
    """A fault to inject; see :meth:`LocalHub.inject_fault`."""

    method: str
    path_regex: str
    status: int = 500
    times: int = 1
    retry_after: float | None = None
    drop_after_bytes: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.method.upper() in ("*", method) and re.search(self.path_regex, path) is not None


class LocalHub:
    """A Hub-compatible HTTP server on loopback, backed by a directory.

    Parameters
    ----------
    root : path-like
        Directory holding repos, commits and blobs; created if missing. A new
        server on the same root serves everything committed before.
    host : str, default="127.0.0.1"
        Interface to bind. Anything but loopback logs a warning.
    port : int, default=0
        TCP port; 0 picks a free one (read it back from :attr:`url`).
    tokens : dict of str to str, optional
        ``{user: token}``. A request with ``Authorization: Bearer <token>``
        acts as ``user`` and may write to the ``user/`` namespace only.
    max_body_bytes : int, default=512 MiB
        Larger request bodies are refused with 413.
    tree_page_size : int, default=1000
        Entries per page of the tree listing (the client follows ``Link``).

    Attributes
    ----------
    requests : list of RequestRecord
        Every request served, in order (``method, path, status``).
    storage : HubStorage
        The on-disk store.

    Examples
    --------
    >>> with LocalHub(tmp_path, tokens={"alice": "tok"}) as hub:  # doctest: +SKIP
    ...     HfApi(endpoint=hub.url, token="tok").create_repo("alice/demo")
    """

    def __init__(
        self,
        root: str | PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: dict[str, str] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        tree_page_size: int = 1000,
    ) -> None:
        self.storage = HubStorage(root)
        self.tokens = dict(tokens or {})
        for user in self.tokens:
            check_ref(user)
        self.max_body_bytes = int(max_body_bytes)
        self.tree_page_size = int(tree_page_size)
        self.requests: list[RequestRecord] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if host not in _LOOPBACK:
            logger.warning("Local Hub bound to %s: it is reachable from other machines.", host)
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hub = self  # type: ignore[attr-defined]
        self._httpd.open_sockets = set()  # type: ignore[attr-defined]
        bound_host, bound_port = self._httpd.server_address[:2]
        # getsockname() of an AF_INET/AF_INET6 socket gives a str host; the stub also allows bytes
        assert isinstance(bound_host, str)
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{url_host}:{bound_port}"

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> LocalHub:
        """Serve in a background daemon thread; return ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name="local-hub", daemon=True
            )
            self._thread.start()
            logger.info("Local Hub serving %s at %s", self.storage.root, self.url)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (used by ``gmm-hub hub serve``)."""
        logger.info("Local Hub serving %s at %s", self.storage.root, self.url)
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        """Stop serving, close open connections and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        for sock in list(self._httpd.open_sockets):  # type: ignore[attr-defined]
            with contextlib.suppress(OSError):
                sock.shutdown(2)
        self._httpd.server_close()

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test helpers ---------------------------------------------------------
    def inject_fault(
        self,
        method: str,
        path_regex: str,
        status: int = 500,
        *,
        times: int = 1,
        retry_after: float | None = None,
        drop_after_bytes: int | None = None,
    ) -> Fault:
        """Make the next ``times`` requests matching ``method`` and ``path_regex`` fail.

        Parameters
        ----------
        method : str
            HTTP method (``"GET"``, ``"HEAD"``, ``"POST"``...) or ``"*"``.
        path_regex : str
            Searched (``re.search``) in the raw URL path, e.g. ``r"/commit/"``.
        status : int, default=500
            Status returned instead of the real answer.
        times : int, default=1
            How many matching requests fail before the fault expires.
        retry_after : float, optional
            Sent as the ``Retry-After`` header (seconds).
        drop_after_bytes : int, optional
            Instead of an error, send the real headers and only the first
            ``drop_after_bytes`` bytes of the body, then close the connection.
        """
        fault = Fault(method, path_regex, status, times, retry_after, drop_after_bytes)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every pending fault."""
        with self._lock:
            self._faults.clear()

    def count(self, method: str | None = None, path_regex: str | None = None) -> int:
        """Number of served requests matching ``method`` and ``path_regex``."""
        return sum(
            1
            for r in list(self.requests)
            if (method is None or r.method == method) and (path_regex is None or re.search(path_regex, r.path))
        )

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def _user_for(self, token: str) -> str | None:
        found = None
        for user, secret in self.tokens.items():
            if hmac.compare_digest(secret.encode(), token.encode()):
                found = user
        return found


__all__ = ["Fault", "LocalHub", "RequestRecord"]
