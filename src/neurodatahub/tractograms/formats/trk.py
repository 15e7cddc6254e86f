"""TrackVis .trk (and .trk.gz on input): streamed in blocks, never whole, without dipy.

nibabel parses and builds the 1000-byte header here (its dtype, `get_affine_trackvis_to_rasmm`, the
`name\\0count` encoding of multi-valued scalar and property names), so coordinates land exactly where
nibabel puts them: voxmm with the header's voxel order and a half-voxel shift, to RAS+ mm. The streamline
records themselves are read and written here with numpy, a block of records at a time: nibabel loads or
yields them one streamline at a time (a Python round trip per streamline, tens of seconds for a million),
and its non-lazy load holds the whole file in memory. One Python step per record remains on reading (the
record lengths chain, each count says where the next one is); everything per point is vectorised.

Records: int32 point count, then per point x y z and the scalars (float32), then the properties
(float32); little- or big-endian as the header's hdr_size says. A header count of 0 means "read to the
end". Writing patches the count into the header once the last record is out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import storage, streaming
from neurodatahub.core.codecs.gzip import GZIP_MAGIC, gunzipped_head, open_inflating
from neurodatahub.core.errors import InputError, OutputError, UsageError
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.tractograms import common, reference as references
from neurodatahub.tractograms.trk_header import (
    EXACT_IN_FLOAT32,
    HEADER_SIZE,
    MAGIC,
    MAX_NAMES,
    NAME_BYTES,
    STORABLE_KINDS,
    TrkHeader,
    parse_header,
)

if TYPE_CHECKING:
    from neurodatahub.core.models import Tractogram


def _named_empties(slices: dict[str, slice]) -> list[Any]:
    return [
        common.named(
            name, np.zeros((0,) if part.stop - part.start == 1 else (0, part.stop - part.start), np.float32)
        )
        for name, part in slices.items()
    ]


# float32 coordinates barely compress (1.1-3x for real tractograms); a .trk.gz that inflates 50-fold is
# not a tractogram's records
GZIP_RATIO = 50


@contextlib.contextmanager
def _opened(
    url: str, storage_options: Mapping[str, Any] | None
) -> Iterator[tuple[IO[bytes], TrkHeader, Any, bool]]:
    """The records' handle (after the header), the parsed header, its model, and whether it is gzipped."""
    with storage.open_read(url, storage_options) as raw, contextlib.ExitStack() as stack:
        magic = raw.read(2)
        raw.seek(0)
        handle: IO[bytes] = raw
        if magic == GZIP_MAGIC:
            handle = stack.enter_context(open_inflating(raw, url, "the gzipped TRK file", GZIP_RATIO))
        try:
            parsed = parse_header(handle.read(HEADER_SIZE), url)
        except (OSError, EOFError) as error:
            raise InputError(f"{url}: damaged gzip data ({error})") from error
        head = common.header(
            reference=parsed.grid,
            data_per_point=_named_empties(parsed.scalars),
            data_per_streamline=_named_empties(parsed.properties),
            source_url=url,
        )
        yield handle, parsed, head, magic == GZIP_MAGIC


@contextlib.contextmanager
def read_stream(url: str, *, storage_options: Mapping[str, Any] | None = None) -> Iterator[streaming.Stream]:
    """A stream of a TRK or gzipped TRK file: the header now, the records chunk by chunk."""
    with _opened(url, storage_options) as (handle, parsed, head, _):
        yield streaming.Stream(head, _chunks(handle, parsed, url))


def describe(url: str, *, storage_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`hub info` from the header: streamlines from its count, points from the file size (each record is a
    count, 3 + scalars floats per point, then the properties). A .trk.gz, a count of 0 ("read to the
    end") or a size the count does not explain is read through instead."""
    with _opened(url, storage_options) as (handle, parsed, head, gzipped):
        points = None
        if not gzipped and parsed.n_count:
            records = (
                storage.size_of(url, storage_options)
                - HEADER_SIZE
                - 4 * parsed.n_count * (1 + parsed.n_properties)
            )
            point_bytes = 4 * (3 + parsed.n_scalars)
            points = records // point_bytes if records >= 0 and not records % point_bytes else None
        if points is None:
            totals = streaming.tally(_chunks(handle, parsed, url))
        else:
            totals = {"offsets": {"rows": parsed.n_count}, "positions": {"rows": points}}
        return streaming.summarize_stream(head, totals)


def _chunks(handle: IO[bytes], header: TrkHeader, url: str) -> Iterator[Any]:
    """Chunks of at most `chunk_points()` points (a longer streamline alone), parsed from blocks of bytes;
    the records a block cuts short stay in the buffer for the next block."""

    def damaged(error: Exception) -> InputError:
        return InputError(f"{url}: the TRK data cannot be read (truncated or damaged?): {error}")

    blocks = common.ByteBlocks(
        handle, 4 * common.chunk_points() * (3 + header.n_scalars) + (1 << 16), damaged, url
    )
    work = common.Workspace()
    limit = header.n_count or None  # 0: to the end of the file
    done = 0
    while limit is None or done < limit:
        data = blocks.view()
        starts, used = _record_starts(data, header, None if limit is None else limit - done, url)
        if starts.size:
            done += starts.size
            yield _decode(data, starts, used, header, work)
            blocks.consume(4 * used)
        elif blocks.at_end:
            break
        else:
            blocks.fill()
    if limit is not None and done < limit:
        raise InputError(
            f"{url}: truncated TRK: the header announces {limit} streamlines, the file holds {done}"
        )
    if limit is None and blocks.view().size:
        raise InputError(
            f"{url}: truncated TRK: {blocks.view().size} bytes at the end do not make a whole streamline"
        )


def _record_starts(
    data: np.ndarray, header: TrkHeader, wanted: int | None, url: str
) -> tuple[np.ndarray, int]:
    """Word index of the whole records in `data` that make the next chunk, and the words they span.

    The lengths chain (each count says where the next record starts), so this is the one loop per
    streamline: one int read and three additions per record through a memoryview, nothing per point.
    The chunk's limits (streamlines still wanted, points per chunk) are applied afterwards, vectorised.
    """
    n_words = data.size // 4
    if not n_words:
        return np.zeros(0, dtype=np.int64), 0
    counts_view = data[: 4 * n_words].view(f"{header.endian}i4")
    words = memoryview(counts_view if header.endian == "<" else counts_view.astype("<i4")).cast("B").cast("i")
    step, extra = 3 + header.n_scalars, 1 + header.n_properties
    starts: list[int] = []
    append = starts.append
    position = end = 0
    while position < n_words:
        end = position + extra + words[position] * step
        if not position < end <= n_words:
            break
        append(position)
        position = end
    if position < n_words and end <= position and (wanted is None or len(starts) < wanted):
        raise InputError(f"{url}: damaged TRK record (a streamline of {words[position]} points)")
    found = np.asarray(starts, dtype=np.int64)
    if wanted is not None and found.size > wanted:
        found = found[:wanted]
    if found.size > 1:  # at most chunk_points() points, but always the first streamline
        points = np.cumsum(counts_view[found], dtype=np.int64)
        found = found[: max(1, int(np.searchsorted(points, common.chunk_points(), side="right")))]
    if not found.size:
        return found, 0
    last = int(found[-1])
    return found, last + extra + int(counts_view[last]) * step


def _decode(data: np.ndarray, starts: np.ndarray, used: int, header: TrkHeader, work: Any) -> Any:
    """One chunk from whole records: the per-point words, the counts and the properties, vectorised.

    The words of the points are gathered into a reused buffer; only the arrays the chunk hands out
    (positions, scalars, properties) are new memory.
    """
    floats = data[: 4 * used].view(f"{header.endian}f4")
    counts = data[: 4 * used].view(f"{header.endian}i4")[starts].astype(np.int64)
    step, n_props = 3 + header.n_scalars, header.n_properties
    keep = work.get("keep", used, bool)
    keep.fill(True)
    keep[starts] = False
    props = None
    if n_props:
        ends = np.append(starts[1:], used)
        prop_words = (ends[:, None] - n_props + np.arange(n_props)).reshape(-1)
        keep[prop_words] = False
        props = floats[prop_words].astype(np.float32).reshape(-1, n_props)
    n_points = int(counts.sum())
    if header.endian == "<":
        flat = np.compress(keep, floats, out=work.get("points", n_points * step, np.float32))
    else:
        flat = floats[keep].astype(np.float32)
    per_point = flat.reshape(n_points, step)
    positions = _to_rasmm(per_point, header.to_rasmm, n_points)
    offsets = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    scalars = {
        name: _column(per_point, slice(part.start + 3, part.stop + 3))
        for name, part in header.scalars.items()
    }
    properties = (
        {name: _column(props, part) for name, part in header.properties.items()} if props is not None else {}
    )
    return common.chunk(positions, offsets, scalars, properties)


def _to_rasmm(per_point: np.ndarray, affine: np.ndarray, n_points: int) -> np.ndarray:
    """Voxmm to RAS+ mm, column by column in float64, rounded to float32 once.

    Written out rather than one matmul: a float32 x float64 matmul takes numpy's generic loop and BLAS is
    slow for an inner dimension of 3, both about 10x slower than these nine vectorised products.
    """
    positions = np.empty((n_points, 3), dtype=np.float32)
    x, y, z = (per_point[:, axis].astype(np.float64) for axis in range(3))
    for axis in range(3):
        row = x * affine[axis, 0]
        row += y * affine[axis, 1]
        row += z * affine[axis, 2]
        row += affine[axis, 3]
        positions[:, axis] = row
    return positions


def _column(values: np.ndarray, part: slice) -> np.ndarray:
    block = values[:, part]
    return np.ascontiguousarray(block[:, 0] if block.shape[1] == 1 else block)


# writing -------------------------------------------------------------------------------------------------


def _encoded_name(name: str, count: int) -> bytes | None:
    """nibabel's `name\\0count` in 20 bytes, or None when it does not fit (or is not latin-1)."""
    text = name if count <= 1 else f"{name}\x00{count}"
    try:
        encoded = text.encode("latin-1")
    except UnicodeEncodeError:
        return None
    if not name or "\x00" in name or len(encoded) > NAME_BYTES:
        return None
    return encoded.ljust(NAME_BYTES, b"\x00")


def _storable(named_arrays: list[Any] | None, what: str) -> tuple[list[tuple[str, int, bytes]], list[Any]]:
    """(name, width, encoded name) of the arrays TRK can hold, in order, and Loss records for the rest."""
    from neurodatahub.core.models import Loss

    kept: list[tuple[str, int, bytes]] = []
    lost: list[Any] = []
    for column in named_arrays or ():
        values = np.asarray(column.values)
        count = common.width(values)
        field = f"{what}.{column.name}"
        encoded = _encoded_name(column.name, count) if values.dtype.kind in STORABLE_KINDS else None
        if values.dtype.kind not in STORABLE_KINDS:
            lost.append(Loss(field=field, reason=f"TRK holds numbers only, not {values.dtype}"))
        elif encoded is None:
            limit = NAME_BYTES if count <= 1 else NAME_BYTES - 1 - len(str(count))
            lost.append(Loss(field=field, reason=f"TRK names hold at most {limit} latin-1 characters"))
        elif len(kept) == MAX_NAMES:
            lost.append(Loss(field=field, reason=f"TRK holds at most {MAX_NAMES} named {what} arrays"))
        else:
            kept.append((column.name, count, encoded))
            if values.dtype not in EXACT_IN_FLOAT32:
                lost.append(
                    Loss(field=field, reason=f"TRK stores float32: {values.dtype} values are rounded")
                )
    return kept, lost


def losses(
    model: Tractogram, *, reference: Any = None, space: Any = None, resolution: Any = None
) -> list[Any]:
    """What TRK cannot hold; a missing reference grid fails here, before anything is written."""
    from neurodatahub.core.models import Loss

    references.required(model, "TRK", reference, space, resolution)
    found: list[Any] = []
    for what in ("data_per_point", "data_per_streamline"):
        found += _storable(getattr(model, what), what)[1]
    if model.space is not None or space not in (None, ""):
        found.append(Loss(field="space", reason="TRK has no place for the coordinate space's name"))
    if model.metadata:
        found.append(
            Loss(field="metadata", reason="TRK has no place for metadata", count=len(model.metadata))
        )
    return found


def _build_header(
    chosen: Any, scalars: list[tuple[str, int, bytes]], props: list[tuple[str, int, bytes]]
) -> np.ndarray:
    import nibabel as nib
    from nibabel.streamlines.trk import TrkFile

    record = TrkFile._default_structarr(endianness="little")
    affine = np.asarray(chosen.affine, dtype=np.float64)
    record["dimensions"] = np.asarray(chosen.shape, dtype=np.int16)
    record["voxel_sizes"] = np.linalg.norm(affine[:3, :3], axis=0).astype(np.float32)
    record["voxel_to_rasmm"] = affine.astype(np.float32)
    record["voxel_order"] = "".join(nib.orientations.aff2axcodes(affine)).encode("latin-1")
    record["nb_scalars_per_point"] = sum(count for _, count, _ in scalars)
    record["nb_properties_per_streamline"] = sum(count for _, count, _ in props)
    names = np.zeros(MAX_NAMES, dtype="S20")
    names[: len(scalars)] = [encoded for _, _, encoded in scalars]
    record["scalar_name"] = names
    names = np.zeros(MAX_NAMES, dtype="S20")
    names[: len(props)] = [encoded for _, _, encoded in props]
    record["property_name"] = names
    return record


def write_stream(
    stream: streaming.Stream,
    path: Path,
    *,
    reference: Any = None,
    space: Any = None,
    resolution: Any = None,
) -> None:
    """Write the header, then each chunk's records as one buffer; the streamline count goes in at the end."""
    from nibabel.streamlines.trk import get_affine_rasmm_to_trackvis

    head = stream.header
    chosen = references.required(head, "TRK", reference, space, resolution)
    if (np.asarray(chosen.shape) > np.iinfo(np.int16).max).any():
        raise UsageError(f"TRK dimensions are 16-bit: the grid {chosen.shape.tolist()} does not fit")
    scalars, _ = _storable(head.data_per_point, "data_per_point")
    props, _ = _storable(head.data_per_streamline, "data_per_streamline")
    record = _build_header(chosen, scalars, props)
    to_voxmm = np.asarray(get_affine_rasmm_to_trackvis(record), dtype=np.float64)
    work = common.Workspace()
    total = 0
    with open(path, "wb") as handle:
        handle.write(record.tobytes())
        for piece in stream.chunks:
            common.check_chunk_names(
                piece,
                {
                    "data_per_point": [n for n, _, _ in scalars],
                    "data_per_streamline": [n for n, _, _ in props],
                },
                str(path),
            )
            total += len(piece.offsets)
            if total > np.iinfo(np.int32).max:
                raise OutputError(
                    f"TRK counts streamlines in 32 bits: more than {np.iinfo(np.int32).max} do not fit"
                )
            _records(piece, to_voxmm, scalars, props, work).tofile(handle)
        record["nb_streamlines"] = total
        handle.seek(0)
        handle.write(record.tobytes())


def _records(piece: Any, to_voxmm: np.ndarray, scalars: list, props: list, work: Any) -> np.ndarray:
    """The chunk's TRK records as one float32 buffer (counts written through an int32 view), staged in
    reused buffers: positions to voxmm in float64, rounded once to float32."""
    n_points, n_lines = len(piece.positions), len(piece.offsets)
    if not n_lines:
        return np.empty(0, dtype="<f4")
    lengths = common.lengths_of(piece.offsets, n_points)
    step = 3 + sum(count for _, count, _ in scalars)
    n_props = sum(count for _, count, _ in props)
    per_point = work.get("per_point", n_points * step, "<f4").reshape(n_points, step)
    voxmm = work.get("voxmm", n_points * 3, np.float64).reshape(n_points, 3)
    np.matmul(np.asarray(piece.positions), to_voxmm[:3, :3].T, out=voxmm)
    voxmm += to_voxmm[:3, 3]
    per_point[:, :3] = voxmm
    values = common.columns(piece.data_per_point)
    column = 3
    for name, count, _ in scalars:
        per_point[:, column : column + count] = values[name].reshape(n_points, count)
        column += count
    words = work.get("words", n_lines * (1 + n_props) + n_points * step, "<f4")
    starts = np.asarray(piece.offsets, dtype=np.int64) * step + np.arange(n_lines, dtype=np.int64) * (
        1 + n_props
    )
    keep = work.get("keep", words.size, bool)
    keep.fill(True)
    keep[starts] = False
    if n_props:
        ends = np.append(starts[1:], words.size)
        prop_words = (ends[:, None] - n_props + np.arange(n_props)).reshape(-1)
        keep[prop_words] = False
        per_line = common.columns(piece.data_per_streamline)
        words[prop_words] = np.concatenate(
            [per_line[name].reshape(n_lines, count).astype(np.float32) for name, count, _ in props], axis=1
        ).reshape(-1)
    words[keep] = per_point.reshape(-1)
    words.view("<i4")[starts] = lengths
    return words


def sniff(probe: Probe) -> bool:
    head = probe.head
    if head.startswith(GZIP_MAGIC):
        try:
            head = gunzipped_head(head, probe.url)
        except InputError:
            return False
    return head.startswith(MAGIC)


register_format(
    FormatSpec(
        name="trk",
        kind=common.KIND,
        description="TrackVis .trk (reads .trk.gz too): voxmm coordinates, float32 scalars and properties",
        extensions=(".trk",),  # .trk.gz inputs are found by their content
        read_stream=read_stream,
        write_stream=write_stream,
        describe=describe,
        sniff=sniff,
        write_options=references.ReferenceOptions,
        cannot_store=(
            "space and metadata",
            "more than 10 named scalars or properties, names over 20 characters, non-numbers",
            "precision beyond float32",
        ),
        losses=losses,
    )
)
