"""spectralbrain 0.1.0's spectral cache functions (`save_hdf5`, `load_hdf5`, `save_npz`) under the same
names, parameters and defaults.

The functions build the hub's validated models and write them through its formats, on any storage URL,
atomically (a failure leaves no half file and keeps an existing one). Like spectralbrain they replace an
existing file, create a missing local folder and return the written path (a `Path`; the URL string for
remote targets).

Differences on purpose:
- inputs are validated: eigenvalues that do not match the eigenvectors, faces beyond the vertices,
  non-scalar metadata are errors
  (`InvalidArguments`, both the hub's InvalidDataError and the ValueError spectralbrain raises for the
  few cases it checks), where spectralbrain writes whatever it is given;
- integer eigenvalues, eigenvectors or vertices are stored as float64 (the schema's range);
- `save_hdf5` stamps `spectralbrain_version` "0.1.0", the version of the cache layout it writes (a
  `spectralbrain_version` key in `metadata` is replaced, as spectralbrain replaces it);
- `save_npz` writes exactly to `path` (spectralbrain appends ".npz" when missing, then returns the name
  without it); its arrays are the spectral NPZ layout (`neurodatahub.spectral.formats.npz`): eigenpairs
  and mesh by name, any other array a descriptor with one row per vertex;
- `load_hdf5` validates what it reads and returns plain Python metadata values (spectralbrain returns
  numpy scalars, which compare equal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurodatahub.core import storage
from neurodatahub.core.conversion import read_as, write
from neurodatahub.core.peers import prepared, validated_arguments
from neurodatahub.core.registry import get_format
from neurodatahub.spectral import common

__all__ = ["load_hdf5", "save_hdf5", "save_npz"]

SPECTRALBRAIN_VERSION = "0.1.0"  # the cache layout these functions write


def _spectral(
    url: str,
    arrays: dict[str, Any],
    descriptors: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
    software_version: str | None,
) -> Any:
    parts = [(str(name), np.asarray(values), None, None) for name, values in (descriptors or {}).items()]
    with validated_arguments(url):
        return common.build(arrays, parts, metadata, software_version, url)


def save_hdf5(
    path: Any,
    *,
    eigenvalues: Any = None,
    eigenvectors: Any = None,
    vertices: Any = None,
    faces: Any = None,
    descriptors: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    compression: str | None = "gzip",
    compression_opts: int | None = 4,
) -> Path | str:
    """Save a spectral decomposition and descriptors to spectralbrain's HDF5 cache."""
    url = prepared(path)
    arrays = {"eigenvalues": eigenvalues, "eigenvectors": eigenvectors, "vertices": vertices, "faces": faces}
    extra = {key: value for key, value in (metadata or {}).items() if key != "spectralbrain_version"}
    model = _spectral(url, arrays, descriptors, extra, SPECTRALBRAIN_VERSION)
    write(
        model,
        url,
        format="hdf5",
        overwrite=True,
        compression=compression or "none",
        compression_opts=4 if compression_opts is None else compression_opts,  # h5py's gzip default
    )
    return storage.returned(url)


def load_hdf5(path: Any) -> dict[str, Any]:
    """Load a spectralbrain HDF5 cache: the arrays saved, `descriptors` by name, and `metadata`."""
    model = read_as(get_format("hdf5", kind="spectral"), str(path))
    result: dict[str, Any] = {
        name: getattr(model, name)
        for name in ("eigenvalues", "eigenvectors", "vertices", "faces")
        if getattr(model, name) is not None
    }
    if model.descriptors:
        result["descriptors"] = {descriptor.name: descriptor.values for descriptor in model.descriptors}
    metadata = dict(model.metadata or {})
    if model.software_version is not None:
        metadata["spectralbrain_version"] = model.software_version
    result["metadata"] = metadata
    return result


def save_npz(path: Any, **arrays: Any) -> Path | str:
    """Save named arrays to a compressed NPZ: eigenpairs and mesh by name, the rest as descriptors."""
    url = prepared(path)
    fields = {name: arrays.pop(name) for name in common.ARRAY_FIELDS if name in arrays}
    write(_spectral(url, fields, arrays, None, None), url, format="npz", overwrite=True)
    return storage.returned(url)
