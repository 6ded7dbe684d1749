"""Files: ``resolve`` (download, with the Hub's headers and byte ranges) and the tree listing.

``resolve`` answers as the Hub's file endpoint does for the client
(``huggingface_hub.file_download.get_hf_file_metadata``): ``X-Repo-Commit``, an
``ETag`` (the git blob id, or the sha256 for LFS content, also sent as
``X-Linked-Etag`` with ``X-Linked-Size``) and the content itself (for LFS files,
the content from the store, never the pointer).
"""

from __future__ import annotations

import hashlib
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._auth import param, repo_from_path, state
from .._errors import HubError, entry_not_found, header_safe
from .._git import Entry, check_path
from .._stream import FileReply
from .repos import base_url
from .settings import check_gate

ORDER = 40
_TRUE = ("1", "true", "True")


def _range_reply(request: Request, content: bytes, headers: dict[str, str]) -> Response:
    range_header = request.headers.get("range")
    if not range_header:
        return Response(content, 200, headers)
    size = len(content)
    match = re.fullmatch(r"bytes=(\d{0,19})-(\d{0,19})", range_header.strip())
    if match is None or match.groups() == ("", ""):
        return Response(b"", 416, {**headers, "Content-Range": f"bytes */{size}"})
    first, last = match.groups()
    start, end = (int(first), int(last) if last else size - 1) if first else (max(size - int(last), 0), size - 1)
    end = min(end, size - 1)
    if start >= size or start > end:
        return Response(b"", 416, {**headers, "Content-Range": f"bytes */{size}"})
    return Response(content[start : end + 1], 206, {**headers, "Content-Range": f"bytes {start}-{end}/{size}"})


async def resolve(request: Request) -> Response:
    repo = repo_from_path(request)
    check_gate(request, repo)
    revision = param(request, "revision")
    path = check_path(param(request, "path"))

    def lookup() -> tuple[str, Entry | None]:
        sha = repo.resolve(revision)
        return sha, repo.files(sha).get(path)

    sha, entry = await run_in_threadpool(lookup)
    if entry is None:
        raise entry_not_found(path, revision, sha)
    headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
    if entry.lfs is not None:
        store = state(request).lfs
        # a pointer pushed without its upload names content this repo never had: as good as missing
        if not store.has(entry.lfs.oid, entry.lfs.size) or not repo.lfs_granted(entry.lfs.oid):
            raise HubError(404, f"The LFS content of {path} is missing from the store.", "EntryNotFound")
        etag = f'"{entry.lfs.oid}"'
        headers.update({"ETag": etag, "X-Linked-Etag": etag, "X-Linked-Size": str(entry.lfs.size)})
        return FileReply(store.path(entry.lfs.oid), headers=headers, media_type="application/octet-stream")
    headers["ETag"] = f'"{entry.oid}"'
    content = await run_in_threadpool(repo.read_blob, entry.oid)
    return _range_reply(request, content, headers)


def tree_entries(files: dict[str, Entry], path: str, recursive: bool) -> list[dict]:
    """The tree listing below ``path`` (one level, or everything with ``recursive``), sorted by path."""
    prefix = f"{path}/" if path else ""
    dirs: dict[str, list[str]] = {}
    out = []
    for file_path, entry in files.items():
        if not file_path.startswith(prefix):
            continue
        rel_parts = file_path[len(prefix) :].split("/")
        for depth in range(1, len(rel_parts)):
            dirs.setdefault(prefix + "/".join(rel_parts[:depth]), []).append(entry.oid)
            if not recursive:
                break
        if recursive or len(rel_parts) == 1:
            item: dict = {"type": "file", "oid": entry.oid, "size": entry.content_size, "path": file_path}
            if entry.lfs:
                item["lfs"] = {"oid": entry.lfs.oid, "size": entry.lfs.size, "pointerSize": entry.size}
            out.append(item)
    for dir_path, oids in dirs.items():
        oid = hashlib.sha1(" ".join(sorted(oids)).encode()).hexdigest()
        out.append({"type": "directory", "oid": oid, "size": 0, "path": dir_path})
    return sorted(out, key=lambda e: e["path"])


def tree(request: Request) -> Response:
    repo = repo_from_path(request)
    revision = param(request, "revision")
    path = param(request, "path", "").strip("/")
    if path:
        check_path(path)
    recursive = request.query_params.get("recursive", "false") in _TRUE
    expand = request.query_params.get("expand", "false") in _TRUE
    sha = repo.resolve(revision)
    entries = tree_entries(repo.files(sha), path, recursive)
    if path and not entries:
        raise entry_not_found(path, revision)
    try:
        start = int(request.query_params.get("cursor", "0"))
    except ValueError:
        raise HubError(400, "Invalid cursor.") from None
    page_size = min(state(request).tree_page_size, 50) if expand else state(request).tree_page_size
    page = entries[max(start, 0) : max(start, 0) + page_size]
    if expand:  # lastCommit per entry, 50 entries a page as on the Hub
        from .paths import add_last_commits

        add_last_commits(repo, sha, page)
    headers = {}
    if start + page_size < len(entries):
        query = f"recursive={str(recursive).lower()}&expand={str(expand).lower()}&cursor={start + page_size}"
        link = f"{base_url(request)}{request.scope['path']}?{query}"
        headers["Link"] = header_safe(f'<{link}>; rel="next"', 4000)
    return JSONResponse(page, headers=headers)


routes = [
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/tree/{revision}", tree, methods=["GET"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/tree/{revision}/{path:path}", tree, methods=["GET"]),
    Route("/{repo_type:repo_type}/{namespace}/{name}/resolve/{revision}/{path:path}", resolve, methods=["GET", "HEAD"]),
    Route("/{namespace}/{name}/resolve/{revision}/{path:path}", resolve, methods=["GET", "HEAD"]),
]
