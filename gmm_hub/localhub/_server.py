"""A local, Hub-compatible HTTP server for tests and offline work.

The unmodified ``huggingface_hub`` client talks to it through
``HF_ENDPOINT=http://127.0.0.1:PORT`` (or ``HfApi(endpoint=...)``); ``git clone``
works on it too. Storage is one bare git repository per repo plus an LFS store
(:mod:`gmm_hub.localhub._git`, :mod:`gmm_hub.localhub._lfs`); the HTTP layer is
Starlette routing (:mod:`gmm_hub.localhub._app`) on uvicorn, run in a thread for
:class:`LocalHub` or in the calling thread for ``gmm-hub hub serve``.

Safe by default: binds 127.0.0.1, refuses ``..`` and absolute paths (400), checks
the caller and the route before reading a body, caps bodies (413), in-memory body
bytes across connections (503), connections (``limit_concurrency``) and the time of
each request (408/503), and never logs tokens. Several servers may share one root:
every ref update is a compare-and-swap under git's lock files.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from ._access import find_token, token_table
from ._app import RequestRecord, build_app
from ._body import MemoryBudget
from ._lfs import LfsStore
from ._migrate import migrate_root
from ._names import check_name
from ._store import RepoStore

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
    """A Hub-compatible HTTP server on loopback, backed by a directory of git repositories.

    Parameters
    ----------
    root : path-like
        Directory holding the repos and the LFS store; created if missing. A new
        server on the same root serves everything committed before; a root written
        by gmm_hub 0.1.0 is migrated on first start (see :mod:`gmm_hub.localhub._migrate`).
    host : str, default="127.0.0.1"
        Interface to bind. Anything but loopback logs a warning.
    port : int, default=0
        TCP port; 0 picks a free one (read it back from :attr:`url`).
    tokens : dict of str to str or list of str, optional
        ``{user: token}``. A request with ``Authorization: Bearer <token>`` (or HTTP
        basic auth with the token as password) acts as ``user`` and may write to the
        ``user/`` namespace (and its organisations') only. ``"TOKEN:read"`` makes a
        read token, which cannot write; a list gives a user several tokens
        (:mod:`gmm_hub.localhub._access`).
    orgs : dict of str to list of str, optional
        ``{organisation: [member, ...]}``: members write to the organisation's
        namespace and see its private repos; ``whoami`` lists them.
    max_body_bytes : int, default=512 MiB
        Larger request bodies are refused with 413, before any byte is read.
    tree_page_size : int, default=1000
        Entries per page of the tree listing (the client follows ``Link``).
    request_timeout : float, default=300
        Seconds a request may take, body included: 408 if the body is still
        arriving, 503 otherwise.
    max_connections : int, default=256
        Concurrent connections (uvicorn's ``limit_concurrency``); more get 503.
    memory_budget : int, default=64 MiB
        Bytes of JSON bodies held in memory across all connections; beyond, 503.

    Attributes
    ----------
    requests : list of RequestRecord
        Every request served, in order (``method, path, status``).
    store : RepoStore
        The repos. ``lfs`` (:class:`~gmm_hub.localhub._lfs.LfsStore`) holds LFS content.

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
        tokens: Mapping[str, str | Iterable[str]] | None = None,
        orgs: Mapping[str, Iterable[str]] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        tree_page_size: int = 1000,
        request_timeout: float = 300.0,
        max_connections: int = 256,
        memory_budget: int = 64 * 1024 * 1024,
    ) -> None:
        import uvicorn

        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        migrate_root(self.root)
        self.store = RepoStore(self.root)
        for repo_type, namespace, name in self.store:  # roots from before LFS grants: grant what each repo names
            repo = self.store.get(repo_type, namespace, name)
            if repo is not None:
                repo.backfill_lfs_grants()
        self.lfs = LfsStore(self.root)
        (self.root / "tmp").mkdir(exist_ok=True)
        self.tokens = dict(tokens or {})  # {user: spec(s)}, read on each request (tests may change it)
        self.orgs = {check_name(org, "organisation"): frozenset(members) for org, members in (orgs or {}).items()}
        for user in {t.user for t in token_table(self.tokens)} | {m for members in self.orgs.values() for m in members}:
            check_name(user, "user")
        self.max_body_bytes = int(max_body_bytes)
        self.max_json_bytes = 32 * 1024 * 1024
        self.drain_limit = 64 * 1024 * 1024  # refused bodies above this close the connection unread
        self.tree_page_size = int(tree_page_size)
        self.request_timeout = float(request_timeout)
        self.budget = MemoryBudget(memory_budget)
        self.requests: list[RequestRecord] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if host not in _LOOPBACK:
            logger.warning("Local Hub bound to %s: it is reachable from other machines.", host)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted sockets inherit it: small replies must not wait ~40 ms for the client's delayed ACK
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind((host, port))
        self._socket.listen(1024)
        bound_host, bound_port = self._socket.getsockname()[:2]
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{url_host}:{bound_port}"
        config = uvicorn.Config(
            build_app(self),
            http="h11",
            loop="asyncio",
            lifespan="off",
            interface="asgi3",
            ws="none",
            log_config=None,
            access_log=False,
            server_header=False,
            limit_concurrency=max_connections,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=2,
            h11_max_incomplete_event_size=64 * 1024,
        )
        self._server = uvicorn.Server(config)

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> LocalHub:
        """Serve in a background daemon thread; return ``self`` once it accepts connections."""
        if self._thread is None:
            self._server.should_exit = False
            self._thread = threading.Thread(
                target=self._server.run, kwargs={"sockets": [self._socket]}, name="local-hub", daemon=True
            )
            self._thread.start()
            deadline = time.monotonic() + 10
            while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.002)
            if not self._server.started:
                raise RuntimeError(f"The local Hub did not start at {self.url}.")
            logger.info("Local Hub serving %s at %s", self.root, self.url)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (used by ``gmm-hub hub serve``)."""
        logger.info("Local Hub serving %s at %s", self.root, self.url)
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def stop(self) -> None:
        """Stop serving, close open connections and release the port."""
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)
            self._thread = None
        self._socket.close()

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

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def _user_for(self, token: str) -> str | None:
        found = find_token(token_table(self.tokens), token)
        return None if found is None else found.user


__all__ = ["Fault", "LocalHub", "RequestRecord"]
