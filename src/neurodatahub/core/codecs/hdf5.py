"""HDF5 through the storage layer: local files by path, remote ones through the block cache."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_hdf5(head: bytes) -> bool:
    """HDF5 files start with the signature (at offset 0 for every file the peers write)."""
    return head.startswith(HDF5_SIGNATURE)


@contextlib.contextmanager
def open_hdf5(url: str, storage_options: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """An h5py File: local files by path (h5py's own driver is fastest), remote ones through the
    storage layer's file object, in a storage.reading() scope (each byte fetched once; `read_rows` finds
    the file there). A file written with paged aggregation is fetched a page at a time."""
    import h5py

    with contextlib.ExitStack() as stack:
        if storage.is_local(url):
            source: Any = storage.local_path(url)
            if not source.is_file():
                raise InputError(f"{url}: no such file" + (" (it is a folder)" if source.is_dir() else ""))
        else:
            stack.enter_context(storage.reading())
            source = stack.enter_context(storage.open_read(url, storage_options))
        try:
            file = stack.enter_context(h5py.File(source, "r"))
        except OSError as error:
            raise InputError(f"{url}: not a readable HDF5 file ({error})") from error
        try:
            if not storage.is_local(url) and (page := page_size(file)):
                storage.read_block_size(url, page)
            yield file
        except (OSError, KeyError) as error:
            raise InputError(f"cannot read {url}: {error}") from error


def page_size(file: Any) -> int | None:
    """The file-space page size an HDF5 file was written with (paged aggregation: its metadata is
    gathered in pages of that size), None for files written without paging (the default)."""
    import h5py

    plist = file.id.get_create_plist()
    if plist.get_file_space_strategy()[0] != h5py.h5f.FSPACE_STRATEGY_PAGE:
        return None
    return int(plist.get_file_space_page_size())


def read_rows(dataset: Any, rows: Any, url: str, storage_options: Mapping[str, Any] | None = None) -> Any:
    """`dataset[rows]` (rows of the first axis, in any order, repeats allowed), fetching only their bytes.

    Numbers stored raw (contiguous, or in unfiltered chunks as wide as the dataset: pynwb's default) are
    cut from the exact byte ranges the rows occupy, fetched in one round (storage.read_ranges): h5py
    would read each lone element through HDF5's sieve buffer or its whole chunk, which for one value per
    unit of a spike table is the whole table. Filtered chunks: the chunks holding the rows are fetched at
    once, then h5py decodes them. Anything else: h5py alone.
    """
    import h5py

    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    unique, inverse = np.unique(rows, return_inverse=True)
    if not unique.size:
        return np.empty((0, *dataset.shape[1:]), dtype=dataset.dtype)
    plist = dataset.id.get_create_plist()
    row_bytes = dataset.dtype.itemsize * int(np.prod(dataset.shape[1:], dtype=np.int64))
    starts = _row_offsets(dataset, plist, unique, row_bytes)
    if starts is not None:
        ranges = list(zip(starts.tolist(), (starts + row_bytes).tolist(), strict=True))
        pieces = storage.read_ranges(url, ranges, storage_options)
        values = np.frombuffer(b"".join(pieces), dtype=dataset.dtype)
        return values.reshape((unique.size, *dataset.shape[1:]))[inverse]
    if plist.get_layout() == h5py.h5d.CHUNKED:
        ranges = [
            (offset, offset + size) for offset, size in _chunks_of(dataset, unique) if offset is not None
        ]
        storage.prefetch(url, ranges, storage_options)
    return dataset[unique][inverse]


def _row_offsets(dataset: Any, plist: Any, rows: np.ndarray, row_bytes: int) -> np.ndarray | None:
    """File offsets of rows stored as raw numbers (contiguous, or unfiltered full-width chunks), else None."""
    import h5py

    if dataset.dtype.kind not in "iuf" or plist.get_external_count():
        return None
    layout = plist.get_layout()
    if layout == h5py.h5d.CONTIGUOUS:
        offset = dataset.id.get_offset()
        return None if offset is None else offset + rows * row_bytes
    if layout != h5py.h5d.CHUNKED or plist.get_nfilters() or tuple(dataset.chunks[1:]) != dataset.shape[1:]:
        return None
    height = dataset.chunks[0]
    firsts = rows // height * height
    chunks = _chunks_of(dataset, rows)  # one per first row: the chunks span the other axes whole
    where = {first: offset for first, (offset, _) in zip(np.unique(firsts).tolist(), chunks, strict=True)}
    if any(offset is None for offset in where.values()):  # a chunk never written: its fill value
        return None
    return np.array([where[first] for first in firsts.tolist()], dtype=np.int64) + (rows - firsts) * row_bytes


def _chunks_of(dataset: Any, rows: np.ndarray) -> list[tuple[int | None, int]]:
    """(file offset, stored size) of every chunk holding one of `rows`, in order of their first row."""
    import itertools

    across = [range(0, size, step) for size, step in zip(dataset.shape[1:], dataset.chunks[1:], strict=True)]
    found = []
    for first in np.unique(rows // dataset.chunks[0] * dataset.chunks[0]).tolist():
        for rest in itertools.product(*across):
            stored = dataset.id.get_chunk_info_by_coord((first, *rest))
            found.append((stored.byte_offset, stored.size))
    return found


def text(value: Any) -> str:
    """HDF5 strings arrive as str, bytes or numpy scalars depending on the writer."""
    if isinstance(value, bytes | np.bytes_):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return text(value[()])
    return str(value)


def texts(values: Any) -> list[str]:
    return [text(value) for value in np.asarray(values).reshape(-1)]


def dataset_options(compression: str, compression_opts: int) -> dict[str, Any]:
    """h5py filter arguments from the writer options (already checked by core.options.Hdf5Compression)."""
    if compression == "none":
        return {}
    if compression == "lzf":
        return {"compression": "lzf"}
    return {"compression": "gzip", "compression_opts": compression_opts}
