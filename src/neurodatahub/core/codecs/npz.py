"""NPZ archives: written member by member, always read without pickle."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError

ZIP_MAGIC = b"PK\x03\x04"


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


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray], *, compress: bool) -> None:
    """What np.savez(_compressed) writes: one `<name>.npy` per array in a zip, deflated or stored.

    Written member by member because numpy's functions take the names as keyword arguments, so an
    array could not be called "file" or "allow_pickle"; objects are refused, never pickled.
    """
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method, allowZip64=True) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def load(url: str, storage_options: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    """Every member of an NPZ archive, without unpickling anything ."""
    with storage.open_read(url, storage_options) as handle:
        try:
            archive = np.load(handle, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            raise InputError(f"{url}: not a readable NPZ archive ({error})") from error
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise InputError(f"{url} holds a single .npy array, not an NPZ archive")
        with archive:
            return {name: npz_array(archive, name, url) for name in archive.files}


def member_names(url: str, head: bytes, storage_options: Mapping[str, Any] | None = None) -> set[str]:
    """Array names of a zip archive (from its central directory), or an empty set for anything else."""
    if not head.startswith(ZIP_MAGIC):
        return set()
    try:
        with (
            storage.open_read(url, storage_options) as handle,
            zipfile.ZipFile(handle) as archive,
        ):
            return {name.removesuffix(".npy") for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError, InputError):
        return set()
