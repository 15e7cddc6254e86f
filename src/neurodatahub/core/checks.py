"""Invariants the LinkML schema cannot express, checked after pydantic has validated types and shapes.

Checks are registered by class name and apply to subclasses too (a LesionMask is checked as an
ImageVolume first). They raise ValueError, which pydantic reports as a validation error of the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from neurodatahub.core import arrays, kinds

Check = Callable[[Any], None]
CHECKS: dict[str, list[Check]] = {}

RESOLUTION_TOLERANCE_MM = 0.1  # lacuna's rule: a voxel size off by more than this is an error
ISOTROPY_TOLERANCE_MM = 0.01  # voxels whose sizes differ by more are not cubes: no single resolution
VOXEL_SIZE_TOLERANCE_MM = 1e-3  # recorded voxel sizes against the affine's (float32 affines, rounding)
# hex digits of each digest, from the HashAlgorithm annotations of the schema
HEX_DIGITS = {
    name: int(digits) for name, digits in kinds.enum_annotation("HashAlgorithm", "hex_digits").items()
}


def invariant(*class_names: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        for name in class_names:
            CHECKS.setdefault(name, []).append(check)
        return check

    return register


def check_model(model: Any) -> None:
    """Run every check registered for the model's class and its bases, most general first, once each.

    The checks of a kind are imported with the first model of one of its classes (kinds.load_code_for).
    """
    kinds.load_code_for(type(model))
    names = dict.fromkeys(cls.__name__ for cls in reversed(type(model).__mro__))
    for name in names:
        for check in CHECKS.get(name, ()):
            check(model)


def require_unique(values: Sequence | np.ndarray, what: str) -> None:
    if arrays.has_duplicates(np.asarray(values)):
        raise ValueError(f"{what} must be unique")


def require_per_element(named: Sequence | None, count: int, what: str) -> None:
    """Named arrays (unit attributes, per-vertex data...) need one entry per element."""
    names = [column.name for column in named or ()]
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names must be unique: {names}")
    for column in named or ():
        if len(column.values) != count:
            raise ValueError(f"{what} {column.name!r} has {len(column.values)} values for {count} elements")


def require_affine(matrix: np.ndarray, what: str = "affine") -> None:
    if not arrays.all_finite(matrix):
        raise ValueError(f"{what} must be finite")
    if not np.allclose(matrix[3], [0, 0, 0, 1]):
        raise ValueError(f"{what} last row must be [0, 0, 0, 1], got {matrix[3].tolist()}")
    if abs(np.linalg.det(matrix[:3, :3])) < 1e-12:
        raise ValueError(f"{what} is not invertible")


def require_resolution(affine: np.ndarray, resolution: float, what: str, whose: str) -> None:
    """An isotropic resolution agrees with every voxel size of the affine, within lacuna's tolerance."""
    voxel_sizes = np.linalg.norm(affine[:3, :3], axis=0)
    if np.abs(voxel_sizes - resolution).max() > RESOLUTION_TOLERANCE_MM:
        raise ValueError(
            f"{what} {resolution} mm does not match {whose} voxel sizes "
            f"{np.round(voxel_sizes, 3).tolist()} mm"
        )


def require_voxel_sizes(affine: np.ndarray, voxel_sizes: np.ndarray, what: str) -> None:
    """Recorded voxel sizes are the lengths of the affine's columns (they are derived, never a claim)."""
    found = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    if np.abs(np.asarray(voxel_sizes, dtype=np.float64) - found).max() > VOXEL_SIZE_TOLERANCE_MM:
        raise ValueError(
            f"{what} {np.asarray(voxel_sizes).tolist()} mm differ from the affine's"
            f" {np.round(found, 6).tolist()} mm"
        )


def require_in_range(indices: np.ndarray, size: int, what: str) -> None:
    bounds = arrays.min_max(indices)
    if bounds and (bounds[0] < 0 or bounds[1] >= size):
        raise ValueError(f"{what} must lie in [0, {size}), found [{bounds[0]}, {bounds[1]}]")


@invariant("ImageGrid")
def _image_grid(grid: Any) -> None:
    require_affine(grid.affine)
    if len(grid.shape) != 3 or (np.asarray(grid.shape) <= 0).any():
        raise ValueError(f"grid shape must be 3 positive sizes, got {list(grid.shape)}")


def require_mesh(vertices: np.ndarray, faces: np.ndarray) -> None:
    if not arrays.all_finite(vertices):
        raise ValueError("vertex coordinates must be finite")
    require_in_range(faces, len(vertices), "face vertex indices")


@invariant("ProvenanceRecord")
def _provenance(record: Any) -> None:
    if isinstance(record.timestamp, datetime) and record.timestamp.tzinfo is None:
        raise ValueError("provenance timestamps must carry a time zone (UTC)")


def require_digest(algorithm: str | None, value: str | None, what: str) -> None:
    if value is None:
        return
    expected = HEX_DIGITS.get(algorithm or "")
    if expected is None:
        raise ValueError(f"{what} has a value but its algorithm is {algorithm or 'not given'}")
    if len(value) != expected:
        raise ValueError(f"{what} is not a {algorithm} digest ({len(value)} hex digits, expected {expected})")


@invariant("FileRecord")
def _file_record(record: Any) -> None:
    require_digest(record.checksum_algorithm, record.checksum, f"checksum of {record.url}")
