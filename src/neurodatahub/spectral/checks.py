"""Spectral decompositions (spectralbrain's cache): cross-field rules and the summary `hub info` prints.

Every part is optional, as in spectralbrain's save_hdf5, but the parts present must agree:
- k eigenvalues for the k eigenvector columns, both finite;
- one row per vertex in the eigenvectors and in every descriptor (the vertex count comes from the
  vertices, else from the eigenvectors); faces need vertices and must index them;
- descriptor names unique, non-empty and without "/" (each is an HDF5 dataset name in the cache);
- no NUL character in names, text metadata or the version: HDF5 text cannot hold one;
- metadata a mapping of names to strings, numbers or booleans (or flat lists of one of those): spectralbrain
  keeps it as HDF5 root attributes. `spectralbrain_version` is not metadata but `software_version`.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import arrays
from neurodatahub.core.checks import invariant, require_mesh, require_per_element
from neurodatahub.core.summary import summarizes

if TYPE_CHECKING:
    from neurodatahub.core.models import SpectralDecomposition

VERSION_ATTRIBUTE = "spectralbrain_version"


def _vertex_count(spec: SpectralDecomposition) -> int | None:
    if spec.vertices is not None:
        return len(spec.vertices)
    if spec.eigenvectors is not None:
        return spec.eigenvectors.shape[0]
    return None


def is_scalar(value: Any) -> bool:
    """str, int, float or bool, Python or numpy: what an HDF5 attribute holds as one value."""
    return isinstance(value, str | numbers.Number | np.bool_) and not isinstance(value, complex)


def is_attribute_value(value: Any) -> bool:
    """A scalar, or a flat list of strings or of numbers: what an HDF5 attribute holds and gives back."""
    if is_scalar(value):
        return True
    if isinstance(value, np.ndarray):
        return value.ndim == 1 and (
            value.dtype.kind in "biufU"
            or (value.dtype.kind == "O" and all(isinstance(v, str) for v in value))
        )
    if isinstance(value, list | tuple):
        return all(map(is_scalar, value)) and len({isinstance(v, str) for v in value}) <= 1
    return False


@invariant("SpectralDecomposition")
def _spectral(spec: SpectralDecomposition) -> None:
    n_vertices = _vertex_count(spec)
    if spec.eigenvectors is not None:
        rows, k = spec.eigenvectors.shape
        if spec.eigenvalues is not None and len(spec.eigenvalues) != k:
            raise ValueError(f"{len(spec.eigenvalues)} eigenvalues for {k} eigenvectors")
        if spec.vertices is not None and rows != len(spec.vertices):
            raise ValueError(f"eigenvectors have {rows} rows for {len(spec.vertices)} vertices")
        if not arrays.all_finite(spec.eigenvectors):
            raise ValueError("eigenvectors must be finite")
    if spec.eigenvalues is not None and not arrays.all_finite(spec.eigenvalues):
        raise ValueError("eigenvalues must be finite")
    if spec.faces is not None:
        if spec.vertices is None:
            raise ValueError("faces need vertices")
        require_mesh(spec.vertices, spec.faces)
    elif spec.vertices is not None and not arrays.all_finite(spec.vertices):
        raise ValueError("vertex coordinates must be finite")
    descriptors = spec.descriptors or ()
    bad = [
        d.name
        for d in descriptors
        if not d.name or "/" in d.name or "\x00" in d.name or d.name in (".", "..")
    ]
    if bad:
        raise ValueError(f"descriptor names must be non-empty HDF5 names without '/', got {bad}")
    if n_vertices is None:
        require_per_element(descriptors, len(descriptors[0].values) if descriptors else 0, "descriptor")
    else:
        require_per_element(descriptors, n_vertices, "descriptor")
    _metadata(spec.metadata)
    if spec.software_version and "\x00" in spec.software_version:
        raise ValueError("software_version must not contain NUL characters")


def _metadata(metadata: Any) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a mapping of names to values, got {type(metadata).__name__}")
    wrong = sorted(str(key) for key, value in metadata.items() if not is_attribute_value(value))
    if wrong:
        raise ValueError(
            "metadata values must be strings, numbers or booleans (or flat lists of them);"
            f" not so for {wrong}"
        )
    bad_keys = [key for key in metadata if not isinstance(key, str) or not key]
    if bad_keys:
        raise ValueError(f"metadata names must be non-empty strings, got {bad_keys!r}")
    texts = [key for key, value in metadata.items() if _has_nul(key) or _has_nul(value)]
    if texts:
        raise ValueError(f"metadata {texts} holds NUL characters, which HDF5 attributes cannot")
    if VERSION_ATTRIBUTE in metadata:
        raise ValueError(f"{VERSION_ATTRIBUTE} is not metadata: set software_version instead")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | np.ndarray):
        return any(isinstance(item, str) and "\x00" in item for item in value)
    return False


@summarizes("SpectralDecomposition")
def _summary(spec: SpectralDecomposition) -> dict[str, Any]:
    values = None if spec.eigenvalues is None else np.asarray(spec.eigenvalues, dtype=np.float64)
    vectors = spec.eigenvectors
    return {
        "vertices": None if spec.vertices is None else len(spec.vertices),
        "faces": None if spec.faces is None else len(spec.faces),
        "eigenvalues": None if values is None else len(values),
        "eigenvectors_shape": None if vectors is None else list(vectors.shape),
        "lowest_eigenvalue": float(values.min()) if values is not None and values.size else None,
        "highest_eigenvalue": float(values.max()) if values is not None and values.size else None,
        "eigenvalue_sum": float(values.sum()) if values is not None else None,
        "eigenvector_abs_sum": None if vectors is None else float(np.abs(vectors, dtype=np.float64).sum()),
        "vertex_sum": None if spec.vertices is None else float(np.asarray(spec.vertices, np.float64).sum()),
        "face_index_sum": None if spec.faces is None else int(np.asarray(spec.faces, np.int64).sum()),
        "descriptors": {d.name: list(np.shape(d.values)) for d in spec.descriptors or ()},
        "metadata": {str(k): _plain(v) for k, v in sorted((spec.metadata or {}).items())},
        "software_version": spec.software_version,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value.item() if isinstance(value, np.generic) else value
