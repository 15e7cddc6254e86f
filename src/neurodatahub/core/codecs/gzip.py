"""gzip data: the head of a file for its header, and whole streams held to the decompression limit."""

from __future__ import annotations

import io
import zlib
from typing import IO, Any

from neurodatahub.core import budget
from neurodatahub.core.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"


def gunzipped_head(head: bytes, url: str, size: int = 1 << 16) -> bytes:
    """The first `size` bytes of what gzip data starts with (headers need only those, so a cut stream is
    fine); other data as it is."""
    if not head.startswith(GZIP_MAGIC):
        return head
    try:
        return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, size)
    except zlib.error as error:
        raise InputError(f"{url}: damaged gzip data ({error})") from error


COMPRESSED_BLOCK = 1 << 16


class _Inflating(io.RawIOBase):
    """gzip members inflated with zlib, stopped with BudgetError once what was made exceeds the ratio
    limit of the compressed bytes actually used so far: a bomb stops within its first megabytes.

    zlib rather than gzip.GzipFile because the limit needs the exact count of compressed bytes behind
    the output, which GzipFile hides behind its read-ahead.
    """

    def __init__(self, raw: IO[bytes], url: str, what: str, max_ratio: float | None) -> None:
        super().__init__()
        self._raw, self._url, self._what, self._ratio = raw, url, what, max_ratio
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._input, self._read, self._inflated = b"", 0, 0
        self._member_started = self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._done and len(view):
            if not self._input:
                self._input = self._raw.read(COMPRESSED_BLOCK)
                self._read += len(self._input)
                if not self._input:
                    if self._member_started:
                        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                    self._done = True
                    break
            self._member_started = True
            made = self._inflater.decompress(self._input, len(view))
            self._input = self._inflater.unconsumed_tail
            if self._inflater.eof:  # the next member, if the file has one, starts after this one
                self._input = self._inflater.unused_data + self._input
                self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
                self._member_started = False
            if made:
                view[: len(made)] = made
                self._inflated += len(made)
                used = self._read - len(self._input)
                budget.require_inflation(
                    self._inflated, used, self._what, self._url, budget.STREAM_RATIO_FLOOR, self._ratio
                )
                return len(made)
        return 0


def open_inflating(raw: IO[bytes], url: str, what: str, max_ratio: float | None = None) -> IO[bytes]:
    """Decompressed bytes of the gzip file `raw`, buffered, held to `budget.require_inflation` (with
    `max_ratio` when the content cannot compress more than that: TRK coordinates barely compress).

    For gzip streams whose content declares no size of its own (.trk.gz, .gii.gz): without a bound a
    3 MB file would make gigabytes of records or spill.
    """
    return io.BufferedReader(_Inflating(raw, url, what, max_ratio), buffer_size=1 << 20)


INFLATED_BLOCK = 1 << 20


class RatioLimited:
    """A seekable decompressed file (a GzipFile over `compressed`) held to `budget.require_inflation`
    as it is read or sought through, a block at a time, so a bomb stops within one block past the limit.

    For readers that seek in decompressed data (nibabel over .nii.gz and .mgz): `_Inflating` is not
    seekable. What was made is the position in the data; what it was made from, the compressed position.
    """

    def __init__(self, inflated: Any, compressed: IO[bytes], url: str, what: str) -> None:
        self._inflated, self._compressed, self._url, self._what = inflated, compressed, url, what

    def _checked(self) -> None:
        budget.require_inflation(self._inflated.tell(), self._compressed.tell(), self._what, self._url)

    def read(self, size: int | None = -1) -> bytes:
        parts = []
        left = -1 if size is None or size < 0 else size
        while left:
            part = self._inflated.read(INFLATED_BLOCK if left < 0 else min(left, INFLATED_BLOCK))
            self._checked()
            if not part:
                break
            parts.append(part)
            left = left if left < 0 else left - len(part)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view):
            count = self._inflated.readinto(view[done : done + INFLATED_BLOCK])
            self._checked()
            if not count:
                break
            done += count
        return done

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._inflated.tell() + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR):
            return self._inflated.seek(offset, whence)
        if target < self._inflated.tell():  # back: the data starts over, both positions with it
            # a new reader rather than the GzipFile's own rewind: zlib-ng 1.1's fails once its first
            # buffer was passed ("Not a gzipped file"), where the standard library's works
            self._inflated.close()
            self._compressed.seek(0)
            self._inflated = type(self._inflated)(fileobj=self._compressed, mode="rb")
        while self._inflated.tell() < target:  # forward seeking inflates everything passed over
            step = min(target, self._inflated.tell() + INFLATED_BLOCK)
            self._inflated.seek(step)
            self._checked()
            if self._inflated.tell() < step:
                break  # the data ended before
        return self._inflated.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:  # tell, close, name, closed... as the GzipFile's
        return getattr(self._inflated, name)


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
