"""LFS content of the local Hub: a content store by sha256 under the root, and pointer files.

On the Hub, binary files and files over 10 MB go through LFS: the git tree holds a
small pointer file (``version`` / ``oid sha256:...`` / ``size``) and the content
lives in a content-addressed store. Here that store is ``<root>/lfs/objects/ab/cd/<sha256>``
(git-lfs' own layout), shared by every repo of the root: an object is written once
(temporary file, verified, then linked into place), so the same bytes pushed to two
repos are stored once, and a second server on the same root never sees a torn object.

For the LFS batch routes (``routes/lfs.py``): :meth:`LfsStore.store_stream` stores an
upload chunk by chunk and verifies it, :meth:`LfsStore.path` opens it, and
:func:`parse_pointer` tells whether a blob in a tree is a pointer. A commit's
``lfsFile`` entry (``routes/commits.py``) references an oid already in the store.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ._errors import HubError

LFS_THRESHOLD = 10 * 1024 * 1024  # the Hub sends files over 10 MB through LFS
POINTER_MAX_BYTES = 1024  # git-lfs: a pointer file is < 1024 bytes
_OID_RE = re.compile(r"^[0-9a-f]{64}$")
_POINTER_RE = re.compile(
    rb"^version https://git-lfs\.github\.com/spec/v1\noid sha256:([0-9a-f]{64})\nsize (\d{1,19})\n$"
)

# The .gitattributes huggingface.co writes into a new model or dataset repo.
HUB_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*",
        "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb",
        "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors", "saved_model/**/*", "*.tar.*",
        "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst", "*tfevents*",
    )
).encode()  # fmt: skip


@dataclass(frozen=True)
class LfsPointer:
    """What a pointer file says: the content's ``oid`` (sha256 hex) and ``size``."""

    oid: str
    size: int

    def encode(self) -> bytes:
        """The pointer file's bytes, exactly as git-lfs writes them."""
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.oid}\nsize {self.size}\n".encode()


def parse_pointer(data: bytes) -> LfsPointer | None:
    """Return the pointer ``data`` holds, or None if it is not an LFS pointer file."""
    if len(data) >= POINTER_MAX_BYTES:
        return None
    match = _POINTER_RE.match(data)
    return LfsPointer(match.group(1).decode(), int(match.group(2))) if match else None


def check_oid(oid: object) -> str:
    """Validate a sha256 hex digest (400 otherwise)."""
    if not isinstance(oid, str) or not _OID_RE.match(oid):
        raise HubError(400, "Invalid LFS oid: expected 64 lowercase hex digits (sha256).")
    return oid


def is_binary(sample: bytes) -> bool:
    """Whether the Hub would treat content starting with ``sample`` as binary (a NUL byte or not UTF-8)."""
    if b"\0" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start < len(sample) - 3  # a multi-byte character cut at the end of the sample is text
    return False


def lfs_patterns(gitattributes: bytes) -> list[str]:
    """The patterns a ``.gitattributes`` file sends through LFS (``filter=lfs``)."""
    patterns = []
    for line in gitattributes.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def matches(patterns: Iterable[str], path: str) -> bool:
    """Whether ``path`` matches one of the gitattributes ``patterns`` (no slash: the base name)."""
    name = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        if "/" not in pattern.strip("/"):
            if fnmatch.fnmatchcase(name, pattern.strip("/")):
                return True
        elif fnmatch.fnmatchcase(path, pattern.lstrip("/").replace("**/", "*")):
            return True
    return False


def goes_to_lfs(path: str, size: int, sample: bytes, gitattributes: bytes) -> bool:
    """Whether the Hub stores this file through LFS: tracked by ``.gitattributes``, binary, or over 10 MB."""
    return size > LFS_THRESHOLD or is_binary(sample) or matches(lfs_patterns(gitattributes), path)


def track_line(path: str) -> bytes:
    """The line the Hub appends to ``.gitattributes`` for a file sent to LFS that no pattern tracks."""
    escaped = re.sub(r"([ \\#\[\]*?!])", r"\\\1", path)
    return f"{escaped} filter=lfs diff=lfs merge=lfs -text\n".encode()


class LfsStore:
    """The content store by sha256 under ``<root>/lfs``, shared by every repo of the root."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root) / "lfs"
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, oid: str) -> Path:
        """Where the content with sha256 ``oid`` lives (it may not exist)."""
        check_oid(oid)
        return self.root / "objects" / oid[:2] / oid[2:4] / oid

    def remove(self, oid: str) -> None:
        """Delete ``oid``'s content (callers check that no repo holds it any more)."""
        self.path(oid).unlink(missing_ok=True)

    def has(self, oid: str, size: int | None = None) -> bool:
        """Whether the store holds ``oid`` (of ``size`` bytes, if given)."""
        path = self.path(oid)
        try:
            stored = path.stat().st_size
        except FileNotFoundError:
            return False
        return size is None or stored == size

    def _place(self, tmp: Path, oid: str) -> None:
        target = self.path(oid)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(tmp, target)  # fails if present: written once, never replaced
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)

    def _check(self, digest: str, size: int, oid: str | None, expected_size: int | None) -> None:
        if expected_size is not None and size != expected_size:
            raise HubError(400, f"LFS content of {size} bytes, expected {expected_size} bytes.")
        if oid is not None and digest != oid:
            raise HubError(400, f"LFS content has sha256 {digest}, expected {oid}.")

    async def store_stream(
        self, chunks: AsyncIterable[bytes], *, oid: str | None = None, size: int | None = None
    ) -> LfsPointer:
        """Store streamed content, verified against ``oid`` and ``size`` when given; return its pointer.

        Nothing is kept if the stream fails or does not match: the content goes to a
        temporary file, and is linked into place only once its digest is known.
        """
        if oid is not None:
            check_oid(oid)
        digest = hashlib.sha256()
        written = 0
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="upload-")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                async for chunk in chunks:
                    written += len(chunk)
                    if size is not None and written > size:
                        raise HubError(400, f"LFS content longer than the announced {size} bytes.")
                    digest.update(chunk)
                    fh.write(chunk)
            self._check(digest.hexdigest(), written, oid, size)
            self._place(tmp, digest.hexdigest())
        finally:
            tmp.unlink(missing_ok=True)
        return LfsPointer(digest.hexdigest(), written)

    def store_iter(self, chunks: Iterable[bytes], *, oid: str | None = None, size: int | None = None) -> LfsPointer:
        """Store content given chunk by chunk (blocking), verified against ``oid`` and ``size`` when given;
        return its pointer. Nothing is kept on error or mismatch."""
        digest = hashlib.sha256()
        written = 0
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="inline-")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    written += len(chunk)
                    digest.update(chunk)
                    fh.write(chunk)
            self._check(digest.hexdigest(), written, oid, size)
            self._place(tmp, digest.hexdigest())
        finally:
            tmp.unlink(missing_ok=True)
        return LfsPointer(digest.hexdigest(), written)

    def store_file(self, source: Path, *, move: bool = False) -> LfsPointer:
        """Store the content of a local file (hashing it in chunks); ``move`` consumes ``source``."""
        digest = hashlib.sha256()
        with open(source, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        pointer = LfsPointer(digest.hexdigest(), source.stat().st_size)
        if self.has(pointer.oid, pointer.size):
            if move:
                source.unlink()
            return pointer
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="file-")
        os.close(fd)
        tmp = Path(name)
        if move:
            os.replace(source, tmp)
        else:
            with open(source, "rb") as src, open(tmp, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        self._place(tmp, pointer.oid)
        return pointer

    def store_bytes(self, content: bytes) -> LfsPointer:
        """Store ``content``; return its pointer."""
        pointer = LfsPointer(hashlib.sha256(content).hexdigest(), len(content))
        if not self.has(pointer.oid, pointer.size):
            fd, name = tempfile.mkstemp(dir=self.tmp, prefix="bytes-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            self._place(Path(name), pointer.oid)
        return pointer
