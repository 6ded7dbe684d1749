"""The Xet storage formats, as far as a server that stores uploads needs them.

With ``hf_xet`` installed, huggingface_hub uploads every LFS file through Xet
(it never asks the server which protocol it speaks). The client cuts each file
into chunks, packs them into *xorbs* (each chunk compressed behind an 8-byte
header) and describes each file in a *shard* as a list of xorb chunk ranges,
with the file's sha256. The formats are those of the Xet protocol specification
(huggingface/xet-core, ``spec/xorb.md``, ``spec/shard.md``, ``spec/hashing.md``,
``spec/api.md``); this module reads them:

- :func:`xorb_hash` checks that a xorb's content has the hash it is uploaded
  under (BLAKE3 keyed hashes of its chunks, aggregated as the specification's
  Merkle tree), so a writer cannot plant content under another xorb's name;
- :func:`xorb_chunks` decompresses a xorb's chunks;
- :func:`shard_files` lists the files of a shard with their chunk ranges and sha256.

The local Hub then writes each file's bytes into its LFS store, where its sha256
is checked again, so a commit names it exactly as it names an LFS upload.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from blake3 import blake3

#: Keys of the specification's BLAKE3 keyed hashes (``spec/hashing.md``).
DATA_KEY = bytes(
    [102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
     157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41]
)  # fmt: skip
INTERNAL_NODE_KEY = bytes(
    [1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
     93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63]
)  # fmt: skip
#: Mean branching factor of the Merkle tree that aggregates chunk hashes.
BRANCHING = 4
#: The CAS rejects xorbs larger than this, serialised (``spec/xorb.md``).
MAX_XORB_BYTES = 64 << 20
#: Largest chunk, uncompressed (``spec/upload_protocol.md``: 128 KiB).
MAX_CHUNK_BYTES = 128 << 10
#: Largest xorb once unpacked: clients fill xorbs to about 64 MiB of chunks; twice that is refused,
#: so a small body of highly compressible chunks cannot unpack into gigabytes.
MAX_XORB_UNPACKED = 2 * MAX_XORB_BYTES
SHARD_HEADER_TAG = bytes(
    [72, 70, 82, 101, 112, 111, 77, 101, 116, 97, 68, 97, 116, 97, 0, 85,
     105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169]
)  # fmt: skip
_ENTRY = 48  # every record of a shard's sections
_BOOKEND = b"\xff" * 32
_WITH_VERIFICATION = 1 << 31
_WITH_METADATA = 1 << 30
_FOOTER_IDENT = b"XETBLOB"  # a xorb's optional footer (its chunk index) starts with this


class XetFormatError(ValueError):
    """A xorb or shard that does not follow the Xet specification; the message says where."""


def hash_hex(raw: bytes) -> str:
    """A 32-byte hash as the API writes it: each 8-byte word as a little-endian integer, in hex."""
    return "".join(f"{word:016x}" for word in struct.unpack("<4Q", raw))


def hash_bytes(text: str) -> bytes:
    """The inverse of :func:`hash_hex` (:class:`XetFormatError` unless 64 lowercase hex digits)."""
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise XetFormatError(f"{text!r} is not a Xet hash: expected 64 lowercase hex digits.")
    return struct.pack("<4Q", *(int(text[i : i + 16], 16) for i in range(0, 64, 16)))


def chunk_hash(data: bytes) -> bytes:
    """The hash of a chunk's (uncompressed) bytes."""
    return blake3(data, key=DATA_KEY).digest()


def _aggregate(nodes: list[tuple[bytes, int]]) -> bytes:
    """The specification's Merkle tree over ``(hash, size)`` nodes: its root hash."""
    if not nodes:
        return bytes(32)
    while len(nodes) > 1:
        merged, start = [], 0
        while start < len(nodes):
            rest = nodes[start:]
            cut = len(rest)
            if len(rest) > 2:  # a node ends after the first hash (from the third) that is 0 mod 4, or at 9
                cut = min(2 * BRANCHING + 1, len(rest))
                for i in range(2, cut):
                    # a hash modulo an integer is its last 64-bit word's (xet-core's MerkleHash)
                    if struct.unpack("<Q", rest[i][0][24:])[0] % BRANCHING == 0:
                        cut = i + 1
                        break
            group = rest[:cut]
            text = "".join(f"{hash_hex(h)} : {size}\n" for h, size in group)
            merged.append((blake3(text.encode(), key=INTERNAL_NODE_KEY).digest(), sum(size for _, size in group)))
            start += cut
        nodes = merged
    return nodes[0][0]


def xorb_hash(chunks: list[bytes]) -> bytes:
    """The hash a xorb of these (uncompressed) chunks is uploaded under."""
    return _aggregate([(chunk_hash(c), len(c)) for c in chunks])


def _decompress(kind: int, payload: bytes, size: int) -> bytes:
    import lz4.frame

    if kind == 0:
        data = payload
    elif kind in (1, 2):
        decompressor = lz4.frame.LZ4FrameDecompressor()
        try:  # never more than the header's size (and one byte to tell): a chunk cannot be a bomb
            data = decompressor.decompress(payload, max_length=size + 1)
        except RuntimeError as err:
            raise XetFormatError(f"a chunk's LZ4 data is corrupt ({err}).") from None
        if len(data) == size and not decompressor.eof:
            raise XetFormatError(f"a chunk decompresses to more than the {size} bytes its header says.")
        if kind == 2:  # byte grouping: the bytes of each position of 4 were stored together
            data = _ungroup(data)
    else:
        raise XetFormatError(f"unknown chunk compression scheme {kind} (expected 0, 1 or 2).")
    if len(data) != size:
        raise XetFormatError(f"a chunk decompresses to {len(data)} bytes, its header says {size}.")
    return data


def _ungroup(grouped: bytes) -> bytes:
    """Undo ByteGrouping4: groups of sizes ``n//4 + (i < n%4)``, interleaved back."""
    n = len(grouped)
    sizes = [n // 4 + (1 if i < n % 4 else 0) for i in range(4)]
    out = bytearray(n)
    start = 0
    for i, size in enumerate(sizes):
        out[i::4] = grouped[start : start + size]
        start += size
    return bytes(out)


def xorb_chunks(data: bytes) -> list[bytes]:
    """The uncompressed chunks of a serialised xorb (:class:`XetFormatError` if it is malformed)."""
    if len(data) > MAX_XORB_BYTES:
        raise XetFormatError(f"a xorb of {len(data)} bytes is larger than the {MAX_XORB_BYTES >> 20} MiB allowed.")
    chunks, at, unpacked = [], 0, 0
    while at < len(data):
        if data.startswith(_FOOTER_IDENT, at):
            break  # the chunk index the client appends: the chunks themselves are read from their headers
        if len(data) - at < 8:
            raise XetFormatError(f"a xorb ends inside a chunk header at byte {at}.")
        version, kind = data[at], data[at + 4]
        compressed = int.from_bytes(data[at + 1 : at + 4], "little")
        size = int.from_bytes(data[at + 5 : at + 8], "little")
        if version != 0 or size > MAX_CHUNK_BYTES or at + 8 + compressed > len(data):
            raise XetFormatError(f"a xorb has an invalid chunk header at byte {at}.")
        unpacked += size
        if unpacked > MAX_XORB_UNPACKED:
            raise XetFormatError(f"a xorb unpacks to more than {MAX_XORB_UNPACKED >> 20} MiB.")
        chunks.append(_decompress(kind, data[at + 8 : at + 8 + compressed], size))
        at += 8 + compressed
    return chunks


@dataclass(frozen=True)
class Segment:
    """Chunks ``[start, end)`` of xorb ``xorb`` (API hex), ``size`` bytes once unpacked."""

    xorb: str
    start: int
    end: int
    size: int


@dataclass(frozen=True)
class XetFile:
    """A file of a shard: its sha256 (hex) and the chunk ranges it is made of, in order."""

    sha256: str
    segments: tuple[Segment, ...]

    @property
    def size(self) -> int:
        return sum(s.size for s in self.segments)


def shard_files(data: bytes) -> list[XetFile]:
    """The files a shard describes (:class:`XetFormatError` if it is malformed or lacks a file's sha256)."""
    if len(data) < 48 or data[:32] != SHARD_HEADER_TAG:
        raise XetFormatError("not a Xet shard: its header tag does not match.")
    version = struct.unpack("<Q", data[32:40])[0]
    if version != 2:
        raise XetFormatError(f"shard header version {version}, expected 2.")
    files: list[XetFile] = []
    at = 48
    while True:
        if at + _ENTRY > len(data):
            raise XetFormatError("a shard's file section ends before its bookend.")
        header = data[at : at + _ENTRY]
        at += _ENTRY
        if header[:32] == _BOOKEND:
            return files
        flags, count = struct.unpack("<II", header[32:40])
        if at + _ENTRY * count > len(data):
            raise XetFormatError("a shard's file entry runs past its end.")
        segments = []
        for _ in range(count):
            entry = data[at : at + _ENTRY]
            size, start, end = struct.unpack("<III", entry[36:48])
            if end <= start:
                raise XetFormatError(f"a shard names the empty chunk range [{start}, {end}).")
            segments.append(Segment(hash_hex(entry[:32]), start, end, size))
            at += _ENTRY
        if flags & _WITH_VERIFICATION:
            at += _ENTRY * count
        if not flags & _WITH_METADATA or at + _ENTRY > len(data):
            raise XetFormatError("a shard's file has no sha256 (its metadata extension is required for uploads).")
        sha256 = hash_hex(data[at : at + 32])  # kept as a hash of four words, like every hash of a shard
        at += _ENTRY
        files.append(XetFile(sha256, tuple(segments)))
