"""A surface mesh from the side: lateral and medial orthographic views, triangles drawn far to near (the
painter's algorithm), shaded by the first per-vertex array when there is one, else by a light."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.preview import paints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import SurfaceMesh


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
