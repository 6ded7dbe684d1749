"""HTTP request handler of the local Hub server (:class:`gmm_hub.localhub.LocalHub`).

Routes the Hub API paths the ``huggingface_hub`` client calls to
:class:`gmm_hub.localhub._storage.HubStorage`, enforces visibility and write
rights, applies injected faults and records every request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import parse_qs, unquote

from ._storage import StorageError, check_path

if TYPE_CHECKING:
    import threading

    from ._storage import HubStorage

logger = logging.getLogger(__name__)
_TRUE = ("1", "true", "True")


class RequestRecord(NamedTuple):
    """One served request: ``(method, path, status)``; ``path`` is the raw URL path without query."""

    method: str
    path: str
    status: int


class HubState(Protocol):
    """What the handler needs of the server that owns it (:class:`~gmm_hub.localhub.LocalHub`).

    A protocol, so that this module does not import the server module that imports it.
    """

    storage: HubStorage
    requests: list[RequestRecord]
    max_body_bytes: int
    tree_page_size: int
    _lock: threading.Lock

    @property
    def url(self) -> str: ...

    def _take_fault(self, method: str, path: str) -> Any: ...

    def _user_for(self, token: str) -> str | None: ...


class _Reply(NamedTuple):
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = MappingProxyType({})  # read-only: shared by every reply


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gmm-hub-local"
    # Small replies must not wait ~40 ms for the client's delayed ACK (Nagle).
    disable_nagle_algorithm = True
    timeout = 60

    # -- plumbing ------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        self.server.open_sockets.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.open_sockets.discard(self.connection)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    @property
    def hub(self) -> HubState:
        return self.server.hub  # type: ignore[attr-defined]

    @property
    def base(self) -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.hub.url

    def _dispatch(self, method: str) -> None:
        raw_path, _, query = self.path.partition("?")
        self.raw_path, self.query = raw_path, parse_qs(query)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            return self._send(method, _json({"error": "Chunked request bodies are not supported."}, 411))
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return self._send(method, _error(400, "Invalid Content-Length header."))
        if length > self.hub.max_body_bytes:
            self._drain(length)
            msg = f"Request body of {length} bytes exceeds the limit of {self.hub.max_body_bytes} bytes."
            return self._send(method, _error(413, msg))
        self.body = self.rfile.read(length) if length else b""
        fault = self.hub._take_fault(method, raw_path)
        if fault is not None and fault.drop_after_bytes is None:
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return self._send(method, _error(fault.status, "Injected fault.", headers=headers))
        try:
            reply = self._route(method)
        except StorageError as err:
            reply = _error(err.status, str(err), err.code)
        except (ValueError, KeyError, TypeError) as err:
            reply = _error(400, f"Bad request: {err}")
        except Exception:  # a server bug must not kill the connection silently
            logger.exception("Local Hub failed on %s %s", method, raw_path)
            reply = _error(500, "Internal error of the local Hub server.")
        self._send(method, reply, drop_after=fault.drop_after_bytes if fault else None)

    def _drain(self, length: int, limit: int = 64 * 1024 * 1024) -> None:
        """Discard a refused body (so the client reads our 413), or close the connection if it is huge."""
        if length > limit:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                break
            length -= len(chunk)

    def _send(self, method: str, reply: _Reply, drop_after: int | None = None) -> None:
        # log first: a client may act on the response before this thread returns
        with self.hub._lock:
            self.hub.requests.append(RequestRecord(method, self.raw_path, reply.status))
        logger.info("%s %s -> %d", method, self.raw_path, reply.status)
        self.send_response(reply.status)
        headers = {"Content-Length": str(len(reply.body)), **reply.headers}
        if self.close_connection or drop_after is not None:
            headers["Connection"] = "close"
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method != "HEAD":
            if drop_after is not None:
                self.wfile.write(reply.body[:drop_after])
                self.close_connection = True
            else:
                self.wfile.write(reply.body)

    # -- auth ----------------------------------------------------------------
    def _user(self) -> str | None:
        auth = self.headers.get("Authorization")
        if not auth:
            return None
        scheme, _, token = auth.partition(" ")
        user = self.hub._user_for(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise StorageError(401, "Invalid credentials in Authorization header")
        return user

    def _repo(self, repo_type: str, ns: str, name: str, *, write: bool = False):
        user = self._user()
        meta = self.hub.storage.repo_meta(repo_type, ns, name)
        if meta is None or (meta["private"] and user != ns):
            status = 401 if user is None else 404
            raise StorageError(status, "Repository not found", "RepoNotFound")
        if write:
            _check_write(user, ns)
        return self.hub.storage.repo_dir(repo_type, ns, name), meta

    # -- routing -------------------------------------------------------------
    def _route(self, method: str) -> _Reply:
        parts = self.raw_path.split("/")[1:]
        if any(unquote(p) in (".", "..") for p in parts) or "\0" in unquote(self.raw_path):
            raise StorageError(400, "Invalid path: '..' and '.' segments are not allowed.")
        if parts[:1] == ["api"]:
            return self._route_api(method, parts[1:])
        repo_type = "model"
        if parts[:1] in (["datasets"], ["models"]):
            repo_type, parts = parts[0][:-1], parts[1:]
        if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
            path = check_path(unquote("/".join(parts[4:])))
            return self._resolve(repo_type, unquote(parts[0]), unquote(parts[1]), unquote(parts[3]), path)
        raise StorageError(404, f"Not found: {self.raw_path}")

    def _route_api(self, method: str, parts: list[str]) -> _Reply:
        storage = self.hub.storage
        if parts == ["whoami-v2"] and method == "GET":
            return self._whoami()
        if parts == ["validate-yaml"] and method == "POST":
            return _json({"errors": [], "warnings": []})
        if parts == ["repos", "create"] and method == "POST":
            return self._create_repo(json.loads(self.body or b"{}"))
        if parts == ["repos", "delete"] and method == "DELETE":
            payload = json.loads(self.body or b"{}")
            ns = payload.get("organization") or self._user() or ""
            repo_type = payload.get("type") or "model"
            self._repo(repo_type, ns, payload["name"], write=True)
            storage.delete_repo(repo_type, ns, payload["name"])
            return _json({})
        if len(parts) < 3 or parts[0] not in ("models", "datasets"):
            raise StorageError(404, f"Not found: {self.raw_path}")
        repo_type, ns, name, op, rest = parts[0][:-1], unquote(parts[1]), unquote(parts[2]), parts[3:4], parts[4:]
        rev = unquote("/".join(rest)) if rest else "main"
        if op == [] and method == "GET":
            return self._info(repo_type, ns, name, "main")
        if op == ["revision"] and method == "GET":
            return self._info(repo_type, ns, name, rev)
        if op == ["preupload"] and method == "POST":
            return self._preupload(repo_type, ns, name, rev)
        if op == ["commit"] and method == "POST":
            return self._commit(repo_type, ns, name, rev)
        if op == ["tree"] and method == "GET":
            path = unquote("/".join(rest[1:])).strip("/")
            return self._tree(repo_type, ns, name, unquote(rest[0]) if rest else "main", path)
        if op == ["refs"] and method == "GET":
            return self._refs(repo_type, ns, name)
        if op == ["commits"] and method == "GET":
            rdir, _ = self._repo(repo_type, ns, name)
            history = storage.history(rdir, storage.resolve(rdir, rev))
            return _json([_commit_json(c) for c in history])
        if op in (["tag"], ["branch"]) and method in ("POST", "DELETE"):
            return self._set_ref(method, op[0], repo_type, ns, name, rev)
        raise StorageError(404, f"Not found: {self.raw_path}")

    # -- endpoints -----------------------------------------------------------
    def _whoami(self) -> _Reply:
        user = self._user()
        if user is None:
            raise StorageError(401, "Invalid credentials in Authorization header")
        return _json(
            {
                "type": "user",
                "id": hashlib.sha1(user.encode()).hexdigest()[:24],
                "name": user,
                "fullname": user,
                "email": None,
                "emailVerified": False,
                "isPro": False,
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "local-hub", "role": "write"}},
            }
        )

    def _create_repo(self, payload: dict) -> _Reply:
        user = self._user()
        ns = payload.get("organization") or user
        if ns is None:
            raise StorageError(401, "You must be authenticated to create a repo.")
        _check_write(user, ns)
        repo_type = payload.get("type") or "model"
        private = payload.get("private") or payload.get("visibility") == "private"
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{self.base}/{prefix}{ns}/{payload['name']}"
        try:
            self.hub.storage.create_repo(repo_type, ns, payload["name"], private=bool(private), author=user or ns)
        except StorageError as err:
            if err.status == 409:
                return _json({"error": str(err), "url": url}, 409)
            raise
        return _json({"url": url, "name": f"{ns}/{payload['name']}", "id": f"{ns}/{payload['name']}"})

    def _info(self, repo_type: str, ns: str, name: str, rev: str) -> _Reply:
        storage = self.hub.storage
        rdir, meta = self._repo(repo_type, ns, name)
        commit = storage.commit(rdir, storage.resolve(rdir, rev))
        siblings = [{"rfilename": p, "size": f["size"], "blobId": f["oid"]} for p, f in commit["files"].items()]
        return _json(
            {
                "_id": commit["id"][:24],
                "id": f"{ns}/{name}",
                "author": ns,
                "sha": commit["id"],
                "lastModified": commit["date"],
                "createdAt": meta["createdAt"],
                "private": meta["private"],
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
                "usedStorage": sum(f["size"] for f in commit["files"].values()),
            }
        )

    def _preupload(self, repo_type: str, ns: str, name: str, rev: str) -> _Reply:
        storage = self.hub.storage
        rdir, _ = self._repo(repo_type, ns, name, write=True)
        if self.query.get("create_pr", ["0"])[0] in _TRUE:
            raise StorageError(400, "Pull requests are not supported by the local Hub.")
        commit = storage.commit(rdir, storage.resolve(rdir, rev))
        files = []
        for entry in json.loads(self.body or b"{}")["files"]:
            path = check_path(entry["path"])
            remote = commit["files"].get(path)
            files.append(
                {"path": path, "uploadMode": "regular", "shouldIgnore": False, "oid": remote["oid"] if remote else None}
            )
        return _json({"files": files, "commitOid": commit["id"]})

    def _commit(self, repo_type: str, ns: str, name: str, branch: str) -> _Reply:
        rdir, _ = self._repo(repo_type, ns, name, write=True)
        if self.query.get("create_pr", ["0"])[0] in _TRUE:
            raise StorageError(400, "Pull requests are not supported by the local Hub.")
        header: dict = {}
        additions: dict[str, bytes] = {}
        deletions: list[tuple[str, bool]] = []
        for line in self.body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                header = value
            elif key == "file":
                raw = value["content"]
                enc = value.get("encoding", "base64")
                additions[check_path(value["path"])] = base64.b64decode(raw) if enc == "base64" else raw.encode()
            elif key in ("deletedFile", "deletedFolder"):
                deletions.append((check_path(value["path"].rstrip("/")), key == "deletedFolder"))
            else:
                raise StorageError(
                    400, f"Unsupported commit operation {key!r}: the local Hub stores regular files only."
                )
        if not header.get("summary"):
            raise StorageError(400, "The commit header needs a non-empty 'summary'.")
        sha = self.hub.storage.commit_to_branch(
            rdir,
            branch,
            additions=additions,
            deletions=deletions,
            title=header["summary"],
            message=header.get("description", ""),
            author=self._user() or ns,
            parent_commit=header.get("parentCommit"),
        )
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{self.base}/{prefix}{ns}/{name}/commit/{sha}"
        return _json({"success": True, "commitOid": sha, "commitUrl": url, "pullRequestUrl": None, "hookOutput": ""})

    def _tree(self, repo_type: str, ns: str, name: str, rev: str, path: str) -> _Reply:
        storage = self.hub.storage
        rdir, _ = self._repo(repo_type, ns, name)
        commit = storage.commit(rdir, storage.resolve(rdir, rev))
        if path:
            check_path(path)
        recursive = self.query.get("recursive", ["false"])[0] in _TRUE
        entries = _tree_entries(commit["files"], path, recursive)
        if path and not entries:
            raise StorageError(404, f"{path} does not exist on {rev!r}", "EntryNotFound")
        start = int(self.query.get("cursor", ["0"])[0])
        page = entries[start : start + self.hub.tree_page_size]
        headers = {}
        if start + self.hub.tree_page_size < len(entries):
            nxt = start + self.hub.tree_page_size
            link = f"{self.base}{self.raw_path}?recursive={str(recursive).lower()}&cursor={nxt}"
            headers["Link"] = f'<{link}>; rel="next"'
        return _json(page, headers=headers)

    def _refs(self, repo_type: str, ns: str, name: str) -> _Reply:
        rdir, _ = self._repo(repo_type, ns, name)
        refs = self.hub.storage.refs(rdir)

        def fmt(kind: str, prefix: str) -> list[dict]:
            return [{"name": n, "ref": f"{prefix}{n}", "targetCommit": sha} for n, sha in sorted(refs[kind].items())]

        return _json(
            {
                "branches": fmt("branches", "refs/heads/"),
                "converts": [],
                "tags": fmt("tags", "refs/tags/"),
                "pullRequests": [],
            }
        )

    def _set_ref(self, method: str, kind: str, repo_type: str, ns: str, name: str, rev: str) -> _Reply:
        storage = self.hub.storage
        rdir, _ = self._repo(repo_type, ns, name, write=True)
        kinds = "tags" if kind == "tag" else "branches"
        if method == "DELETE":
            if kind == "branch" and rev == "main":
                raise StorageError(403, "The main branch cannot be deleted.")
            storage.set_ref(rdir, kinds, rev, None)
            return _json({})
        payload = json.loads(self.body or b"{}")
        if kind == "tag":
            storage.set_ref(rdir, kinds, payload["tag"], storage.resolve(rdir, rev))
        else:
            start = payload.get("startingPoint") or "main"
            storage.set_ref(rdir, kinds, rev, storage.resolve(rdir, start))
        return _json({})

    def _resolve(self, repo_type: str, ns: str, name: str, rev: str, path: str) -> _Reply:
        storage = self.hub.storage
        rdir, _ = self._repo(repo_type, ns, name)
        sha = storage.resolve(rdir, rev)
        entry = storage.commit(rdir, sha)["files"].get(path)
        if entry is None:
            return _error(404, "Entry not found", "EntryNotFound", headers={"X-Repo-Commit": sha})
        content = storage.blob_path(entry["oid"]).read_bytes()
        headers = {
            "ETag": f'"{entry["oid"]}"',
            "X-Repo-Commit": sha,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        range_header = self.headers.get("Range")
        if not range_header:
            return _Reply(200, content, headers)
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", range_header.strip())
        size = len(content)
        if match is None or match.groups() == ("", ""):
            return _Reply(416, b"", {**headers, "Content-Range": f"bytes */{size}"})
        first, last = match.groups()
        start, end = (int(first), int(last) if last else size - 1) if first else (max(size - int(last), 0), size - 1)
        end = min(end, size - 1)
        if start >= size or start > end:
            return _Reply(416, b"", {**headers, "Content-Range": f"bytes */{size}"})
        return _Reply(206, content[start : end + 1], {**headers, "Content-Range": f"bytes {start}-{end}/{size}"})


def _error(status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> _Reply:
    extra = {"X-Error-Message": message.encode("ascii", "replace").decode()[:500], **(headers or {})}
    if code:
        extra["X-Error-Code"] = code
    return _json({"error": message}, status, extra)


def _check_write(user: str | None, namespace: str) -> None:
    if user is None:
        raise StorageError(401, "You must be authenticated (Authorization: Bearer <token>) to write.")
    if user != namespace:
        raise StorageError(403, f"You don't have the rights to write to the namespace {namespace!r}.")


def _commit_json(commit: dict) -> dict:
    return {
        "id": commit["id"],
        "title": commit["title"],
        "message": commit["message"],
        "authors": [{"user": commit["author"]}],
        "date": commit["date"],
    }


def _tree_entries(files: dict[str, dict], path: str, recursive: bool) -> list[dict]:
    prefix = f"{path}/" if path else ""
    dirs: dict[str, list[str]] = {}
    out = []
    for file_path, info in files.items():
        if not file_path.startswith(prefix):
            continue
        rel_parts = file_path[len(prefix) :].split("/")
        for depth in range(1, len(rel_parts)):
            dirs.setdefault(prefix + "/".join(rel_parts[:depth]), []).append(info["oid"])
            if not recursive:
                break
        if recursive or len(rel_parts) == 1:
            out.append({"type": "file", "oid": info["oid"], "size": info["size"], "path": file_path})
    for dir_path, oids in dirs.items():
        oid = hashlib.sha1(" ".join(sorted(oids)).encode()).hexdigest()
        out.append({"type": "directory", "oid": oid, "size": 0, "path": dir_path})
    return sorted(out, key=lambda e: e["path"])
