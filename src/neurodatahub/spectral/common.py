"""What both spectral formats need: building the model from named arrays, metadata as plain values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neurodatahub.core.errors import InputError

KIND = "spectral"
ARRAY_FIELDS = ("eigenvalues", "eigenvectors", "vertices", "faces")
FLOAT_FIELDS = ("eigenvalues", "eigenvectors", "vertices")
VERSION_KEY = "spectralbrain_version"


def plain(value: Any) -> Any:
    """An attribute or archive value as Python: numpy scalars to numbers, arrays to lists, bytes to str."""
    if isinstance(value, bytes | np.bytes_):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.shape == ():
            return plain(value[()])
        return [plain(item) for item in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def numeric(value: Any, name: str, url: str) -> np.ndarray:
    """One of the model's arrays from a file: numbers only; integer coordinates and values become float64."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise InputError(f"{url}: {name} must hold numbers, got {array.dtype}")
    if name in FLOAT_FIELDS and array.dtype.kind in "biu":
        return array.astype(np.float64)
    if name == "faces" and array.dtype.kind == "f":
        if not np.array_equal(array, np.round(array)):
            raise InputError(f"{url}: faces must be whole vertex indices")
        return array.astype(np.int64)
    return array


def descriptor_values(value: Any, name: str, url: str) -> np.ndarray:
    """A descriptor's values: numbers, booleans or text (never Python objects)."""
    array = np.asarray(value)
    if array.dtype.kind == "O":
        if not all(isinstance(item, str | bytes) for item in array.reshape(-1).tolist()):
            raise InputError(f"{url}: descriptor {name!r} holds objects, not numbers or text")
        array = np.array([plain(item) for item in array.reshape(-1).tolist()], dtype=str).reshape(array.shape)
    elif array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8")
    if array.ndim == 0:
        raise InputError(f"{url}: descriptor {name!r} is a single value; a descriptor has one row per vertex")
    return array


def build(
    arrays: Mapping[str, Any],
    descriptors: list[tuple[str, np.ndarray, str | None, str | None]],
    metadata: Mapping[str, Any] | None,
    software_version: str | None,
    url: str,
) -> Any:
    """A validated SpectralDecomposition from a file's parts; descriptors as (name, values, text, unit)."""
    from neurodatahub.core.models import NamedArray, SpectralDecomposition

    fields = {name: numeric(arrays[name], name, url) for name in ARRAY_FIELDS if arrays.get(name) is not None}
    named = [
        NamedArray(name=name, values=values, description=description, unit=unit)
        for name, values, description, unit in descriptors
    ]
    return SpectralDecomposition(
        **fields,
        descriptors=named or None,
        metadata={key: plain(value) for key, value in metadata.items()} if metadata else None,
        software_version=software_version,
    )
