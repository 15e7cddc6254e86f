"""Connectivity matrices: what the fields must satisfy together, and the summary `hub info` prints.

Decisions (README, "Connectivity matrices"):
- NaN is allowed: a connectome may mark edges it could not estimate (an empty region's mean FA, a
  correlation of a constant signal). Infinite values are not.
- `symmetric: true` is a declaration the data must honour, within numpy's `allclose` defaults
  (relative 1e-5, absolute 1e-8), with NaN mirrored by NaN. `symmetric: null` means "not declared".
- At least one region, one non-empty unique label per row.
- No NUL character in labels, measure, atlas or description: HDF5 and NumPy text cannot hold one.

The summary carries content numbers (sum, sum of squares, NaN count) and a digest of the labels, so a
conversion that reopens its output compares values and names, not only the shape.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.checks import invariant, require_unique
from neurodatahub.core.summary import summarizes

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

SYMMETRY_RTOL = 1e-5
SYMMETRY_ATOL = 1e-8


def is_symmetric(matrix: np.ndarray) -> bool:
    """Symmetric within the tolerance the invariant uses (NaN must mirror NaN)."""
    values = np.asarray(matrix)
    return bool(np.allclose(values, values.T, rtol=SYMMETRY_RTOL, atol=SYMMETRY_ATOL, equal_nan=True))


def is_exactly_symmetric(matrix: np.ndarray) -> bool:
    """Bit-for-bit symmetric (NaN mirrored): what lets a writer keep one triangle without loss."""
    values = np.asarray(matrix)
    return bool(np.array_equal(values, values.T, equal_nan=True))


@invariant("ConnectivityMatrix")
def _connectivity(conn: ConnectivityMatrix) -> None:
    rows, cols = conn.matrix.shape
    if rows != cols:
        raise ValueError(f"a connectivity matrix must be square, got {rows} x {cols}")
    if rows == 0:
        raise ValueError("a connectivity matrix needs at least one region")
    labels = np.asarray(conn.region_labels, dtype=str)
    if labels.size != rows:
        raise ValueError(f"{labels.size} region labels for a {rows} x {rows} matrix")
    if (np.char.str_len(labels) == 0).any():
        raise ValueError("region labels must not be empty")
    require_unique(labels, "region_labels")
    texts = [conn.measure or "", conn.atlas or "", conn.description or "", *conn.region_labels]
    if "\x00" in "".join(texts):  # one scan in C, not one per label
        raise ValueError("labels, measure, atlas and description must not contain NUL characters")
    if np.isinf(conn.matrix).any():
        raise ValueError("connectivity values must not be infinite (NaN is allowed for missing values)")
    if conn.symmetric and not is_symmetric(conn.matrix):
        raise ValueError("the matrix is declared symmetric but is not")


def labels_digest(labels: Any) -> str:
    """A short digest of the ordered labels: equal digests, equal label lists (for reopen checks)."""
    return hashlib.sha1("\x00".join(labels).encode("utf-8")).hexdigest()[:16]


@summarizes("ConnectivityMatrix")
def _summary(conn: ConnectivityMatrix) -> dict[str, Any]:
    values = np.asarray(conn.matrix, dtype=np.float64)
    finite = values[~np.isnan(values)]
    off_diagonal = ~np.eye(len(values), dtype=bool)
    edges = int(np.count_nonzero(values[off_diagonal] != 0))  # NaN counts as an edge: it is not 0
    n = len(values)
    metadata = conn.metadata
    with np.errstate(over="ignore"):  # sums of values near the float limits may overflow to inf
        total, squares = float(finite.sum()), float(np.dot(finite, finite))
    return {
        "regions": n,
        "measure": conn.measure,
        "atlas": conn.atlas,
        "symmetric": conn.symmetric,
        "is_symmetric": is_symmetric(values),
        "nonzero_edges": edges,
        "density": edges / (n * (n - 1)) if n > 1 else 0.0,
        "nan_values": int(values.size - finite.size),
        "min": float(finite.min()) if finite.size else None,
        "max": float(finite.max()) if finite.size else None,
        "sum": total,
        "sum_of_squares": squares,
        "first_label": conn.region_labels[0],
        "last_label": conn.region_labels[-1],
        "labels_digest": labels_digest(conn.region_labels),
        "description": conn.description,
        "metadata_keys": sorted(map(str, metadata)) if isinstance(metadata, dict) else None,
    }
