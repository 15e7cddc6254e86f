"""The head of gzip data: headers need only the first bytes of a file."""

from __future__ import annotations

import io
from typing import IO, Any

from neurodatahub.core.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"


def gunzipped_head(head: bytes, url: str, size: int = 1 << 16) -> bytes:
    """The first `size` bytes of what gzip data starts with (headers need only those, so a cut stream is
    fine); other data as it is."""
    import zlib

    if not head.startswith(GZIP_MAGIC):
        return head
    try:
        return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, size)
    except zlib.error as error:
        raise InputError(f"{url}: damaged gzip data ({error})") from error


class Paced(io.RawIOBase):
    """A file read at most `limit` bytes a call. gzip_ng's reader asks its file for 512 KiB at once: on
    remote storage that fetches half a megabyte to decompress a 352-byte NIfTI header. Remote reads that
    continue each other still grow their readahead (core.remote), so reading a whole stream through this
    costs no more requests."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        super().__init__()
        self.raw, self.limit = raw, limit

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        return self.raw.readinto(view[: self.limit])  # type: ignore[attr-defined]
