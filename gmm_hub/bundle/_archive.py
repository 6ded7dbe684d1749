"""Bounds on what opening a ``model.skops`` archive may read and allocate.

A ``.skops`` file is a zip archive: ``schema.json`` plus one ``.npy`` member
per array. Before skops sees the file, :func:`open_archive` checks, from the
zip directory alone (nothing is decompressed yet):

- at most :data:`MAX_MEMBERS` members, no member named twice, only stored or
  deflated members, no encryption;
- every member's declared size is at most :data:`MAX_UNPACKED_BYTES`, and so
  is their total; the total is also at most what ``config.json`` records
  (``unpacked_size``) or, for bundles that record none, at most
  :data:`MAX_RATIO` times the archive's size;
- ``schema.json`` is at most :data:`MAX_SCHEMA_BYTES`.

zipfile never returns more than a member's declared size, so these bounds
hold while reading. :func:`check_npy_member` then reads each array's header
(a few hundred bytes) and refuses it unless its shape and dtype account for
exactly the member's size, so numpy allocates only what the file holds.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..exceptions import BundleError

__all__ = [
    "MAX_MEMBERS",
    "MAX_RATIO",
    "MAX_SCHEMA_BYTES",
    "MAX_UNPACKED_BYTES",
    "check_npy_member",
    "open_archive",
    "unpacked_size",
]

#: Absolute cap on the decompressed size of one model (all members together).
MAX_UNPACKED_BYTES = 1 << 30
#: Cap on ``schema.json``'s decompressed size.
MAX_SCHEMA_BYTES = 32 << 20
#: Cap on the number of members of one archive.
MAX_MEMBERS = 100_000
#: Without a recorded ``unpacked_size``, members may total this many times the archive's size (plus 1 MiB).
MAX_RATIO = 64
_SLACK = 1 << 20
_NPY_ALLOWED_KINDS = "biufUS"


def _refuse(problem: str) -> BundleError:
    return BundleError(f"refusing the model file: {problem}. It was not written by skops.io.dump as gmm_hub saves it.")


def unpacked_size(data: bytes) -> int:
    """Return the total declared size of the members of the zip archive ``data``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


@contextmanager
def open_archive(data: bytes, *, recorded_unpacked: int | None = None) -> Iterator[zipfile.ZipFile]:
    """Open ``data`` as a zip archive after checking its directory against the bounds.

    Parameters
    ----------
    data : bytes
        The archive (already checked against its recorded size and sha256).
    recorded_unpacked : int, default=None
        The total decompressed size ``config.json`` records, when it does.

    Yields
    ------
    archive : zipfile.ZipFile

    Raises
    ------
    BundleError
        If the archive is unreadable or breaks a bound.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise _refuse(f"it is not a readable zip archive ({err})") from err
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _refuse(f"it has {len(infos)} members, more than {MAX_MEMBERS}")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise _refuse("a member name occurs twice in the archive")
        for info in infos:
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
                raise _refuse(f"member {info.filename!r} is encrypted or uses an unsupported compression")
            if info.file_size > MAX_UNPACKED_BYTES:
                raise _refuse(f"member {info.filename!r} declares {info.file_size} bytes, over {MAX_UNPACKED_BYTES}")
        total = sum(info.file_size for info in infos)
        limit = MAX_UNPACKED_BYTES
        if recorded_unpacked is not None:
            if total != recorded_unpacked:
                raise _refuse(f"its members total {total} bytes but config.json records {recorded_unpacked}")
        else:
            limit = min(limit, MAX_RATIO * len(data) + _SLACK)
        if total > limit:
            raise _refuse(f"its members would decompress to {total} bytes, over the limit of {limit}")
        if "schema.json" not in names:
            raise _refuse("it has no schema.json")
        if archive.getinfo("schema.json").file_size > MAX_SCHEMA_BYTES:
            raise _refuse(f"its schema.json is larger than {MAX_SCHEMA_BYTES} bytes")
        yield archive


_NPY_PEEK = 256  # numpy pads its version 1.0 header so that the data starts at a multiple of 64
# The header numpy writes for a plain array (``numpy.lib.format.write_array_header_1_0``):
# a dict literal with these three keys in this order, padded with spaces and a newline.
_PLAIN_HEADER = re.compile(
    rb"\{'descr': '([<>|=]?[biufUS]\d{1,9})', 'fortran_order': (True|False), "
    rb"'shape': \(((?:\d{1,19}, ?)*(?:\d{1,19})?)\), \} *\n"
)


def _plain_header(head: bytes) -> tuple[tuple[int, ...], Any, int] | None:
    """``(shape, dtype, header length)`` of a version 1.0 ``.npy`` header as numpy writes it, else None.

    numpy's own reader parses the header with :func:`ast.literal_eval` (compiling it);
    this reads the one shape numpy writes, and leaves anything else to numpy.
    """
    import numpy as np

    if len(head) < 10 or head[:8] != b"\x93NUMPY\x01\x00":
        return None
    length = 10 + int.from_bytes(head[8:10], "little")
    match = _PLAIN_HEADER.fullmatch(head, 10, length) if length <= len(head) else None
    if match is None:
        return None
    descr, _, dims = match.groups()
    shape = tuple(int(d) for d in dims.replace(b" ", b"").split(b",") if d)
    if dims and not dims.endswith(b",") and len(shape) == 1:
        return None  # "(3)" is not a tuple: numpy's parser refuses it
    return shape, np.dtype(descr.decode()), length


def check_npy_member(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse an ``.npy`` member whose header does not describe exactly its own bytes.

    The dtype must be a plain boolean, integer, float, or fixed-width string
    (no objects, fields or sub-arrays); ``header + prod(shape) * itemsize``
    must equal the member's size.

    Raises
    ------
    BundleError
        On any mismatch or an unreadable header.
    """
    from numpy.lib import format as npy

    info = archive.getinfo(name)
    try:
        with archive.open(info) as fh:
            head = fh.read(_NPY_PEEK)
            plain = _plain_header(head)
            if plain is not None:
                shape, dtype, header = plain
            else:  # anything but numpy's usual header: numpy's own parser decides
                fh.seek(0)
                version = npy.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = npy.read_array_header_1_0(fh, max_header_size=10_000)
                elif version in ((2, 0), (3, 0)):
                    shape, _, dtype = npy.read_array_header_2_0(fh, max_header_size=10_000)
                else:
                    raise ValueError(f"npy version {version}")
                header = fh.tell()
    except (ValueError, TypeError, SyntaxError, EOFError, OSError, zipfile.BadZipFile) as err:
        raise _refuse(f"array member {name!r} has no valid npy header ({err})") from err
    if (
        dtype.hasobject
        or dtype.fields is not None
        or dtype.subdtype is not None
        or dtype.kind not in _NPY_ALLOWED_KINDS
    ):
        raise _refuse(f"array member {name!r} has dtype {dtype}, not a plain numeric or string dtype")
    if not all(isinstance(n, int) and n >= 0 for n in shape) or len(shape) > 32:
        raise _refuse(f"array member {name!r} has an invalid shape {shape}")
    expected = header + math.prod(shape) * dtype.itemsize
    if expected != info.file_size:
        raise _refuse(
            f"array member {name!r} declares shape {shape} of {dtype} ({expected} bytes) but holds {info.file_size}"
        )
