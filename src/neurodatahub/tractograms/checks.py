"""Tractograms: what `hub info` prints and a conversion compares, for in-memory models and for streams.

The in-memory summary and the stream summary have the same keys, so a tractogram summarised from a
file read whole and from the same file read chunk by chunk says the same thing. The invariant itself
(offsets from 0, non-decreasing, within the points; finite positions; one value per element) stays in
`invariants.py`: it is already vectorised and visits each array once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import arrays, streaming
from neurodatahub.core.checks import (
    invariant,
    require_per_element,
)
from neurodatahub.core.summary import summarizes

if TYPE_CHECKING:
    from neurodatahub.core.models import Tractogram

VOXEL_SIZE_DECIMALS = 4  # TRK stores the affine in float32: finer digits are noise, not a difference


def _grid(tracts: Tractogram) -> dict[str, Any]:
    grid = tracts.reference
    if grid is None:
        return {"reference_shape": None, "voxel_sizes_mm": None}
    sizes = np.linalg.norm(np.asarray(grid.affine)[:3, :3], axis=0)
    return {
        "reference_shape": [int(value) for value in grid.shape],
        "voxel_sizes_mm": [round(float(value), VOXEL_SIZE_DECIMALS) for value in sizes],
    }


def _common(tracts: Tractogram, streamlines: int, points: int) -> dict[str, Any]:
    space = tracts.space
    return {
        "streamlines": streamlines,
        "points": points,
        "mean_points_per_streamline": round(points / streamlines, 3) if streamlines else None,
        **_grid(tracts),
        "space": getattr(space, "value", space),
        "data_per_point": [column.name for column in tracts.data_per_point or ()],
        "data_per_streamline": [column.name for column in tracts.data_per_streamline or ()],
    }


@summarizes("Tractogram")
def _summary(tracts: Tractogram) -> dict[str, Any]:
    return _common(tracts, len(tracts.offsets), len(tracts.positions))


@streaming.summarizes_stream("Tractogram")
def _stream_summary(header: Tractogram, totals: dict[str, Any]) -> dict[str, Any]:
    def rows(key: str) -> int:
        return int(totals.get(key, {}).get("rows", 0))

    return _common(header, rows("offsets"), rows("positions"))


@invariant("Tractogram")
def _tractogram(tracts: Tractogram) -> None:
    n_points, offsets = len(tracts.positions), tracts.offsets
    if len(offsets):
        if offsets[0] != 0 or not arrays.is_nondecreasing(offsets) or offsets[-1] > n_points:
            raise ValueError(
                f"streamline offsets must start at 0, not decrease and stay within {n_points} points"
            )
    elif n_points:
        raise ValueError(f"{n_points} points but no streamline offsets")
    if not arrays.all_finite(tracts.positions):
        raise ValueError("streamline positions must be finite")
    require_per_element(tracts.data_per_point, n_points, "data per point")
    require_per_element(tracts.data_per_streamline, len(offsets), "data per streamline")
