"""The local Hub's ASGI app: the route table, one error handler, and the middleware.

How to add a route group
------------------------
Write a module ``gmm_hub/localhub/routes/<concern>.py`` that exports
``routes: list[starlette.routing.Route]`` (and optionally ``ORDER: int``, default
50; groups are joined in ``(ORDER, module name)`` order, so a catch-all such as
``not_implemented.py`` takes ``ORDER = 100``). Nothing else to edit: :func:`build_app`
finds every module of :mod:`gmm_hub.localhub.routes`. Current groups: repos (10),
commits (20), refs (30), files (40), git_http (50).

An endpoint is a small function of the request; in it, use the shared helpers:

- path patterns match the *raw* path, so ``feature%2Fx`` stays one segment: read
  parameters with :func:`gmm_hub.localhub._auth.param`; ``{repo_type:repo_type}``
  matches ``models|datasets`` (read it with ``repo_type_of``);
- :func:`~gmm_hub.localhub._auth.repo_from_path` (``write=True`` for writes) -- the
  repo, after the caller's token and visibility (and write rights) are checked;
  :func:`~gmm_hub.localhub._auth.caller` / ``require_user`` -- the user;
  ``state(request)`` -- the :class:`~gmm_hub.localhub.LocalHub` (``store``: repos,
  ``lfs``: the LFS store, ``tree_page_size``, limits);
- bodies only after those checks: :func:`~gmm_hub.localhub._body.read_json` (small
  JSON, in memory under the shared budget) or ``spool_body`` (to a temporary file);
  ``expect_dict`` / ``expect_str`` turn a wrong JSON shape into a 400;
- blocking work (git, files) in ``await run_in_threadpool(...)`` from async
  endpoints; sync endpoints run in the thread pool already;
- refuse by raising :class:`~gmm_hub.localhub._errors.HubError` ``(status, message,
  code)``, e.g. ``HubError(404, "...", "EntryNotFound")`` or the helpers
  ``repo_not_found()``, ``revision_not_found(rev)``, ``entry_not_found(path, rev)``:
  the handler here gives it the Hub's shape (``X-Error-Code``, ``X-Error-Message``,
  ``{"error": ...}``) with header values escaped. Never build headers from request
  text yourself without :func:`~gmm_hub.localhub._errors.header_safe`.

The LFS batch route of ``routes/lfs.py`` should be named ``"lfs_batch"``
(``Route(..., name="lfs_batch")``): its presence makes ``preupload`` answer
``"lfs"`` for the files the Hub sends through LFS.

Middleware (outermost, :class:`HubMiddleware`): routes on the raw path, records
every request (method, raw path, status -- never a header, so never a token),
applies injected faults, and gives each request a deadline (408 when the client
is still sending its body, 503 otherwise).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any, NamedTuple

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import routes as routes_package
from ._errors import HubError, error_headers, header_safe

logger = logging.getLogger(__name__)


class RequestRecord(NamedTuple):
    """One served request: ``(method, path, status)``; ``path`` is the raw URL path without query."""

    method: str
    path: str
    status: int


def route_table() -> list[BaseRoute]:
    """Every route of every module of :mod:`gmm_hub.localhub.routes`, in ``(ORDER, name)`` order."""
    modules = []
    for info in pkgutil.iter_modules(routes_package.__path__):
        module = importlib.import_module(f"{routes_package.__name__}.{info.name}")
        if hasattr(module, "routes"):
            modules.append((getattr(module, "ORDER", 50), info.name, module))
    return [route for _, _, module in sorted(modules, key=lambda m: m[:2]) for route in module.routes]


def hub_error_response(err: HubError) -> Response:
    return JSONResponse({"error": err.message}, err.status, error_headers(err))


async def _on_hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return hub_error_response(exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "Not found" if exc.status_code == 404 else str(exc.detail)
    return hub_error_response(HubError(exc.status_code, f"{message}: {request.url.path}"))


async def _on_error(request: Request, exc: Exception) -> Response:
    logger.exception("Local Hub failed on %s %s", request.method, header_safe(request.url.path))
    return hub_error_response(HubError(500, "Internal error of the local Hub server."))


def build_app(hub: Any) -> ASGIApp:
    """The ASGI app serving ``hub`` (a :class:`~gmm_hub.localhub.LocalHub`)."""
    table = route_table()
    app = Starlette(
        routes=table,
        exception_handlers={HubError: _on_hub_error, HTTPException: _on_http_error, Exception: _on_error},
    )
    app.router.redirect_slashes = False  # "/api/models/" is not "/api/models" (and no Location header from a path)
    app.state.hub = hub
    app.state.lfs_batch = any(getattr(route, "name", "") == "lfs_batch" for route in table)
    return HubMiddleware(app, hub)


class _Dropped(Exception):
    """An injected fault cut the reply short."""


class HubMiddleware:
    """Raw-path routing, request records, injected faults and the per-request deadline."""

    def __init__(self, app: ASGIApp, hub: Any) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        path = raw.decode("latin-1").partition("?")[0]
        scope["path"] = path  # route on the raw path: %2F stays inside its segment
        method = scope["method"]
        hub = self.hub
        fault = hub._take_fault(method, path)
        started = False
        body_done = False
        sent = 0

        async def receive_wrapper() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal started, sent
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                if not body_done and _declared_body(scope) > hub.drain_limit:
                    headers.append((b"connection", b"close"))  # do not read a refused large body
                message = {**message, "headers": headers}
                hub._record(RequestRecord(method, path, status))  # before the client can see it
                logger.info("%s %s -> %d", method, header_safe(path, 300), status)
            elif message["type"] == "http.response.body" and fault is not None and fault.drop_after_bytes is not None:
                body = message.get("body", b"")
                if sent + len(body) >= fault.drop_after_bytes:
                    await send(
                        {"type": "http.response.body", "body": body[: fault.drop_after_bytes - sent], "more_body": True}
                    )
                    raise _Dropped
                sent += len(body)
            await send(message)

        if fault is not None and fault.drop_after_bytes is None:
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            await hub_error_response(HubError(fault.status, "Injected fault.", headers=headers))(
                scope, receive_wrapper, send_wrapper
            )
            return
        try:
            with anyio.move_on_after(hub.request_timeout) as deadline:
                await self.app(scope, receive_wrapper, send_wrapper)
        except _Dropped:
            return  # the server closes the connection: the client sees a truncated body
        if deadline.cancelled_caught and not started:
            status = 503 if body_done else 408
            message = "Request timed out." if body_done else "The request body did not arrive in time."
            err = HubError(status, message, headers={"Connection": "close"})
            await hub_error_response(err)(scope, receive_wrapper, send_wrapper)


def _declared_body(scope: Scope) -> int:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
        if key == b"transfer-encoding":
            return 1 << 62
    return 0


__all__ = ["RequestRecord", "build_app"]
