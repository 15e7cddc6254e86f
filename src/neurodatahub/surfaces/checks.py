"""Surface meshes: the summary `hub info` prints and a conversion compares after reopening its output.

The checks of a SurfaceMesh (finite vertices, faces within the vertices, one value or row of vertex data
per vertex) stay in invariants.py, shared with SpectralDecomposition's mesh. The summary carries numbers
that change when coordinates or faces do (bounding box, area), so a reopened file is compared by content,
not only by counts; dtypes are left out, since formats may store the same numbers in another width.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.checks import (
    invariant,
    require_mesh,
    require_per_element,
)
from neurodatahub.core.summary import summarizes

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceMesh


@summarizes("SurfaceMesh")
def _surface_summary(mesh: SurfaceMesh) -> dict[str, Any]:
    vertices = np.asarray(mesh.vertices)
    faces = np.asarray(mesh.faces)
    n_vertices, n_faces = len(vertices), len(faces)
    used = np.bincount(faces.reshape(-1), minlength=n_vertices) if faces.size else np.zeros(n_vertices, int)
    corners = vertices[faces].astype(np.float64) if n_faces else np.empty((0, 3, 3))
    area = 0.5 * np.linalg.norm(
        np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1
    )
    return {
        "vertices": n_vertices,
        "faces": n_faces,
        "hemisphere": mesh.hemisphere,
        "space": mesh.space,
        "bounding_box_min": vertices.min(axis=0).astype(float).tolist() if n_vertices else None,
        "bounding_box_max": vertices.max(axis=0).astype(float).tolist() if n_vertices else None,
        "surface_area": float(area.sum()),
        "unused_vertices": int(np.count_nonzero(used == 0)),
        "degenerate_faces": int(np.count_nonzero(area == 0)),
        "vertex_data": [
            {"name": column.name, "shape": list(np.shape(column.values))} for column in mesh.vertex_data or ()
        ],
    }


@invariant("SurfaceMesh")
def _surface_mesh(mesh: SurfaceMesh) -> None:
    require_mesh(mesh.vertices, mesh.faces)
    require_per_element(mesh.vertex_data, len(mesh.vertices), "vertex data")
