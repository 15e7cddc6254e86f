"""Lesion masks and voxel maps: three orthogonal slices (through the lesion's centre of mass for a mask);
a 4D map as its mean over time plus the time course of its centre voxel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.imaging import slices
from neurodatahub.core.preview import paints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import LesionMask, SubjectData, VoxelMap


@paints("LesionMask")
def paint_mask(mask: LesionMask, figure: Figure) -> None:
    slices.draw(figure, np.asarray(mask.data), of_mass=True, cmap="gray", vmin=0, vmax=1)


@paints("VoxelMap")
def paint_map(voxel_map: VoxelMap, figure: Figure) -> None:
    data = np.asarray(voxel_map.data, dtype=np.float64)
    if data.ndim == 4:
        panels = figure.subplots(1, 4, width_ratios=[1, 1, 1, 1.4])
        point, _ = slices.draw(
            figure, np.nanmean(data, axis=3), of_mass=False, cmap="viridis", axes=panels[:3]
        )
        panels[3].plot(data[point][:], color="black", linewidth=0.8)
        panels[3].set_title(f"voxel {point}", fontsize=8)
        panels[3].set_xlabel("volume")
        return
    finite = data[np.isfinite(data)]
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    diverging = finite.size and finite.min() < -0.05 * limit
    slices.draw(
        figure,
        np.nan_to_num(data),
        of_mass=False,
        cmap="RdBu_r" if diverging else "viridis",
        vmin=-limit if diverging else None,
        vmax=limit if diverging else None,
    )


@paints("SubjectData")
def paint_subject(subject: SubjectData, figure: Figure) -> None:
    """A subject is seen through its lesion mask."""
    paint_mask(subject.mask, figure)
