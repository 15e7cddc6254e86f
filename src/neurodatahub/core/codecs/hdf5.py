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
def open_hdf5(url: str, storage_options: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """An h5py File: local files by path (h5py's own driver is fastest), remote ones through the
    storage layer's block-cached file object."""
    import h5py

    with contextlib.ExitStack() as stack:
        if storage.is_local(url):
            source: Any = storage.local_path(url)
            if not source.is_file():
                raise InputError(f"{url}: no such file" + (" (it is a folder)" if source.is_dir() else ""))
        else:
            source = stack.enter_context(storage.open_read(url, storage_options))
        try:
            file = stack.enter_context(h5py.File(source, "r"))
        except OSError as error:
            raise InputError(f"{url}: not a readable HDF5 file ({error})") from error
        try:
            check_references(file, url)
            yield file
        except (OSError, KeyError) as error:
            raise InputError(f"cannot read {url}: {error}") from error


def check_references(file: Any, url: str) -> None:
    """Refuse (core.references.check) every external link, externally stored or virtual dataset of `file`.

    Links are walked without following external ones; objects are opened by class only where needed.
    """
    import h5py

    found: list[tuple[str, str]] = []

    def visit(name: str, link: Any) -> None:
        if isinstance(link, h5py.ExternalLink):
            found.append((link.filename, f"external link /{name}"))
        elif isinstance(link, h5py.HardLink) and file.get(name, getclass=True) is h5py.Dataset:
            dataset = file[name]
            for target, _, _ in dataset.external or ():
                found.append((storage_name(target), f"dataset /{name} (external raw storage)"))
            if dataset.is_virtual:
                for source in dataset.virtual_sources():
                    if source.file_name != ".":
                        found.append((source.file_name, f"virtual dataset /{name}"))

    try:
        file.visititems_links(visit)
    except (RuntimeError, SystemError, OSError, ValueError, KeyError) as error:  # HDF5 on damaged metadata
        raise InputError(f"{url}: damaged HDF5 structure ({' '.join(str(error).split())[:200]})") from error
    for target, what in found:
        references.check(target, url, what)


def storage_name(target: Any) -> str:
    return target.decode("utf-8", errors="replace") if isinstance(target, bytes) else str(target)


def read(item: Any, url: str, selection: Any = ()) -> Any:
    """The values of a dataset (or a basic `selection` of it: ints and slices), after checking what it
    declares: a group where a dataset belongs is an InputError; a selection over the memory budget, or a
    dataset whose stored bytes would inflate beyond the decompression limit, a BudgetError."""
    import h5py

    if not isinstance(item, h5py.Dataset):
        raise InputError(f"{url}: {item.name} is a group where a dataset belongs")
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
