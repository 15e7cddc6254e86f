"""Streamlines in three orthogonal projections, a sample of them, coloured by direction (the usual
red = left-right, green = anterior-posterior, blue = inferior-superior)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.preview import paints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import Tractogram

MAX_STREAMLINES = 3000
# Points kept per streamline: at thumbnail size a tract's curve needs a few dozen segments, and every
# segment is a path matplotlib strokes on its own (all points of 2,000 tracts took ~11 s a picture).
MAX_POINTS = 24
PROJECTIONS = (("sagittal", (1, 2)), ("coronal", (0, 2)), ("axial", (0, 1)))


def sample(tracts: Tractogram) -> list[np.ndarray]:
    """Up to MAX_STREAMLINES streamlines, evenly spaced through the file's order."""
    positions = np.asarray(tracts.positions)
    offsets = np.asarray(tracts.offsets, dtype=np.int64)
    ends = np.append(offsets[1:], len(positions))
    chosen = np.unique(np.linspace(0, len(offsets) - 1, min(MAX_STREAMLINES, len(offsets))).astype(np.int64))
    return [_thinned(positions[offsets[row] : ends[row]]) for row in chosen if ends[row] - offsets[row] >= 2]


def _thinned(line: np.ndarray) -> np.ndarray:
    """The line through at most MAX_POINTS of its points, evenly spaced, both ends kept."""
    if len(line) <= MAX_POINTS:
        return line
    return line[np.linspace(0, len(line) - 1, MAX_POINTS).round().astype(np.int64)]


@paints("Tractogram")
def paint(tracts: Tractogram, figure: Figure) -> None:
    from matplotlib.collections import LineCollection

    lines = sample(tracts)
    segments = (
        np.concatenate([np.stack([line[:-1], line[1:]], axis=1) for line in lines])
        if lines
        else np.zeros((0, 2, 3))
    )
    direction = np.abs(segments[:, 1] - segments[:, 0])
    norms = np.linalg.norm(direction, axis=1, keepdims=True)
    colours = np.clip(direction / np.where(norms > 0, norms, 1.0), 0, 1)
    width = min(1.5, max(0.3, 300 / max(len(lines), 1)))  # few streamlines: thick enough to see
    for axes, (name, (first, second)) in zip(figure.subplots(1, 3), PROJECTIONS, strict=True):
        axes.add_collection(
            LineCollection(segments[:, :, [first, second]], colors=colours, linewidths=width, alpha=0.7)
        )
        axes.autoscale_view()
        axes.set_aspect("equal")
        axes.set_title(f"{name} ({len(lines)} streamlines)", fontsize=9)
        axes.set_facecolor("black")
        axes.set_xticks([])
        axes.set_yticks([])
