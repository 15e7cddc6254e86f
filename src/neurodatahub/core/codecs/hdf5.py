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
            yield file
        except (OSError, KeyError) as error:
            raise InputError(f"cannot read {url}: {error}") from error


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
