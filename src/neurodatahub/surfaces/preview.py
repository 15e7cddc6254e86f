"""A surface mesh from the side: lateral and medial orthographic views, triangles drawn far to near (the
painter's algorithm), shaded by the first per-vertex array when there is one, else by a light."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.preview import paints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import SurfaceLabel, SurfaceLabels, SurfaceMesh


def view(
    vertices: np.ndarray, faces: np.ndarray, *, from_left: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triangles projected on the sagittal plane as seen from the left or the right, sorted far to near:
    (polygons (F, 3, 2), face order, light on each face)."""
    sign = -1.0 if from_left else 1.0  # the viewer's side of the x axis
    corners = vertices[faces]
    distance = -sign * corners[:, :, 0].mean(axis=1)  # from the viewer, along x
    order = np.argsort(-distance, kind="stable")  # far first, so that near faces are drawn over them
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    light = np.abs(normals[:, 0]) / np.where(lengths > 0, lengths, 1.0)
    flat = corners[:, :, 1:3] * np.array([sign, 1.0])  # seen from the left, anterior (+y) points left
    return flat[order], order, light[order]


@paints("SurfaceMesh")
def paint(mesh: SurfaceMesh, figure: Figure) -> None:
    from matplotlib.collections import PolyCollection

    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    scalars = None
    for column in mesh.vertex_data or ():
        values = np.asarray(column.values)
        if values.ndim == 1 and values.dtype.kind in "biuf":
            scalars, name = values.astype(np.float64)[faces].mean(axis=1), column.name
            break
    left = mesh.hemisphere != "R"  # a left (or unknown) hemisphere is lateral from the left
    for axes, from_left, title in zip(
        figure.subplots(1, 2), (left, not left), ("lateral", "medial"), strict=True
    ):
        polygons, order, light = view(vertices, faces, from_left=from_left)
        if scalars is not None:
            collection = PolyCollection(
                polygons, array=scalars[order], cmap="viridis", edgecolors="face", linewidths=0.2
            )
        else:
            grey = 0.25 + 0.7 * light
            shade = np.column_stack([grey, grey, grey])
            collection = PolyCollection(polygons, facecolors=shade, edgecolors=shade, linewidths=0.2)
        axes.add_collection(collection)
        axes.autoscale_view()
        axes.set_aspect("equal")
        axes.set_title(title, fontsize=9)
        axes.set_axis_off()
    if scalars is not None:
        figure.colorbar(collection, ax=figure.axes, shrink=0.6, label=name)


@paints("SurfaceLabels")
def paint_labels(labels: SurfaceLabels, figure: Figure) -> None:
    """A parcellation has no geometry of its own: vertices per label, each bar in the label's colour."""
    keys = np.asarray(labels.keys)
    table = labels.label_table
    counts = [int(np.count_nonzero(keys == entry.key)) for entry in table]
    colours = [np.asarray(entry.color[:3], dtype=np.float64) / 255 for entry in table]
    axes = figure.add_subplot()
    axes.barh(np.arange(len(table)), counts, color=colours, edgecolor="black", linewidth=0.3)
    axes.set_yticks(np.arange(len(table)), [entry.name for entry in table], fontsize=6)
    axes.invert_yaxis()
    axes.set_xlabel("vertices")


@paints("SurfaceLabel")
def paint_label(label: SurfaceLabel, figure: Figure) -> None:
    """A .label's vertices from the side and from above, coloured by their values."""
    points = np.asarray(label.coordinates, dtype=np.float64).reshape(-1, 3)
    values = np.asarray(label.values, dtype=np.float64)
    for index, (first, second, title) in enumerate(
        ((1, 2, "from the side (y, z)"), (0, 1, "from above (x, y)"))
    ):
        axes = figure.add_subplot(1, 2, index + 1)
        shown = axes.scatter(points[:, first], points[:, second], c=values, s=4, cmap="viridis")
        axes.set_aspect("equal")
        axes.set_title(title, fontsize=9)
    figure.colorbar(shown, ax=figure.axes, shrink=0.6, label="value")
