"""Quick looks at images: three orthogonal slices (through the lesion's centre of mass for a mask, through
the labelled voxels for a parcellation, coloured by label), a series as its mean volume beside the time
course of one voxel, and grayordinate maps as the values of each row."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.imaging import slices
from neurodatahub.core.preview import paints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import GrayordinateMaps, ImageSeries, ImageVolume, LesionMask, Parcellation


@paints("LesionMask")
def paint_mask(mask: LesionMask, figure: Figure) -> None:
    slices.draw(figure, np.asarray(mask.data), of_mass=True, cmap="gray", vmin=0, vmax=1)


@paints("ImageVolume")
def paint_volume(image: ImageVolume, figure: Figure) -> None:
    """Plain volumes and scalar maps: a diverging scale when the values are signed (z, t, correlation)."""
    data = np.asarray(image.data, dtype=np.float64)
    if data.ndim == 4:
        paint_series(image, figure)
        return
    finite = data[np.isfinite(data)]
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    diverging = bool(finite.size) and finite.min() < -0.05 * limit
    slices.draw(
        figure,
        np.nan_to_num(data),
        of_mass=False,
        cmap="RdBu_r" if diverging else "viridis",
        vmin=-limit if diverging else None,
        vmax=limit if diverging else None,
    )


@paints("Parcellation")
def paint_parcellation(parcellation: Parcellation, figure: Figure) -> None:
    labels = np.asarray(parcellation.data)
    shown = np.where(labels > 0, labels % 20 + 1, 0)  # neighbouring labels in different colours
    slices.draw(figure, shown, of_mass=True, cmap="tab20", vmin=0, vmax=21)


@paints("ImageSeries")
def paint_series(series: ImageSeries | ImageVolume, figure: Figure) -> None:
    data = np.asarray(series.data, dtype=np.float64)
    panels = figure.subplots(1, 4, width_ratios=[1, 1, 1, 1.4])
    point, _ = slices.draw(figure, np.nanmean(data, axis=3), of_mass=False, cmap="gray", axes=panels[:3])
    panels[3].plot(data[point][:], color="black", linewidth=0.8)
    panels[3].set_title(f"voxel {point}", fontsize=8)
    panels[3].set_xlabel("volume")


@paints("GrayordinateMaps")
def paint_grayordinates(maps: GrayordinateMaps, figure: Figure) -> None:
    axes = figure.subplots(1, 1)
    shown = axes.imshow(np.asarray(maps.data, dtype=np.float64), aspect="auto", interpolation="nearest")
    axes.set_xlabel("grayordinate")
    axes.set_ylabel("map" if not hasattr(maps, "series_step") else "time point")
    figure.colorbar(shown, ax=axes)
