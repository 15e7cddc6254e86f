"""gzip data: the head of a file for its header, and whole streams held to the decompression limit."""

from __future__ import annotations

import io
from typing import IO, Any

from neurodatahub.core import budget, storage
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


class _Inflating(io.RawIOBase):
    """A gzip stream that stops with BudgetError once it has made more than the ratio limit allows."""

    def __init__(self, raw: IO[bytes], url: str, what: str) -> None:
        import gzip

        super().__init__()
        self._stream = gzip.GzipFile(fileobj=raw, mode="rb")
        self._compressed = storage.handle_size(raw)
        self._url, self._what, self._inflated = url, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        got = self._stream.readinto(buffer)
        self._inflated += got
        if self._compressed is not None:
            budget.require_inflation(self._inflated, self._compressed, self._what, self._url)
        return got

    def close(self) -> None:
        self._stream.close()
        super().close()


def open_inflating(raw: IO[bytes], url: str, what: str) -> IO[bytes]:
    """Decompressed bytes of the gzip file `raw`, buffered, held to `budget.require_inflation`.

    For gzip streams whose content declares no size of its own (.trk.gz, .gii.gz): without a bound a
    3 MB file would make gigabytes of records or spill.
    """
    return io.BufferedReader(_Inflating(raw, url, what), buffer_size=1 << 20)
