"""Helpers shared by format families: HDF5 access through the storage layer, attribute decoding."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .. import storage
from ..errors import InputError

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


def to_json(value: Any) -> str:
    """JSON for metadata stored in attributes; numpy values become plain numbers and lists."""
    return json.dumps(value, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


HUB_METADATA_KEY = b"neurodatahub"  # Parquet/Arrow schema metadata holding the hub's own header
HUB_METADATA_VERSION = 1


def read_parquet_table(url: str, storage_options: Mapping[str, Any] | None = None) -> Any:
    """A whole Parquet file as a pyarrow Table; damaged files are InputError, not pyarrow's exceptions."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with storage.open_read(url, storage_options) as handle:
        try:
            return pq.read_table(handle)
        except (pa.ArrowException, OSError) as error:
            raise InputError(f"{url}: not a readable Parquet file ({error})") from error


def hub_metadata(table: Any, url: str) -> dict[str, Any]:
    """The hub's header in a table's schema metadata ({} in files other tools wrote)."""
    raw = (table.schema.metadata or {}).get(HUB_METADATA_KEY)
    if raw is None:
        return {}
    try:
        header = json.loads(raw)
    except ValueError as error:
        raise InputError(f"{url}: damaged neurodatahub metadata ({error})") from error
    if not isinstance(header, dict) or header.get("version") != HUB_METADATA_VERSION:
        raise InputError(f"{url}: neurodatahub metadata of an unknown layout")
    return header


def npz_array(archive: Any, name: str, url: str) -> np.ndarray:
    """One array of an NPZ opened with allow_pickle=False; pickled or damaged members are InputError."""
    import zipfile
    import zlib

    try:
        return archive[name]
    except ValueError as error:
        if "pickle" in str(error):
            raise InputError(
                f"{url}: array {name!r} holds pickled Python objects; loading it would run code from the"
                " file, so the hub refuses it"
            ) from error
        raise InputError(f"{url}: array {name!r} is damaged ({error})") from error
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise InputError(f"{url}: array {name!r} is damaged ({error})") from error


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
