"""File replies with chunks sized for a local disk and loopback (``resolve`` and LFS downloads)."""

from __future__ import annotations

from starlette.responses import FileResponse

#: Bytes read (in a worker thread) and sent per step. Starlette's 64 KiB cost a thread hop and a
#: send per 64 KiB: a 200 MB download ran at a third of the rate 1 MiB gives (which reaches what
#: the client reads). uvicorn's flow control keeps at most about one chunk buffered per connection.
CHUNK_SIZE = 1 << 20


class FileReply(FileResponse):
    """:class:`starlette.responses.FileResponse` (ranges, HEAD, ``Content-Length``) in 1 MiB chunks."""

    chunk_size = CHUNK_SIZE


__all__ = ["CHUNK_SIZE", "FileReply"]
