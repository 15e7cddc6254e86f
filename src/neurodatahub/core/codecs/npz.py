"""NPZ archives and .npy files: written member by member, read without pickle and within the budget.

What an archive declares is checked before anything is inflated: each member's size in the zip
directory against the memory budget and the decompression limit, and each array's shape and dtype in
its .npy header against the budget (numpy allocates the declared shape before reading a member).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from neurodatahub.core import budget, storage
from neurodatahub.core.errors import InputError

ZIP_MAGIC = b"PK\x03\x04"
NPY_MAGIC = b"\x93NUMPY"


def npy_header(handle: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype a .npy stream declares, read from its header (the stream is left after it).

    Bytes that are not a .npy file are said to be so, and arrays of Python objects (pickled) refused.
    """
    from tokenize import TokenError

    from numpy.lib import format as npy

    start = handle.read(len(NPY_MAGIC))
    if start != NPY_MAGIC:
        raise InputError(f"{where}: not a NumPy .npy array (it does not start with the .npy magic)")
    try:
        major, _ = (int(byte) for byte in handle.read(2))
        reader = npy.read_array_header_1_0 if major == 1 else npy.read_array_header_2_0
        shape, _, dtype = reader(handle)
    except (ValueError, SyntaxError, TypeError, OverflowError, TokenError) as error:  # numpy tokenizes it
        raise InputError(f"{where}: damaged .npy header ({' '.join(str(error).split())})") from error
    if dtype.hasobject:
        raise InputError(
            f"{where} holds pickled Python objects; loading it would run code from the file, so the hub"
            " refuses it"
        )
    return tuple(shape), dtype


def check_npy(handle: IO[bytes], where: str, url: str) -> tuple[tuple[int, ...], np.dtype]:
    """`npy_header`, and the declared array against the memory budget; the stream is rewound."""
    shape, dtype = npy_header(handle, where)
    budget.require_array(shape, dtype, f"the array {where.rsplit(': ', 1)[-1]} {shape} of {dtype}", url)
    handle.seek(0)
    return shape, dtype


def check_archive(archive: zipfile.ZipFile, url: str) -> None:
    """Every member's declared size against the decompression limit and the budget, and every .npy
    member's shape against the budget, before any member is inflated."""
    for info in archive.infolist():
        what = f"archive member {info.filename}"
        budget.require_inflation(info.file_size, info.compress_size, what, url)
        budget.require(info.file_size, what, url)
        if info.filename.endswith(".npy"):
            with archive.open(info) as member:
                shape, dtype = npy_header(member, f"{url}: {info.filename}")
            budget.require_array(shape, dtype, f"array {info.filename} {shape} of {dtype}", url)


def open_archive(handle: IO[bytes], url: str) -> Any:
    """numpy's NpzFile of an open file, pickles off, after `check_archive`."""
    try:
        with zipfile.ZipFile(handle) as directory:
            check_archive(directory, url)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise InputError(f"{url}: not a readable NPZ archive ({error})") from error
    handle.seek(0)
    try:
        return np.load(handle, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(f"{url}: not a readable NPZ archive ({error})") from error


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
    """Every member of an NPZ archive, without unpickling anything."""
    with storage.open_read(url, storage_options) as handle:
        if handle.read(len(NPY_MAGIC)) == NPY_MAGIC:
            raise InputError(f"{url} holds a single .npy array, not an NPZ archive")
        handle.seek(0)
        with open_archive(handle, url) as archive:
            return {name: npz_array(archive, name, url) for name in archive.files}


def load_npy(url: str, storage_options: Mapping[str, Any] | None) -> np.ndarray:
    """One .npy array, never unpickled, its declared shape checked against the budget first."""
    with storage.open_read(url, storage_options) as handle:
        check_npy(handle, url, url)
        try:
            return np.load(handle, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise InputError(f"{url}: not a readable .npy array ({error})") from error


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
