"""HDF5 through the storage layer: local files by path, remote ones through the block cache.

Every HDF5 reader opens files with `open_hdf5`, which refuses references to other files (external raw
storage, external links, virtual datasets: `core.references`) before anything is read, and reads arrays
with `read`, which checks the declared size against the memory budget and the stored size against the
decompression limit (`core.budget`) before allocating.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from neurodatahub.core import budget, references, storage
from neurodatahub.core.errors import InputError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 reads the raw data of externally stored datasets relative to the working directory unless told
# otherwise, and it reads this variable once, when h5py is first imported: set here, before that, so that
# names resolve against the file's own folder, where core.references checked them (the user's own value
# is replaced: it could point the library elsewhere than the check). External links and virtual datasets
# already resolve against the file's folder.
ORIGIN = "${ORIGIN}"
os.environ["HDF5_EXTFILE_PREFIX"] = ORIGIN


def is_hdf5(head: bytes) -> bool:
    """HDF5 files start with the signature (at offset 0 for every file the peers write)."""
    return head.startswith(HDF5_SIGNATURE)


@contextlib.contextmanager
def open_hdf5(
    url: str, storage_options: Mapping[str, Any] | None = None, *, reads_data: bool = True
) -> Iterator[Any]:
    """An h5py File: local files by path (h5py's own driver is fastest), remote ones through the
    storage layer's file object, in a storage.reading() scope (each byte fetched once; `read_rows` finds
    the file there). A file written with paged aggregation is fetched a page at a time. References out
    of the file are refused first; a caller that reads no dataset's values (`reads_data` False: a format
    probe reading names and attributes) has only its links checked, not every dataset's storage."""
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
            check_references(file, url, datasets=reads_data)
            if not storage.is_local(url) and (page := page_size(file)):
                storage.read_block_size(url, page)
            yield file
        except (OSError, KeyError) as error:
            raise InputError(f"cannot read {url}: {error}") from error


def check_references(file: Any, url: str, datasets: bool = True) -> None:
    """Refuse (core.references.check) every external link, externally stored or virtual dataset of `file`
    (with `datasets` False, only external links: for callers that read no dataset's values).

    Through HDF5's own visitors (H5Lvisit for links, H5Ovisit for objects, neither following external
    links), which say each link's and object's type without opening it: h5py's visititems_links opens
    every object to tell datasets from groups, 60% of a small file's conversion. Only datasets are opened,
    for their creation properties.
    """
    from h5py import h5d, h5l, h5o

    found: list[tuple[str, str]] = []

    def on_link(name: bytes, info: Any) -> None:
        if info.type == h5l.TYPE_EXTERNAL:
            target, _ = file.id.links.get_val(name)
            found.append((storage_name(target), f"external link /{storage_name(name)}"))

    def on_object(name: bytes, info: Any) -> None:
        if info.type != h5o.TYPE_DATASET:
            return
        plist = h5d.open(file.id, name).get_create_plist()
        where = f"/{storage_name(name)}"
        for index in range(plist.get_external_count()):
            found.append(
                (storage_name(plist.get_external(index)[0]), f"dataset {where} (external raw storage)")
            )
        if plist.get_layout() == h5d.VIRTUAL:
            for index in range(plist.get_virtual_count()):
                source = storage_name(plist.get_virtual_filename(index))
                if source != ".":
                    found.append((source, f"virtual dataset {where}"))

    try:
        file.id.links.visit(on_link, info=True)
        if datasets:
            h5o.visit(file.id, on_object, info=True)
    except (RuntimeError, SystemError, OSError, ValueError, KeyError) as error:  # HDF5 on damaged metadata
        raise InputError(f"{url}: damaged HDF5 structure ({' '.join(str(error).split())[:200]})") from error
    for target, what in found:
        references.check(target, url, what)


def storage_name(target: Any) -> str:
    return target.decode("utf-8", errors="replace") if isinstance(target, bytes) else str(target)


def dataset(item: Any, url: str) -> Any:
    """`item` when it is a dataset; a group (or a named type) where a dataset belongs is an InputError."""
    import h5py

    if not isinstance(item, h5py.Dataset):
        raise InputError(f"{url}: {item.name} is a group where a dataset belongs")
    return item


def read(item: Any, url: str, selection: Any = ()) -> Any:
    """The values of a dataset (or a basic `selection` of it: ints and slices), after checking what it
    declares: a group where a dataset belongs is an InputError; a selection over the memory budget, or a
    dataset whose stored bytes would inflate beyond the decompression limit, a BudgetError."""
    item = dataset(item, url)
    shape = tuple(item.shape or ())
    what = f"dataset {item.name} {shape} of {item.dtype}"
    budget.require_array(_selected(shape, selection, what, url), item.dtype, what, url)
    if item.external and not item.id.get_access_plist().get_efile_prefix():  # "": the working folder
        raise InputError(
            f"{url}: {item.name} keeps its data in another file, and this process imported h5py before the"
            " hub could make it read such files from the input's folder only"
        )
    if item.size and not (item.is_virtual or item.external):
        declared = item.size * max(item.dtype.itemsize, 1)
        budget.require_inflation(declared, item.id.get_storage_size(), what, url)
    try:
        return item[selection]
    except (OSError, ValueError, TypeError) as error:
        raise InputError(f"{url}: cannot read {what} ({error})") from error


def read_numbers(item: Any, url: str, what: str) -> np.ndarray:
    """`read` of a dataset that must hold numbers (times, indices, ids), flat."""
    return numbers(read(item, url), what, url)


def numbers(values: Any, what: str, url: str) -> np.ndarray:
    """Values as a flat numeric array; text or references where numbers belong are an InputError."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise InputError(f"{url}: {what} must hold numbers, holds {array.dtype}")
    return array.reshape(-1)


def _selected(shape: tuple[int, ...], selection: Any, what: str, url: str) -> tuple[int, ...]:
    """The shape `selection` takes out of `shape`, computed without allocating anything."""
    parts = selection if isinstance(selection, tuple) else (selection,)
    if len(parts) > len(shape):
        raise InputError(f"{url}: {what} has {len(shape)} dimensions, {len(parts)} indices given")
    kept: list[int] = []
    for index, length in enumerate(shape):
        part = parts[index] if index < len(parts) else slice(None)
        if isinstance(part, slice):
            kept.append(len(range(*part.indices(length))))
        elif not isinstance(part, int | np.integer):
            raise TypeError(f"hdf5.read takes ints and slices, not {part!r}")
    return tuple(kept)


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
    what = f"rows of dataset {dataset.name} {tuple(dataset.shape)} of {dataset.dtype}"
    budget.require_array((rows.size, *dataset.shape[1:]), dataset.dtype, what, url)
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
