"""spectralbrain 0.1.0's `spectralbrain.io.export` under the same names, parameters and defaults.

The functions build the hub's validated models and write them through its formats, on any storage URL,
atomically (a failure leaves no half file and keeps an existing one). Like spectralbrain they replace an
existing file, create a missing local folder and return the written path (a `Path`; the URL string for
remote targets).

Differences on purpose:
- inputs are validated: a non-square connectome, a label count that does not match, eigenvalues that do
  not match the eigenvectors, faces beyond the vertices, non-scalar metadata are errors
  (`InvalidArguments`, both the hub's InvalidDataError and the ValueError spectralbrain raises for the
  few cases it checks), where spectralbrain writes whatever it is given;
- integer eigenvalues, eigenvectors or vertices are stored as float64 (the schema's range);
- `save_hdf5` stamps `spectralbrain_version` "0.1.0", the version of the cache layout it writes (a
  `spectralbrain_version` key in `metadata` is replaced, as spectralbrain replaces it);
- `save_npz` writes exactly to `path` (spectralbrain appends ".npz" when missing, then returns the name
  without it); its arrays are the spectral NPZ layout (formats/spectral/npz.py): eigenpairs and mesh by
  name, any other array a descriptor with one row per vertex;
- `load_hdf5` validates what it reads and returns plain Python metadata values (spectralbrain returns
  numpy scalars, which compare equal).
`save_mesh` and `save_gifti_func` come from `neurodatahub.surfaces`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import storage
from ..conversion import invalid_data_of, read_as, write
from ..errors import InvalidDataError
from ..formats.registry import get_format

if TYPE_CHECKING:  # imported on first use by __getattr__ below
    from ..surfaces import save_gifti_func, save_mesh

__all__ = ["load_hdf5", "save_connectome", "save_gifti_func", "save_hdf5", "save_mesh", "save_npz"]

SPECTRALBRAIN_VERSION = "0.1.0"  # the cache layout these functions write
SURFACE_FUNCTIONS = ("save_mesh", "save_gifti_func")


class InvalidArguments(InvalidDataError, ValueError):
    """Arguments that make no valid model: a hub error, and the ValueError spectralbrain raises."""


@contextlib.contextmanager
def _validated(url: str) -> Iterator[None]:
    try:
        with invalid_data_of(url):
            yield
    except InvalidDataError as error:
        raise InvalidArguments(str(error), error.problems) from error


def __getattr__(name: str) -> Any:
    """save_mesh and save_gifti_func live with the surfaces; imported on first use."""
    if name in SURFACE_FUNCTIONS:
        from .. import surfaces

        return getattr(surfaces, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _prepared(path: Any) -> str:
    """The target as a URL; a missing local folder is created, as spectralbrain does."""
    url = str(path)
    if storage.is_local(url):
        storage.local_path(url).parent.mkdir(parents=True, exist_ok=True)
    return url


def save_connectome(
    path: Any, matrix: Any, *, labels: list[str] | None = None, float_format: str = "%.10g"
) -> Path | str:
    """Save a connectome matrix to a labelled TSV (header row with an empty first cell)."""
    from ..formats.connectivity import common

    url = _prepared(path)
    values = np.asarray(matrix)
    names = common.default_labels(len(values)) if labels is None else [str(label) for label in labels]
    with _validated(url):
        conn = common.build(values, names)
    write(conn, url, format="tsv", overwrite=True, float_format=float_format)
    return storage.returned(url)


def _spectral(
    url: str,
    arrays: dict[str, Any],
    descriptors: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
    software_version: str | None,
) -> Any:
    from ..formats.spectral import common

    parts = [(str(name), np.asarray(values), None, None) for name, values in (descriptors or {}).items()]
    with _validated(url):
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
    url = _prepared(path)
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
    from ..formats.spectral import common

    url = _prepared(path)
    fields = {name: arrays.pop(name) for name in common.ARRAY_FIELDS if name in arrays}
    write(_spectral(url, fields, arrays, None, None), url, format="npz", overwrite=True)
    return storage.returned(url)
