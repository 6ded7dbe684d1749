"""Commits: ``preupload`` (which files go through LFS), ``commit`` (the NDJSON payload) and the history.

A commit body is the client's NDJSON (``huggingface_hub._commit_api._prepare_commit_payload``):
a ``header`` line, then ``file`` (base64 content), ``lfsFile`` (an oid already in the
LFS store, uploaded through the batch API), ``deletedFile`` and ``deletedFolder`` lines.
The body is spooled to disk and checked line by line before anything is written:
one malformed line refuses the whole commit (400) and the branch does not move.
Files the Hub sends through LFS (tracked by ``.gitattributes``, binary, or over 10 MB)
go to the LFS store with a pointer in the tree, even when the client sent them inline.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import mmap
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _pulls as pulls
from .._auth import caller, param, repo_from_path, state
from .._body import expect_dict, expect_str, read_json, spool_body
from .._errors import HubError
from .._git import Addition, Deletion, HubRepo, check_path
from .._lfs import (
    LFS_THRESHOLD,
    LfsPointer,
    LfsStore,
    check_oid,
    goes_to_lfs,
    lfs_patterns,
    matches,
    parse_pointer,
    track_line,
)
from .repos import repo_url

ORDER = 20
_TRUE = ("1", "true", "True")
SAMPLE_BYTES = 512  # what the client sends to preupload
# A line longer than the base64 of an LFS-sized file is streamed, never decoded in memory:
# its content always goes to the LFS store (it is over 10 MB).
LONG_LINE = LFS_THRESHOLD * 4 // 3 + 64 * 1024
_CONTENT_KEY = re.compile(rb'"content"\s*:\s*"')
_B64_CHUNK = 4 * 1024 * 1024  # a multiple of 4: chunks decode on their own


def _creates_pr(request: Request) -> bool:
    return request.query_params.get("create_pr", "0") in _TRUE


def _commit_target(request: Request) -> HubRepo:
    """The repo a commit or its preupload goes to: its writers', or a pull request's.

    As on the Hub, opening a pull request needs only a token and a repo one may see,
    and its author may add commits to it (``revision="refs/pr/<n>"``); the branch it
    is based on does not move until a writer merges it.
    """
    if not _creates_pr(request) and not may_commit_to_pull_request(request):
        return repo_from_path(request, write=True)
    repo = repo_from_path(request)
    if caller(request) is None:
        raise HubError(401, "Opening a pull request needs a token: log in or pass token=.")
    return repo


def may_commit_to_pull_request(request: Request) -> bool:
    """Whether the caller wrote the pull request the route's revision names (so may add to it)."""
    user = caller(request)
    if user is None:
        return False
    repo = repo_from_path(request)
    return pulls.author_of(repo, param(request, "revision")) == user


def _gitattributes(repo: HubRepo, sha: str) -> bytes:
    entry = repo.files(sha).get(".gitattributes")
    return repo.read_blob(entry.oid) if entry and not entry.lfs else b""


async def preupload(request: Request) -> Response:
    repo = _commit_target(request)
    payload = expect_dict(await read_json(request), "the body")
    items = payload.get("files")
    if not isinstance(items, list):
        raise HubError(400, "Expected 'files' to be a list.")
    revision = param(request, "revision")
    lfs_batch = bool(getattr(request.app.state, "lfs_batch", False))

    def answer() -> dict:
        sha = repo.resolve(revision)
        present = repo.files(sha)
        patterns = lfs_patterns(_gitattributes(repo, sha))
        files = []
        for item in items:
            item = expect_dict(item, "a file of 'files'")
            path = check_path(expect_str(item, "path", "file"))
            size = item.get("size", 0)
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise HubError(400, f"Expected the size of {path!r} to be a non-negative integer.")
            sample = _b64(expect_str(item, "sample", "file", optional=True) or "", path)
            lfs = lfs_batch and (goes_to_lfs(path, size, sample, b"") or matches(patterns, path))
            remote = present.get(path)
            oid = None
            if remote is not None:
                oid = (remote.lfs.oid if remote.lfs else None) if lfs else (None if remote.lfs else remote.oid)
            mode = "lfs" if lfs else "regular"
            files.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        return {"files": files, "commitOid": sha}

    return JSONResponse(await run_in_threadpool(answer))


def _b64(text: str | bytes, path: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise HubError(400, f"Invalid base64 content for {path!r}.") from None


@dataclass
class ParsedCommit:
    """A commit body, checked: the header and the operations, nothing written yet."""

    summary: str = ""
    description: str = ""
    parent: str | None = None
    inline: dict[str, bytes] = field(default_factory=dict)
    lfs: dict[str, LfsPointer] = field(default_factory=dict)
    deletions: list[Deletion] = field(default_factory=list)
    sent: set[str] = field(default_factory=set)  # LFS oids whose content came in the body (streamed inline files)


def _loads(line: bytes, number: int) -> Any:
    try:
        return json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise HubError(400, f"Line {number} of the commit is not valid JSON: {err}.") from None


def _long_file_line(mm: mmap.mmap, start: int, end: int, number: int, store: LfsStore) -> tuple[Any, LfsPointer]:
    """An inline file too large to decode in memory: its base64 is streamed into the LFS store.

    Only the client's shape is accepted (a ``file`` line whose ``content`` string has
    no escapes, as base64 never has); the rest of the line is parsed as JSON.
    """
    match = _CONTENT_KEY.search(mm, start, end)
    close = mm.find(b'"', match.end(), end) if match else -1
    too_long = HubError(400, f"Line {number} of the commit is over {LONG_LINE} bytes and is not an inline file.")
    if match is None or close < 0 or mm.find(b"\\", match.end(), close) >= 0:
        raise too_long
    item = _loads(mm[start : match.end()] + mm[close:end], number)
    value = item.get("value") if isinstance(item, dict) else None
    if not isinstance(value, dict) or item.get("key") != "file" or value.get("content") != "":
        raise too_long
    path = check_path(expect_str(value, "path", "file"))
    if value.get("encoding", "base64") != "base64" or (close - match.end()) % 4:
        raise HubError(400, f"Invalid base64 content for {path!r}.")

    def chunks() -> Iterator[bytes]:
        for i in range(match.end(), close, _B64_CHUNK):
            piece = mm[i : min(i + _B64_CHUNK, close)]
            if i + _B64_CHUNK < close and b"=" in piece:
                raise HubError(400, f"Invalid base64 content for {path!r}.")
            yield _b64(piece, path)

    return item, store.store_iter(chunks())


def _items(fh: IO[bytes], store: LfsStore) -> Iterator[tuple[int, Any, LfsPointer | None]]:
    """``(line number, JSON item, pointer of content already streamed to the store)`` of a commit body."""
    size = fh.seek(0, os.SEEK_END)
    if size == 0:
        return
    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        pos = number = 0
        while pos < size:
            end = mm.find(b"\n", pos)
            end = size if end < 0 else end
            start, pos, number = pos, end + 1, number + 1
            if end - start > LONG_LINE:
                item, pointer = _long_file_line(mm, start, end, number, store)
                yield number, item, pointer
            elif mm[start:end].strip():
                yield number, _loads(mm[start:end], number), None


def parse_commit(fh: IO[bytes], store: LfsStore) -> ParsedCommit:
    """Read and check every line of a commit body (400 on the first bad one)."""
    parsed = ParsedCommit()
    seen_header = False
    for number, item, streamed in _items(fh, store):
        item = expect_dict(item, f"line {number}")
        key = item.get("key")
        value = expect_dict(item.get("value"), f"the value of line {number}")
        if key == "header":
            seen_header = True
            parsed.summary = expect_str(value, "summary", "header") or ""
            parsed.description = expect_str(value, "description", "header", optional=True) or ""
            parsed.parent = expect_str(value, "parentCommit", "header", optional=True)
        elif key == "file":
            path = check_path(expect_str(value, "path", "file"))
            content = expect_str(value, "content", "file") or ""
            encoding = value.get("encoding", "base64")
            if streamed is not None:
                parsed.lfs[path] = streamed
                parsed.sent.add(streamed.oid)
                parsed.inline.pop(path, None)
                continue
            if encoding == "base64":
                parsed.inline[path] = _b64(content, path)
            elif encoding in ("utf-8", "utf8"):
                parsed.inline[path] = content.encode()
            else:
                raise HubError(400, f"Unsupported encoding {encoding!r} for {path!r}: expected 'base64'.")
            parsed.lfs.pop(path, None)
        elif key == "lfsFile":
            path = check_path(expect_str(value, "path", "lfsFile"))
            if value.get("algo", "sha256") != "sha256":
                raise HubError(400, f"Unsupported LFS algorithm {value.get('algo')!r}: expected 'sha256'.")
            oid, size = check_oid(value.get("oid")), value.get("size")
            if size is None and store.path(oid).is_file():  # a copy (CommitOperationCopy) names the oid only
                size = store.path(oid).stat().st_size
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise HubError(400, f"Expected the size of {path!r} to be a non-negative integer.")
            if not store.has(oid, size):
                raise HubError(400, f"LFS object {oid} ({size} bytes) for {path!r} was not uploaded.")
            parsed.lfs[path] = LfsPointer(oid, size)
            parsed.inline.pop(path, None)
        elif key in ("deletedFile", "deletedFolder"):
            path = check_path(expect_str(value, "path", key).rstrip("/"))  # type: ignore[union-attr]
            parsed.deletions.append(Deletion(path, folder=key == "deletedFolder"))
        else:
            raise HubError(400, f"Unsupported commit operation {key!r}.")
    if not seen_header or not parsed.summary.strip():
        raise HubError(400, "The commit header needs a non-empty 'summary'.")
    if parsed.parent is not None and not all(c in "0123456789abcdef" for c in parsed.parent):
        raise HubError(400, "parentCommit must be a commit id.")
    return parsed


def apply_commit(repo: HubRepo, branch: str, parsed: ParsedCommit, store: LfsStore, author: str) -> str:
    """Write the parsed commit: LFS content to the store, pointers and blobs to the tree."""
    pointers = dict(parsed.lfs)
    for oid in parsed.sent:
        repo.grant_lfs(oid)  # its content came with the commit
    for path, pointer in pointers.items():  # the store is shared: only content uploaded to this repo may be named
        if not repo.lfs_granted(pointer.oid):
            raise HubError(
                400, f"LFS object {pointer.oid} for {path!r} was not uploaded to {repo.repo_id}: upload it first."
            )
    regular: dict[str, bytes] = {}
    head = repo.resolve(branch)
    attributes = parsed.inline.get(".gitattributes", _gitattributes(repo, head))
    patterns = lfs_patterns(attributes)
    for path, content in parsed.inline.items():
        if (
            path != ".gitattributes"
            and parse_pointer(content) is None
            and (goes_to_lfs(path, len(content), content[:SAMPLE_BYTES], b"") or matches(patterns, path))
        ):
            pointers[path] = store.store_bytes(content)
            repo.grant_lfs(pointers[path].oid)  # its content came with the commit
        else:
            regular[path] = content
    untracked = [p for p in pointers if not matches(patterns, p)]
    if untracked:  # as the Hub does: the new LFS paths join .gitattributes in the same commit
        text = attributes if attributes.endswith(b"\n") or not attributes else attributes + b"\n"
        regular[".gitattributes"] = text + b"".join(track_line(p) for p in sorted(untracked))
    additions = [Addition(p, c) for p, c in regular.items()]
    additions += [Addition(p, ptr.encode()) for p, ptr in pointers.items()]
    return repo.commit(
        branch,
        additions,
        parsed.deletions,
        title=parsed.summary,
        message=parsed.description,
        author=author,
        parent_commit=parsed.parent,
    )


async def commit(request: Request) -> Response:
    repo = _commit_target(request)
    branch = param(request, "revision")
    hub = state(request)
    author = caller(request) or repo.namespace
    async with spool_body(request) as fh:
        parsed = await run_in_threadpool(parse_commit, fh, hub.lfs)
    pr, pr_url = None, None
    if _creates_pr(request):  # the commit goes on a new refs/pr/<n> from the branch; the branch stays
        description = parsed.description[: pulls.MAX_COMMENT] or None  # the pull request's opening comment
        pr = await run_in_threadpool(pulls.open_pull, repo, branch, author, parsed.summary, description)
        branch, pr_url = pr.ref, f"{repo_url(request, repo.repo_type, repo.repo_id)}/discussions/{pr.num}"
    try:
        sha = await run_in_threadpool(apply_commit, repo, branch, parsed, hub.lfs, author)
    except BaseException:
        if pr is not None:  # a refused commit leaves no empty pull request behind
            await run_in_threadpool(pulls.discard, repo, pr)
        raise
    url = f"{repo_url(request, repo.repo_type, repo.repo_id)}/commit/{sha}"
    return JSONResponse(
        {"success": True, "commitOid": sha, "commitUrl": url, "pullRequestUrl": pr_url, "hookOutput": ""}
    )


def commit_json(info: Any) -> dict:
    return {
        "id": info.id,
        "title": info.title,
        "message": info.message,
        "authors": [{"user": info.author}],
        "date": info.date,
    }


def formatted_json(info: Any) -> dict:
    """``formatted`` of a commit (``list_repo_commits(formatted=True)``): title and message as HTML."""
    paragraphs = [p for p in info.message.split("\n\n") if p.strip()]
    message = "".join(f"<p>{html.escape(p.strip())}</p>" for p in paragraphs)
    return {"title": html.escape(info.title), "message": message}


def list_commits(request: Request) -> Response:
    repo = repo_from_path(request)
    history = repo.history(repo.resolve(param(request, "revision", "main")))
    formatted = "formatted" in request.query_params.getlist("expand[]")
    return JSONResponse(
        [{**commit_json(c), **({"formatted": formatted_json(c)} if formatted else {})} for c in history]
    )


routes = [
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/preupload/{revision:path}", preupload, methods=["POST"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/commit/{revision:path}", commit, methods=["POST"]),
    Route("/api/{repo_type:repo_type}/{namespace}/{name}/commits/{revision:path}", list_commits, methods=["GET"]),
]
