"""Three orthogonal slices of a volume for previews: through the centre of mass of the non-zero voxels (a
mask, a parcellation) or the middle of the grid, in voxel order with the world axes named from the affine,
so that a picture of a known mask has its bright pixels where the mask is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

AXIS_NAMES = ("sagittal", "coronal", "axial")


def centre(volume: np.ndarray, *, of_mass: bool) -> tuple[int, int, int]:
    """The voxel the slices cross: centre of mass of the non-zero voxels, else the middle."""
    if of_mass:
        found = np.argwhere(volume != 0)
        if found.size:
            return tuple(round(float(value)) for value in found.mean(axis=0))  # type: ignore[return-value]
    return tuple(size // 2 for size in volume.shape[:3])  # type: ignore[return-value]


def cuts(volume: np.ndarray, point: tuple[int, int, int]) -> list[np.ndarray]:
    """The three slices through `point`, each transposed so that rows run along the second axis upwards."""
    i, j, k = point
    return [volume[i, :, :].T, volume[:, j, :].T, volume[:, :, k].T]


def draw(
    figure: Figure,
    volume: np.ndarray,
    *,
    of_mass: bool,
    cmap: Any = "gray",
    vmin: Any = None,
    vmax: Any = None,
    axes: Any = None,
) -> tuple[tuple[int, int, int], list[Any]]:
    """Draw the three slices (origin lower, nearest neighbour) into new or given axes; returns the point."""
    point = centre(volume, of_mass=of_mass)
    drawn = list(axes) if axes is not None else list(figure.subplots(1, 3))
    for panel, name, piece in zip(drawn, AXIS_NAMES, cuts(volume, point), strict=True):
        panel.imshow(piece, origin="lower", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        panel.set_title(f"{name} {point[AXIS_NAMES.index(name)]}", fontsize=8)
        panel.set_xticks([])
        panel.set_yticks([])
    return point, drawn
