"""Which template space and voxel size a mask is in: from what the user, the metadata, the BIDS name or
sidecar say, checked against each other and against the image's own affine.

Only grids that identify one template are used for detection from the affine. The 197x233x189 1 mm grid
is shared by the original MNI 2009a and 2009c releases, so it detects nothing; a grid not listed here
needs its space named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodatahub.core.checks import ISOTROPY_TOLERANCE_MM, RESOLUTION_TOLERANCE_MM
from neurodatahub.core.errors import InvalidDataError
from neurodatahub.core.imaging.bids import name_of, resolution_from_label, sidecar_resolution, split_name

AFFINE_TOLERANCE_MM = 1e-3


@dataclass(frozen=True)
class TemplateGrid:
    space: str
    shape: tuple[int, int, int]
    zooms: tuple[float, float, float]  # signed voxel sizes along the diagonal (-: stored left to right)
    origin: tuple[float, float, float]  # world position of voxel (0, 0, 0)

    def affine(self) -> np.ndarray:
        matrix = np.diag([*self.zooms, 1.0])
        matrix[:3, 3] = self.origin
        return matrix


# TemplateFlow grids (FSL's MNI152 for 6Asym) and the original MNI 2009 release grid
TEMPLATE_GRIDS = (
    TemplateGrid("MNI152NLin6Asym", (182, 218, 182), (-1.0, 1.0, 1.0), (90.0, -126.0, -72.0)),
    TemplateGrid("MNI152NLin6Asym", (91, 109, 91), (-2.0, 2.0, 2.0), (90.0, -126.0, -72.0)),
    TemplateGrid("MNI152NLin2009cAsym", (193, 229, 193), (1.0, 1.0, 1.0), (-96.0, -132.0, -78.0)),
    TemplateGrid("MNI152NLin2009cAsym", (97, 115, 97), (2.0, 2.0, 2.0), (-96.0, -132.0, -78.0)),
    TemplateGrid("MNI152NLin2009aAsym", (197, 233, 189), (1.0, 1.0, 1.0), (-98.0, -134.0, -72.0)),
    TemplateGrid("MNI152NLin2009cAsym", (197, 233, 189), (1.0, 1.0, 1.0), (-98.0, -134.0, -72.0)),
)


class SpaceUnknownError(InvalidDataError):
    """No source names the coordinate space (lacuna skips such files when loading a dataset)."""


def detect_space(shape: Sequence[int], affine: np.ndarray) -> str | None:
    """The template whose grid the image is on, when exactly one template has that grid."""
    spaces = {
        grid.space
        for grid in TEMPLATE_GRIDS
        if tuple(shape[:3]) == grid.shape and np.allclose(affine, grid.affine(), atol=AFFINE_TOLERANCE_MM)
    }
    return spaces.pop() if len(spaces) == 1 else None


def voxel_sizes(affine: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)


def grid_voxel_sizes(affine: np.ndarray) -> np.ndarray:
    """The voxel size along each axis as a model records it (rounded to 1e-6 mm, float32 affines' noise)."""
    return np.round(voxel_sizes(affine), 6)


def detect_resolution(affine: np.ndarray) -> float | None:
    """The isotropic voxel size of the affine; None when the voxels are not cubes, that is when their
    sizes differ by more than 0.01 mm (0.977 x 0.977 x 1.0 mm is not a 0.984 mm grid)."""
    sizes = voxel_sizes(affine)
    if np.ptp(sizes) > ISOTROPY_TOLERANCE_MM:
        return None
    return round(float(sizes.mean()), 6)


def resolve_space(url: str, claims: dict[str, str | None], detected: str | None) -> str:
    """The space every source agrees on; `claims` are in priority order (argument, metadata, ...)."""
    given = {source: str(value) for source, value in claims.items() if value is not None}
    if detected is not None:
        given["affine"] = detected
    if len(set(given.values())) > 1:
        listed = ", ".join(f"{source} says {value}" for source, value in given.items())
        raise InvalidDataError(f"{url}: the coordinate space is ambiguous: {listed}")
    if not given:
        raise SpaceUnknownError(
            f"{url}: cannot tell the coordinate space (not on a known template grid); name it with"
            " space=..., --space, a space- entity or a sidecar"
        )
    return next(iter(given.values()))


def resolve_resolution(url: str, claims: dict[str, float | None], affine: np.ndarray) -> float | None:
    """The highest-priority stated voxel size, each checked against the affine within 0.1 mm; with none
    stated, the affine's own when its voxels are cubes, else None (the voxel sizes say it per axis)."""
    sizes = voxel_sizes(affine)
    for source, value in claims.items():
        if value is not None and np.abs(sizes - value).max() > RESOLUTION_TOLERANCE_MM:
            raise InvalidDataError(
                f"{url}: {source} says the resolution is {value} mm but the affine's voxel sizes are"
                f" {np.round(sizes, 3).tolist()} mm (tolerance {RESOLUTION_TOLERANCE_MM} mm)"
            )
    stated = [float(value) for value in claims.values() if value is not None]
    if stated:
        return stated[0]
    return detect_resolution(affine)


def settle_grid(
    url: str,
    shape: Sequence[int],
    affine: np.ndarray,
    *,
    space: str | None = None,
    resolution: float | None = None,
    metadata: Mapping[str, Any] | None = None,
    sidecar: Mapping[str, Any] | None = None,
    require_space: bool = True,
) -> tuple[str | None, float | None]:
    """The space and resolution of an image from, in order: the argument, the metadata, the BIDS name, the
    sidecar, the affine; every source that says something must agree (lacuna's rules).

    `require_space=False` leaves an unknown space None. Anisotropic voxels have no resolution unless a
    source states one (each model keeps `voxel_sizes` per axis).
    """
    metadata, sidecar = metadata or {}, sidecar or {}
    entities = split_name(name_of(url))[0]
    space_claims = {
        "the argument": space,
        "the metadata": metadata.get("space"),
        "the file name": entities.get("space"),
        "the sidecar": sidecar.get("Space"),
    }
    try:
        settled_space: str | None = resolve_space(url, space_claims, detect_space(shape, affine))
    except SpaceUnknownError:
        if require_space:
            raise
        settled_space = None
    resolution_claims = {
        "the argument": resolution,
        "the metadata": metadata.get("resolution"),
        "the file name": resolution_from_label(entities["res"]) if "res" in entities else None,
        "the sidecar": sidecar_resolution(sidecar),
    }
    return settled_space, resolve_resolution(url, resolution_claims, affine)
