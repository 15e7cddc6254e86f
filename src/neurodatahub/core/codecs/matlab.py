"""MATLAB MAT-files: v5 (also what v6 and v7 save) through scipy.io, v7.3 (HDF5) through h5py.

Variables come back in MATLAB's orientation (an N x M matrix is N x M here): numeric and logical arrays
as numpy arrays, char arrays as str, cell arrays of char (cellstr) as lists of str. Structs, sparse and
complex arrays, objects and other cells are listed (`Variable.matlab_class`) but not loaded.

v7.3 is written as MATLAB writes it (`save -v7.3`), which scipy cannot do: a 512-byte user block holding
the 128-byte MAT header, then HDF5 with each variable a dataset carrying its `MATLAB_class` attribute,
arrays transposed (HDF5 is row-major, MATLAB column-major), char as UTF-16 code units, cell elements as
object references into `#refs#`, empty values as their dimensions with `MATLAB_empty`. h5py writes the
HDF5 part; the header and this mapping are the hub's (no maintained package writes v7.3 without MATLAB
but hdf5storage, which reads and writes whole Python objects, not one variable of a file).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurodatahub.core import budget, storage
from neurodatahub.core.codecs import hdf5
from neurodatahub.core.errors import InputError

HEADER_SIZE = 128
USERBLOCK = 512
V5_TEXT, V73_TEXT = b"MATLAB 5.0 MAT-file", b"MATLAB 7.3 MAT-file"
NUMERIC_CLASSES = (
    "double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
)  # fmt: skip
CLASS_OF_DTYPE = {
    "f8": "double", "f4": "single", "i1": "int8", "u1": "uint8", "i2": "int16", "u2": "uint16",
    "i4": "int32", "u4": "uint32", "i8": "int64", "u8": "uint64",
}  # fmt: skip


@dataclass(frozen=True)
class Variable:
    name: str
    shape: tuple[int, ...]  # MATLAB's dimensions
    matlab_class: str  # double, single, int32, logical, char, cell, struct, sparse...


def version_of(head: bytes) -> str | None:
    """'5' or '7.3' from the text header of a MAT-file; None when there is none (v4 has no header)."""
    if head.startswith(V73_TEXT):
        return "7.3"
    if head.startswith(b"MATLAB 5.0 MAT-file"):
        return "5"
    return None


def _damaged(url: str, error: BaseException) -> InputError:
    return InputError(
        f"{url}: not a readable MAT-file ({type(error).__name__}: {' '.join(str(error).split())})"
    )


# ---- v5 (scipy.io) ----


@contextlib.contextmanager
def _v5_errors(url: str) -> Iterator[None]:
    from scipy.io.matlab import MatReadError

    try:
        yield
    except (
        MatReadError,
        ValueError,
        TypeError,
        EOFError,
        OSError,
        KeyError,
        IndexError,
        NotImplementedError,
    ) as error:
        raise _damaged(url, error) from error


def _v5_variables(url: str, storage_options: Mapping[str, Any] | None) -> list[Variable]:
    from scipy.io import whosmat

    with storage.open_read(url, storage_options) as handle, _v5_errors(url):
        return [Variable(name, tuple(shape), kind) for name, shape, kind in whosmat(handle)]


def _v5_value(value: Any) -> Any:
    if value.dtype.kind == "U":  # char: one string (a char matrix joins its rows)
        return "".join(value.reshape(-1).tolist())
    if value.dtype == object:  # cell: strings only
        return [_cell_text(item) for item in value.reshape(-1, order="F")]
    return value


def _cell_text(item: Any) -> str:
    array = np.asarray(item)
    if array.dtype.kind != "U":
        raise ValueError("a cell holds something other than text")
    return "".join(array.reshape(-1).tolist())


def _v5_load(url: str, names: list[str], storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    from scipy.io import loadmat

    for variable in _v5_variables(url, storage_options):  # headers only: the declared sizes come first
        if variable.name in names:
            itemsize = 4 if variable.matlab_class == "char" else 8  # scipy: UCS-4 chars, numbers up to 8
            budget.require_array(variable.shape, f"V{itemsize}", f"the variable {variable.name}", url)
    with storage.open_read(url, storage_options) as handle, _v5_errors(url):
        found = loadmat(handle, variable_names=names, chars_as_strings=False, mat_dtype=False)
        return {name: _v5_value(found[name]) for name in names if name in found}


# ---- v7.3 (HDF5) ----


@contextlib.contextmanager
def _open_v73(url: str, storage_options: Mapping[str, Any] | None) -> Iterator[Any]:
    with hdf5.open_hdf5(url, storage_options) as file:
        try:
            yield file
        except (ValueError, TypeError, UnicodeDecodeError) as error:
            raise _damaged(url, error) from error


def _class_of(node: Any) -> str:
    value = node.attrs.get("MATLAB_class", b"")
    kind = value.decode() if isinstance(value, bytes | np.bytes_) else str(value)
    if "MATLAB_sparse" in node.attrs:
        return "sparse"
    return kind or ("struct" if hasattr(node, "keys") else "unknown")


def _v73_shape(node: Any) -> tuple[int, ...]:
    if not hasattr(node, "shape"):
        return (1, 1)
    if node.attrs.get("MATLAB_empty"):
        return tuple(int(size) for size in np.asarray(hdf5.read(node, node.file.filename)).reshape(-1))
    return tuple(reversed(node.shape))


def _v73_variables(url: str, storage_options: Mapping[str, Any] | None) -> list[Variable]:
    with _open_v73(url, storage_options) as file:
        return [
            Variable(name, _v73_shape(file[name]), _class_of(file[name]))
            for name in file
            if not name.startswith("#")
        ]


def _v73_char(node: Any) -> str:
    if node.attrs.get("MATLAB_empty"):
        return ""
    codes = np.asarray(hdf5.read(node, node.file.filename), dtype="<u2").T.reshape(-1)  # rows, joined
    return codes.tobytes().decode("utf-16-le")


def _v73_value(file: Any, node: Any) -> Any:
    kind = _class_of(node)
    if kind == "char":
        return _v73_char(node)
    if kind == "cell":
        refs = np.asarray(hdf5.read(node, node.file.filename)).T.reshape(-1, order="F")
        values = []
        for ref in refs:
            item = file[ref]
            if _class_of(item) != "char":
                raise ValueError("a cell holds something other than text")
            values.append(_v73_char(item))
        return values
    if kind in (*NUMERIC_CLASSES, "logical"):
        if node.attrs.get("MATLAB_empty"):
            return np.zeros(_v73_shape(node), dtype=bool if kind == "logical" else np.float64)
        data = np.asarray(hdf5.read(node, node.file.filename)).T  # the declared size checked first
        if data.dtype.names:  # complex numbers are a compound of real and imag
            raise ValueError("complex matrices are not read")
        return data.astype(bool) if kind == "logical" else data
    raise ValueError(f"a MATLAB {kind} is not read")


def _v73_load(url: str, names: list[str], storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    with _open_v73(url, storage_options) as file:
        return {name: _v73_value(file, file[name]) for name in names if name in file}


# ---- either version ----


def variables(url: str, storage_options: Mapping[str, Any] | None = None) -> list[Variable]:
    """Every variable of the file with its MATLAB dimensions and class, nothing loaded."""
    if _version(url, storage_options) == "7.3":
        return _v73_variables(url, storage_options)
    return _v5_variables(url, storage_options)


def load(url: str, names: list[str], storage_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The named variables (those present), as numpy arrays, str or lists of str."""
    try:
        if _version(url, storage_options) == "7.3":
            return _v73_load(url, names, storage_options)
        return _v5_load(url, names, storage_options)
    except ValueError as error:
        raise _damaged(url, error) from error


def _version(url: str, storage_options: Mapping[str, Any] | None) -> str | None:
    return version_of(storage.read_head(url, HEADER_SIZE, storage_options))


def header(version: str) -> bytes:
    """The 128-byte MAT header: text padded to 116 bytes, no subsystem offset, version 0x0100/0x0200, 'IM'."""
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime())
    text = (V73_TEXT if version == "7.3" else V5_TEXT) + f", Platform: GLNXA64, Created on: {stamp}".encode()
    if version == "7.3":
        text += b" HDF5 schema 1.00 ."
    return (
        text[:116].ljust(116, b" ") + b"\x00" * 8 + (b"\x00\x02" if version == "7.3" else b"\x00\x01") + b"IM"
    )


def save(path: Path, values: Mapping[str, Any], version: str) -> None:
    """Write variables (numeric or bool arrays, str, lists of str) as a v5 or v7.3 MAT-file."""
    if version == "7.3":
        _save_v73(path, values)
        return
    from scipy.io import savemat

    prepared = {
        name: np.array(value, dtype=object).reshape(1, -1) if isinstance(value, list) else value
        for name, value in values.items()
    }
    savemat(path, prepared, format="5", do_compression=True, oned_as="row")


def _save_v73(path: Path, values: Mapping[str, Any]) -> None:
    import h5py

    with h5py.File(path, "w", userblock_size=USERBLOCK) as file:
        for name, value in values.items():
            if isinstance(value, str):
                _char(file, name, value)
            elif isinstance(value, list):
                refs = file.require_group("#refs#")
                cell = np.empty((len(value), 1), dtype=h5py.ref_dtype)  # a 1 x N cell, transposed
                for index, item in enumerate(value):
                    cell[index, 0] = _char(refs, f"{name}_{index}", item).ref
                dataset = file.create_dataset(name, data=cell)
                dataset.attrs["MATLAB_class"] = np.bytes_("cell")
            else:
                array = np.asarray(value)
                kind = "logical" if array.dtype.kind == "b" else CLASS_OF_DTYPE[array.dtype.str[1:]]
                data = array.astype(np.uint8) if kind == "logical" else array
                if data.ndim < 2:
                    data = data.reshape(1, -1) if data.ndim else data.reshape(1, 1)
                if data.size == 0:
                    dataset = file.create_dataset(name, data=np.array(data.shape, dtype=np.uint64))
                    dataset.attrs["MATLAB_empty"] = np.uint8(1)
                else:
                    dataset = file.create_dataset(name, data=data.T, compression="gzip", compression_opts=3)
                dataset.attrs["MATLAB_class"] = np.bytes_(kind)
    with open(path, "r+b") as handle:
        handle.write(header("7.3"))


def _char(group: Any, name: str, text: str) -> Any:
    codes = np.frombuffer(text.encode("utf-16-le"), dtype="<u2")
    if codes.size == 0:
        dataset = group.create_dataset(name, data=np.array([0, 0], dtype=np.uint64))
        dataset.attrs["MATLAB_empty"] = np.uint8(1)
    else:
        dataset = group.create_dataset(name, data=codes.reshape(-1, 1))  # a 1 x L char row, transposed
    dataset.attrs["MATLAB_class"] = np.bytes_("char")
    dataset.attrs["MATLAB_int_decode"] = np.int32(2)
    return dataset
