"""MRtrix .tck: a text header, then x y z triplets in RAS+ mm, NaN after each streamline, inf at the end.

The header (`mrtrix tracks`, `key: value` lines, `END`) is parsed here like nibabel and MRtrix do (the first
colon splits, repeated keys join with newlines). The triplets are read and written in blocks with numpy:
delimiters are found for a whole block at once and a streamline cut by the block's end is carried over.
nibabel yields one streamline at a time (a Python step per streamline), which this avoids.

TCK has no voxel grid, no per-point or per-streamline data. The hub keeps a tractogram's grid and space in
header keys of its own (`reference_dimensions`, `reference_voxel_to_rasmm`, `space`), which MRtrix and
nibabel carry as ordinary properties, so a TCK the hub wrote converts back to TRK without a reference.
A streamline without points cannot be written (it would read back as no streamline at all); nibabel and
MRtrix skip empty ones on reading, as this reader does. Reads Float32LE/BE and Float64LE/BE, writes
Float32LE. The count is written as ten digits and patched once the last streamline is out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import storage, streaming
from neurodatahub.core.errors import InputError, OutputError
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.tractograms import common, reference as references

if TYPE_CHECKING:
    from neurodatahub.core.models import Tractogram

MAGIC = b"mrtrix tracks"
DATATYPES = {"Float32LE": "<f4", "Float32BE": ">f4", "Float64LE": "<f8", "Float64BE": ">f8"}
RESERVED = {"count", "datatype", "file", "reference_dimensions", "reference_voxel_to_rasmm", "space"}
HEADER_LIMIT = 16 << 20  # a header larger than this is not a TCK header
COUNT_DIGITS = 10


def _parse_header(url: str, handle: IO[bytes]) -> tuple[dict[str, str], int]:
    """Header fields (values of repeated keys joined by newlines) and the byte offset of the data."""
    text = b""
    while b"\nEND\n" not in text and b"\nEND\r\n" not in text:
        more = handle.read(65536)
        if not more or len(text) > HEADER_LIMIT:
            if not text.startswith(MAGIC):
                raise InputError(f"{url}: not a TCK file (it does not start with 'mrtrix tracks')")
            raise InputError(f"{url}: damaged TCK header (no END line)")
        text += more
    if not text.startswith(MAGIC):
        raise InputError(f"{url}: not a TCK file (it does not start with 'mrtrix tracks')")
    end = text.find(b"\nEND")
    try:
        lines = text[len(MAGIC) : end].decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise InputError(f"{url}: damaged TCK header (not UTF-8 text)") from error
    fields: dict[str, list[str]] = {}
    key = None
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if ":" in line:
            key, _, line = line.partition(":")
            key = key.strip()
        if key is None:
            raise InputError(f"{url}: damaged TCK header line {line!r}")
        fields.setdefault(key, []).append(line.strip())
    header = {name: "\n".join(values) for name, values in fields.items()}
    datatype = header.get("datatype", "Float32LE")
    if datatype not in DATATYPES:
        raise InputError(f"{url}: TCK datatype {datatype!r} is not supported ({', '.join(DATATYPES)} are)")
    where = header.get("file", f". {end + 5}").split()
    if len(where) != 2 or where[0] != "." or not where[1].isdigit():
        raise InputError(
            f"{url}: TCK 'file: {header.get('file')}' is not '. <offset>' (data in another file?)"
        )
    offset = int(where[1])
    if offset < end + 4:
        raise InputError(f"{url}: TCK data offset {offset} points into the header")
    return header, offset


def _grid_from(header: Mapping[str, str], url: str) -> Any:
    """The grid the hub stored in a TCK header, if any."""
    dims, affine = header.get("reference_dimensions"), header.get("reference_voxel_to_rasmm")
    if dims is None or affine is None:
        return None
    try:
        shape = [int(value) for value in dims.split()]
        matrix = np.asarray([float(value) for value in affine.split()], dtype=np.float64).reshape(4, 4)
    except ValueError as error:
        raise InputError(f"{url}: damaged reference keys in the TCK header ({error})") from error
    return references.valid_grid(shape, matrix, url)


class ReadOptions(references.ReferenceOptions):
    reference: str | None = Field(
        None,
        description="grid to attach to the streamlines (TCK has none): URL of a NIfTI image, TRK or TRX file",
    )


@contextlib.contextmanager
def read_stream(
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    reference: Any = None,
    space: Any = None,
    resolution: Any = None,
) -> Iterator[streaming.Stream]:
    """A stream of a TCK file; `reference` (or `space` and `resolution`) give it a grid."""
    with _opened(url, storage_options, reference, space, resolution) as (handle, _, _, head, datatype):
        yield streaming.Stream(head, _chunks(handle, datatype, url))


@contextlib.contextmanager
def _opened(
    url: str, storage_options: Mapping[str, Any] | None, reference: Any, space: Any, resolution: Any
) -> Iterator[tuple[IO[bytes], dict[str, str], int, Any, np.dtype]]:
    """The handle at the data, the header fields, the data's offset, the header model and the data type."""
    with storage.open_read(url, storage_options) as handle:
        header, offset = _parse_header(url, handle)
        chosen, given_space = references.resolve(
            reference, space, resolution, storage_options, fallback=_grid_from(header, url)
        )
        metadata = {key: value for key, value in header.items() if key not in RESERVED}
        datatype = np.dtype(DATATYPES[header.get("datatype", "Float32LE")])
        head = common.header(
            reference=chosen,
            space=given_space or _known_space(header.get("space")),
            metadata=metadata,
            source_url=url,
            positions_dtype=np.float64 if datatype.itemsize == 8 else np.float32,
        )
        size = storage.handle_size(handle)
        if size is not None and offset > size:
            raise InputError(f"{url}: TCK data offset {offset} lies past the end of the file ({size} bytes)")
        handle.seek(offset)
        yield handle, header, offset, head, datatype


def describe(
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    reference: Any = None,
    space: Any = None,
    resolution: Any = None,
) -> dict[str, Any]:
    """`hub info` from the header and the last triplet: streamlines from the count, points from the file
    size (a point and each streamline's NaN delimiter are one triplet each, inf inf inf ends the file).
    Read through instead when the count is missing or the size and the end marker do not bear it out.
    Empty streamlines (two delimiters in a row), which reading skips, are counted here."""
    with _opened(url, storage_options, reference, space, resolution) as (handle, header, offset, head, dtype):
        count = header.get("count", "").strip()
        row = 3 * dtype.itemsize
        rows, rest = divmod(storage.size_of(url, storage_options) - offset, row)
        totals = None
        if count.isdigit() and not rest and rows >= int(count) + 1:
            (last,) = storage.read_ranges(
                url, [(offset + (rows - 1) * row, offset + rows * row)], storage_options
            )
            if np.isinf(np.frombuffer(last, dtype=dtype)).all():
                totals = {"offsets": {"rows": int(count)}, "positions": {"rows": rows - int(count) - 1}}
        if totals is None:
            totals = streaming.tally(_chunks(handle, dtype, url))
        return streaming.summarize_stream(head, totals)


def _known_space(space: str | None) -> str | None:
    from neurodatahub.core.models import CoordinateSpace

    return space if space in {member.value for member in CoordinateSpace} else None


def _chunks(handle: IO[bytes], dtype: np.dtype, url: str) -> Iterator[Any]:
    """Chunks of whole streamlines from blocks of triplets; an unfinished streamline stays in the buffer."""

    def damaged(error: Exception) -> InputError:
        return InputError(f"{url}: the TCK data cannot be read (truncated or damaged?): {error}")

    row_bytes = 3 * dtype.itemsize
    blocks = common.ByteBlocks(handle, row_bytes * common.chunk_points(), damaged, url)
    work = common.Workspace()
    while True:
        data = blocks.view()
        rows = data[: data.size - data.size % row_bytes].view(dtype).reshape(-1, 3)
        marks = _rows_where(rows, np.isinf)
        if marks.size:
            rows = rows[: marks[0]]
        breaks = _rows_where(rows, np.isnan)
        if marks.size:
            if len(rows) and (not breaks.size or breaks[-1] != len(rows) - 1):
                raise InputError(
                    f"{url}: truncated TCK: the last streamline has no NaN delimiter before the end"
                )
            yield from _decode(rows, breaks, work)
            return
        if breaks.size:
            yield from _decode(rows[: breaks[-1] + 1], breaks, work)
            blocks.consume(int(breaks[-1] + 1) * row_bytes)
        if blocks.at_end:
            raise InputError(f"{url}: truncated TCK: no end-of-file marker (inf inf inf)")
        blocks.fill()


def _rows_where(rows: np.ndarray, test: Any) -> np.ndarray:
    """Rows whose three values all pass `test` (NaN delimiters, inf end marker): the x column picks the
    candidates, so the full test runs on a handful of rows instead of every value."""
    candidates = np.flatnonzero(test(rows[:, 0]))
    return candidates[test(rows[candidates]).all(axis=1)] if candidates.size else candidates


def _decode(rows: np.ndarray, breaks: np.ndarray, work: Any) -> Iterator[Any]:
    """Chunks of at most `chunk_points()` points (a longer streamline alone) from rows ending in a NaN
    delimiter; empty streamlines (two delimiters in a row) are skipped, as nibabel and MRtrix read them."""
    if not breaks.size:
        return
    starts = np.concatenate([[0], breaks[:-1] + 1])
    lengths = breaks - starts
    filled = lengths > 0
    starts, lengths = starts[filled], lengths[filled]
    native = rows.dtype.newbyteorder("=")
    for first, stop in common.split_by_points(lengths, common.chunk_points()):
        begin, end = int(starts[first]), int(starts[stop - 1] + lengths[stop - 1])
        keep = work.get("keep", end - begin, bool)
        keep.fill(True)
        keep[breaks[(breaks >= begin) & (breaks < end)] - begin] = False
        offsets = np.zeros(stop - first, dtype=np.int64)
        np.cumsum(lengths[first : stop - 1], out=offsets[1:])
        positions = np.compress(keep, rows[begin:end], axis=0).astype(native, copy=False)
        yield common.chunk(positions, offsets)


# writing -------------------------------------------------------------------------------------------------


def _storable_metadata(metadata: Mapping[str, Any] | None) -> tuple[dict[str, str], list[str]]:
    """Metadata entries a header line can hold (scalar values, no colon or line break), and the others."""
    kept, lost = {}, []
    for key, value in (metadata or {}).items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        fits = (
            isinstance(value, str | int | float | bool)
            and key not in RESERVED
            and key.strip() == key
            and key
            and not any(bad in key for bad in ":\n\r")
            and not any(bad in text for bad in "\r")
            and ":" not in text
        )
        if fits:
            kept[key] = text
        else:
            lost.append(key)
    return kept, lost


def losses(model: Tractogram) -> list[Any]:
    from neurodatahub.core.models import Loss

    found = []
    for what in ("data_per_point", "data_per_streamline"):
        names = [column.name for column in getattr(model, what) or ()]
        if names:
            found.append(
                Loss(field=what, reason=f"TCK has no place for them ({', '.join(names)})", count=len(names))
            )
    for key in _storable_metadata(model.metadata)[1]:
        found.append(Loss(field=f"metadata.{key}", reason="a TCK header line holds text without ':' only"))
    return found


def _header_text(model: Tractogram, count: int, offset: int) -> bytes:
    lines = ["mrtrix tracks", f"count: {count:0{COUNT_DIGITS}d}", "datatype: Float32LE"]
    if model.reference is not None:
        lines.append("reference_dimensions: " + " ".join(str(int(v)) for v in model.reference.shape))
        lines.append(
            "reference_voxel_to_rasmm: "
            + " ".join(repr(float(v)) for v in model.reference.affine.reshape(-1))
        )
    if model.space is not None:
        lines.append(f"space: {model.space.value if hasattr(model.space, 'value') else model.space}")
    for key, value in _storable_metadata(model.metadata)[0].items():
        lines.extend(f"{key}: {part}" for part in value.split("\n"))
    lines += [f"file: . {offset}", "END", ""]
    return "\n".join(lines).encode("utf-8")


def _layout(model: Tractogram) -> tuple[bytes, int]:
    """The header with a data offset that accounts for its own digits, and where the count digits sit."""
    offset = 0
    while True:
        text = _header_text(model, 0, offset)
        if len(text) == offset:
            return text, text.index(b"count: ") + len(b"count: ")
        offset = len(text)


def write_stream(stream: streaming.Stream, path: Path) -> None:
    """Header (count zero), one buffer of triplets and NaN rows per chunk, the inf row, then the count."""
    text, count_at = _layout(stream.header)
    work = common.Workspace()
    total = 0
    with open(path, "wb") as handle:
        handle.write(text)
        for piece in stream.chunks:
            total += len(piece.offsets)
            _rows(piece, total, work).tofile(handle)
        np.full((1, 3), np.inf, dtype="<f4").tofile(handle)
        if total >= 10**COUNT_DIGITS:
            raise OutputError(f"TCK count field holds {COUNT_DIGITS} digits: {total} streamlines do not fit")
        handle.seek(count_at)
        handle.write(f"{total:0{COUNT_DIGITS}d}".encode())


def _rows(piece: Any, seen: int, work: Any) -> np.ndarray:
    """The chunk's points with a NaN row after each streamline, as float32 rows (in a reused buffer)."""
    n_points, n_lines = len(piece.positions), len(piece.offsets)
    lengths = common.lengths_of(piece.offsets, n_points)
    if n_lines and not lengths.all():
        first = seen - n_lines + int(np.flatnonzero(lengths == 0)[0])
        raise OutputError(
            f"TCK cannot hold a streamline without points (streamline {first} has none): MRtrix and nibabel "
            "would read it back as no streamline; write TRK or TRX, or drop empty streamlines first"
        )
    n_rows = n_points + n_lines
    rows = work.get("rows", 3 * n_rows, "<f4").reshape(n_rows, 3)
    breaks = np.asarray(piece.offsets, dtype=np.int64) + lengths + np.arange(n_lines, dtype=np.int64)
    keep = work.get("keep", n_rows, bool)
    keep.fill(True)
    keep[breaks] = False
    rows[keep] = piece.positions
    rows[breaks] = np.nan
    return rows


def sniff(probe: Probe) -> bool:
    return probe.head.startswith(MAGIC + b"\n") or probe.head.startswith(MAGIC + b"\r\n")


register_format(
    FormatSpec(
        name="tck",
        kind=common.KIND,
        description="MRtrix .tck: float32 RAS+ mm triplets (reads Float32/64 LE/BE), grid in header keys",
        extensions=(".tck",),
        read_stream=read_stream,
        write_stream=write_stream,
        describe=describe,
        sniff=sniff,
        read_options=ReadOptions,
        cannot_store=("per-point and per-streamline data", "streamlines without points", "nested metadata"),
        losses=losses,
    )
)
