"""What every tractogram format shares: chunk size, building header and chunk models, named arrays.

Tractograms are streamed (see `neurodatahub.core.streaming`): a reader yields a header model (empty bulk
arrays that still carry the names, dtypes and widths of the per-point and per-streamline data) and then chunks
of consecutive streamlines, each a validated Tractogram with offsets from 0. Chunks hold about
`chunk_points()` points, so memory stays the same whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from neurodatahub.core import budget, environment
from neurodatahub.core.errors import InvalidDataError

KIND = "tractogram"
# 512 k points per chunk: 6 MB of float32 positions, large enough that numpy's per-call costs vanish,
# small enough that the few buffers a conversion keeps stay near 100 MB
DEFAULT_CHUNK_POINTS = 1 << 19
CHUNK_POINTS_VARIABLE = "NEURODATAHUB_TRACT_CHUNK_POINTS"


def chunk_points() -> int:
    """Points per chunk: NEURODATAHUB_TRACT_CHUNK_POINTS when set (tests, small machines), else 512 k."""
    return environment.number(
        CHUNK_POINTS_VARIABLE, DEFAULT_CHUNK_POINTS, whole=True, minimum=1, unit="points"
    )


def named(name: str, values: np.ndarray, description: str | None = None) -> Any:
    from neurodatahub.core.models import NamedArray

    return NamedArray(name=name, values=values, description=description)


def empty_like(array: Any) -> np.ndarray:
    """An array with no rows and the same dtype and width (what a header carries for each named array)."""
    array = np.asarray(array)
    return np.zeros((0, *array.shape[1:]), dtype=array.dtype)


def header(
    *,
    reference: Any = None,
    space: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    data_per_point: Iterable[Any] = (),
    data_per_streamline: Iterable[Any] = (),
    source_url: str | None = None,
    positions_dtype: Any = np.float32,
) -> Any:
    """The header model of a stream: no points, no streamlines, every named array present and empty."""
    from neurodatahub.core.models import Tractogram

    return Tractogram(
        positions=np.zeros((0, 3), dtype=positions_dtype),
        offsets=np.zeros(0, dtype=np.int64),
        reference=reference,
        space=space,
        metadata=dict(metadata) if metadata else None,
        data_per_point=list(data_per_point) or None,
        data_per_streamline=list(data_per_streamline) or None,
        source_url=source_url,
    )


def chunk(
    positions: np.ndarray,
    offsets: np.ndarray,
    data_per_point: Mapping[str, np.ndarray] | None = None,
    data_per_streamline: Mapping[str, np.ndarray] | None = None,
) -> Any:
    """One validated chunk: consecutive streamlines with offsets from 0, and their named arrays."""
    from neurodatahub.core.models import Tractogram

    return Tractogram(
        positions=positions,
        offsets=offsets,
        data_per_point=[named(name, values) for name, values in (data_per_point or {}).items()] or None,
        data_per_streamline=[named(name, values) for name, values in (data_per_streamline or {}).items()]
        or None,
    )


def lengths_of(offsets: np.ndarray, n_points: int) -> np.ndarray:
    """Points per streamline of a chunk (offsets are starts; the last one runs to the end)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if not offsets.size:
        return offsets
    return np.diff(offsets, append=np.int64(n_points))


def columns(named_arrays: Iterable[Any] | None) -> dict[str, np.ndarray]:
    return {column.name: np.asarray(column.values) for column in named_arrays or ()}


def width(values: np.ndarray) -> int:
    """Values per element of a named array: 1 for a vector, the column count of a matrix."""
    return 1 if values.ndim == 1 else int(np.prod(values.shape[1:]))


def check_chunk_names(chunk_model: Any, expected: Mapping[str, list[str]], url: str) -> None:
    """A chunk must carry the named arrays its header announced (writers lay files out from the header)."""
    for field, names in expected.items():
        found = [column.name for column in getattr(chunk_model, field) or ()]
        missing = [name for name in names if name not in found]
        if missing:
            raise InvalidDataError(f"{url}: a chunk lacks {field} {missing} that the header announced")


def split_by_points(lengths: np.ndarray, limit: int) -> Iterator[tuple[int, int]]:
    """(first, stop) streamline ranges holding at most `limit` points each (one longer streamline alone)."""
    if not lengths.size:
        return
    ends = np.cumsum(lengths, dtype=np.int64)
    first = 0
    while first < lengths.size:
        base = ends[first - 1] if first else 0
        stop = int(np.searchsorted(ends, base + limit, side="right"))
        stop = max(stop, first + 1)
        yield first, stop
        first = stop


class Workspace:
    """Scratch arrays reused from chunk to chunk.

    Fresh memory is paid for in page faults on first touch, which on a virtual machine costs more than
    the arithmetic of a chunk; buffers that never leave a reader or writer (masks, byte blocks, staging
    rows) are therefore kept and reused. Arrays handed out in chunks are always fresh.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype: Any) -> np.ndarray:
        """A 1-D scratch array of `size` elements (contents undefined), grown when too small."""
        dtype = np.dtype(dtype)
        array = self._arrays.get(name)
        if array is None or array.dtype != dtype or array.size < size:
            array = np.empty(max(size, 1), dtype=dtype)
            self._arrays[name] = array
        return array[:size]


class ByteBlocks:
    """A file read block by block into one reused buffer; unconsumed bytes move to its front.

    Parsers look at `view()`, say how much they used with `consume()`, and call `fill()` for more. The
    buffer grows only for a record longer than itself, and never past the memory budget.
    """

    def __init__(self, handle: Any, size: int, errors: Any, url: str) -> None:
        budget.require(size, "a block of records (one chunk)", url)
        self.handle, self.errors, self.url = handle, errors, url
        self.buffer = np.empty(max(size, 64), dtype=np.uint8)
        self.start = self.end = 0
        self.at_end = False

    def view(self) -> np.ndarray:
        return self.buffer[self.start : self.end]

    def consume(self, size: int) -> None:
        self.start += size

    def fill(self) -> None:
        """Move what is left to the front and read to the end of the buffer (doubled when a record
        fills all of it); `at_end` turns true when the file is exhausted."""
        left = self.end - self.start
        if self.start == 0 and self.end == self.buffer.size:
            budget.require(2 * self.buffer.size, "one streamline longer than a chunk", self.url)
            bigger = np.empty(2 * self.buffer.size, dtype=np.uint8)
            bigger[:left] = self.buffer[:left]
            self.buffer = bigger
        elif self.start:
            self.buffer[:left] = self.buffer[self.start : self.end].copy()
        self.start, self.end = 0, left
        target = memoryview(self.buffer)
        while self.end < self.buffer.size:
            try:
                got = self.handle.readinto(target[self.end :])
            except (OSError, EOFError) as error:
                raise self.errors(error) from error
            if not got:
                self.at_end = True
                break
            self.end += got


def grid(shape: Any, affine: Any) -> Any:
    from neurodatahub.core.models import ImageGrid

    return ImageGrid(shape=np.asarray(shape, dtype=np.int64)[:3], affine=np.asarray(affine, dtype=np.float64))
