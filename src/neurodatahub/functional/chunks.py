"""lacuna's functional chunk HDF5 layout (GSP1000): written subject by subject, read subject by subject.

Layout (docs/kinds/functional.md): `timeseries` (subjects, timepoints, voxels) float32 in HDF5 chunks of one
subject (1, T, V) with gzip level 1; `mask_indices` (voxels, 3) int64 in the C order of np.where(mask);
`mask_affine` (4, 4) float64; attributes `mask_shape` (required), `n_subjects`, `n_timepoints`,
`n_voxels`, `space`, `description`, `source`. The hub adds a `subject_ids` dataset (UTF-8 strings) when
the subjects are known; lacuna reads datasets by name and ignores it.

Reading checks what the attributes claim against the datasets, accepts `mask_indices` stored either way
round (see `mask_indices_rows`), and validates every subject as a FunctionalConnectomeChunk as it is read:
time series must be finite (a NaN would make every correlation with that subject NaN), voxels unique and
inside `mask_shape`, the affine finite and invertible.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.codecs import hdf5
from neurodatahub.core.errors import InvalidDataError, OutputError

if TYPE_CHECKING:
    from neurodatahub.core.models import FunctionalConnectomeChunk

CHUNK_NAME = "gsp1000_chunk_{idx:03d}.h5"
GZIP_LEVEL = 1  # lacuna's choice: writing speed over size
COUNT_ATTRIBUTES = {"n_subjects": 0, "n_timepoints": 1, "n_voxels": 2}  # attribute -> timeseries axis
TEXT_ATTRIBUTES = ("space", "description", "source")
SUBJECT_IDS = "subject_ids"

Options = Mapping[str, Any] | None


def mask_indices_rows(raw: np.ndarray, mask_shape: Any = None) -> np.ndarray:
    """`mask_indices` as (voxels, 3), whichever way round it was stored.

    lacuna writes (voxels, 3); np.where's tuple stacked as rows gives (3, voxels). When only one axis has
    length 3 it holds the coordinates. A 3 x 3 array (a three-voxel mask) is read as (voxels, 3) unless
    only its transpose has every voxel inside `mask_shape`, or both do and only the transpose lists its
    voxels in C order (strictly increasing, as np.where returns them). When both readings still qualify
    the array is either symmetric (both readings are the same voxels) or truly ambiguous, and the layout
    lacuna and the hub write, (voxels, 3), is taken. The voxel counts of `n_voxels` and of the time
    series' voxel axis cannot tell the two readings of a 3 x 3 array apart (both are 3); they are checked
    against the result by the reader. Anything else is returned unchanged for the schema to reject.
    """
    raw = np.asarray(raw)
    if raw.ndim != 2 or 3 not in raw.shape:
        return raw
    if raw.shape[1] != 3:
        return raw.T
    if raw.shape[0] != 3:
        return raw
    readings = [raw, raw.T]
    shape = np.asarray(mask_shape) if mask_shape is not None else None
    if shape is not None and shape.shape == (3,) and shape.dtype.kind in "iu":
        inside = [reading for reading in readings if ((reading >= 0) & (reading < shape)).all()]
        readings = inside or readings
    if len(readings) > 1:
        ordered = [reading for reading in readings if _c_ordered(reading)]
        readings = ordered or readings
    return readings[0]


def _c_ordered(voxels: np.ndarray) -> bool:
    """Rows strictly increasing lexicographically (x, then y, then z): np.where's order, no repeats."""
    steps = np.diff(voxels.astype(np.int64), axis=0)
    moved = steps != 0
    first = np.argmax(moved, axis=1)
    return bool((moved.any(axis=1) & (steps[np.arange(len(steps)), first] > 0)).all())


def _invalid(url: str, location: str, message: str) -> InvalidDataError:
    return InvalidDataError(f"{url}: {location}: {message}", [{"location": location, "message": message}])


@contextlib.contextmanager
def _validated(url: str, where: str = "") -> Iterator[None]:
    """Schema violations as InvalidDataError naming the file (and the subject, for a subject's data)."""
    from pydantic import ValidationError

    try:
        yield
    except ValidationError as error:
        from neurodatahub.core.conversion import problems_of

        problems = problems_of(error)
        if where:
            problems = [{**problem, "location": f"{where}: {problem['location']}"} for problem in problems]
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidDataError(
            f"{url} is not a valid functional chunk: {first['location']}: {first['message']}{more}", problems
        ) from error


def _attribute_array(value: Any) -> np.ndarray:
    """Integral numbers stored as floats (MATLAB, some h5py writers) become integers."""
    array = np.asarray(value)
    if array.dtype.kind == "f" and np.isfinite(array).all() and (array == np.round(array)).all():
        return array.astype(np.int64)
    return array


class ChunkFile:
    """An open chunk file: the header model (no subjects) and the subjects, read one at a time."""

    def __init__(self, url: str, file: Any) -> None:
        from neurodatahub.core.codecs.hdf5 import text, texts
        from neurodatahub.core.models import FunctionalConnectomeChunk

        self.url = url
        self._file = file
        for name in ("timeseries", "mask_indices", "mask_affine"):
            if name not in file or not hasattr(file[name], "shape"):
                raise _invalid(url, name, "required dataset is missing")
        self._timeseries = file["timeseries"]
        shape = tuple(self._timeseries.shape)
        if len(shape) != 3:
            raise _invalid(url, "timeseries", f"must be (subjects, timepoints, voxels), has shape {shape}")
        if self._timeseries.dtype.kind != "f":
            raise _invalid(url, "timeseries", f"must hold floats, holds {self._timeseries.dtype}")
        attrs = file.attrs
        for name, axis in COUNT_ATTRIBUTES.items():
            claimed = _attribute_array(attrs[name]).reshape(-1).tolist() if name in attrs else [shape[axis]]
            if claimed != [shape[axis]]:
                said = claimed[0] if len(claimed) == 1 else claimed
                raise _invalid(url, name, f"the attribute says {said} but timeseries has {shape[axis]}")
        self.n_subjects = shape[0]
        self.subject_ids: list[str] | None = None
        if SUBJECT_IDS in file:
            self.subject_ids = texts(hdf5.read(file[SUBJECT_IDS], url))
            if len(self.subject_ids) != self.n_subjects:
                raise _invalid(
                    url, SUBJECT_IDS, f"{len(self.subject_ids)} ids for {self.n_subjects} subjects"
                )
        mask_shape = _attribute_array(attrs["mask_shape"]) if "mask_shape" in attrs else None
        fields: dict[str, Any] = {
            "timeseries": np.zeros((0, *shape[1:]), dtype=self._timeseries.dtype),
            "mask_indices": mask_indices_rows(hdf5.read(file["mask_indices"], url), mask_shape),
            "mask_affine": np.asarray(hdf5.read(file["mask_affine"], url)),
            "subject_ids": None if self.subject_ids is None else [],
        }
        if mask_shape is not None:
            fields["mask_shape"] = mask_shape
        fields.update({name: text(attrs[name]) for name in TEXT_ATTRIBUTES if name in attrs})
        with _validated(url):
            self.header = FunctionalConnectomeChunk(**fields)

    def subject(self, index: int) -> Any:
        """Subject `index` as a validated one-subject chunk sharing the header's mask arrays."""
        header = self.header
        where = f"subject {index}" + (f" ({self.subject_ids[index]})" if self.subject_ids else "")
        ids = None if self.subject_ids is None else [self.subject_ids[index]]
        with _validated(self.url, where):
            series = hdf5.read(self._timeseries, self.url, (slice(index, index + 1),))
            return with_subjects(header, series, ids)

    def subjects(self) -> Iterator[Any]:
        for index in range(self.n_subjects):
            yield self.subject(index)


def with_subjects(
    header: FunctionalConnectomeChunk, timeseries: np.ndarray, subject_ids: list[str] | None
) -> Any:
    """A validated chunk of these subjects' time series sharing the header's mask arrays (not copied)."""
    fields = {name: getattr(header, name) for name in type(header).model_fields}
    fields.update(timeseries=timeseries, subject_ids=subject_ids)
    return type(header)(**fields)


@contextlib.contextmanager
def open_chunk(url: str, storage_options: Options = None) -> Iterator[ChunkFile]:
    """A chunk file opened for reading subject by subject (remote files through the block cache)."""
    from neurodatahub.core.codecs.hdf5 import open_hdf5

    with open_hdf5(url, storage_options) as file:
        yield ChunkFile(url, file)


def iter_subjects(url: str, storage_options: Options = None) -> Iterator[Any]:
    """Every subject of a chunk file as a validated one-subject FunctionalConnectomeChunk, one at a time."""
    with open_chunk(url, storage_options) as chunk:
        yield from chunk.subjects()


def load_chunk(url: str, storage_options: Options = None) -> Any:
    """A whole chunk file as one validated FunctionalConnectomeChunk (it must fit in memory)."""
    from neurodatahub.core.streaming import Stream, collect

    with open_chunk(url, storage_options) as chunk:
        return collect(Stream(chunk.header, chunk.subjects()))


def write_chunk(path: Path, header: Any, chunks: Iterable[Any], n_subjects: int | None = None) -> int:
    """Write a local chunk file: everything but the time series from `header`, those from `chunks`.

    Subjects are appended as they come, so memory holds one chunk model at a time. With `n_subjects`
    known (or a header that is the whole data) the dataset has its final size from the start, as
    lacuna's; otherwise it grows along the subject axis. Returns the number of subjects written.
    """
    import h5py

    n_timepoints, n_voxels = header.timeseries.shape[1:]
    known = n_subjects if n_subjects is not None else (header.timeseries.shape[0] or None)
    written, ids = 0, []
    with h5py.File(path, "w") as file:
        dataset = file.create_dataset(
            "timeseries",
            shape=(known or 0, n_timepoints, n_voxels),
            maxshape=(known, n_timepoints, n_voxels) if known else (None, n_timepoints, n_voxels),
            dtype=np.float32,
            chunks=(1, n_timepoints, n_voxels),
            compression="gzip",
            compression_opts=GZIP_LEVEL,
        )
        file.create_dataset("mask_indices", data=np.asarray(header.mask_indices, dtype=np.int64))
        file.create_dataset("mask_affine", data=np.asarray(header.mask_affine, dtype=np.float64))
        file.attrs["mask_shape"] = np.asarray(header.mask_shape, dtype=np.int64)
        file.attrs["n_timepoints"] = np.int64(n_timepoints)
        file.attrs["n_voxels"] = np.int64(n_voxels)
        for name in TEXT_ATTRIBUTES:
            value = getattr(header, name)
            if value is not None:
                file.attrs[name] = str(getattr(value, "value", value))  # an enum member's text
        for chunk in chunks:
            rows = _rows_of(chunk, header, n_timepoints, n_voxels)
            end = written + len(rows)
            if known is None:
                dataset.resize(end, axis=0)
            elif end > known:
                raise OutputError(f"more than the {known} subjects announced arrived")
            dataset[written:end] = rows
            ids = None if ids is None or chunk.subject_ids is None else [*ids, *chunk.subject_ids]
            written = end
            del chunk, rows  # not kept alive while the next subject is read
        if known is not None and written != known:
            raise OutputError(f"{written} subjects arrived where {known} were announced")
        file.attrs["n_subjects"] = np.int64(written)
        if ids is not None and len(ids) == written and (written or header.subject_ids is not None):
            file.create_dataset(SUBJECT_IDS, data=ids, dtype=h5py.string_dtype())
    return written


def _rows_of(chunk: FunctionalConnectomeChunk, header: Any, n_timepoints: int, n_voxels: int) -> np.ndarray:
    """A chunk's time series as float32, after checking it belongs to the header's mask."""
    rows = chunk.timeseries
    if tuple(rows.shape[1:]) != (n_timepoints, n_voxels):
        raise OutputError(
            f"a subject has (timepoints, voxels) {tuple(rows.shape[1:])}, "
            f"the chunk {(n_timepoints, n_voxels)}"
        )
    shared = chunk is header or chunk.mask_indices is header.mask_indices
    if not shared and not np.array_equal(chunk.mask_indices, header.mask_indices):
        raise OutputError("a subject's mask_indices differ from the chunk's: its columns are other voxels")
    return np.asarray(rows, dtype=np.float32)
