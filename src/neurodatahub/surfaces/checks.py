"""Surface meshes: the summary `hub info` prints and a conversion compares after reopening its output.

The checks of a SurfaceMesh (finite vertices, faces within the vertices, one value or row of vertex data
per vertex) stay in invariants.py, shared with SpectralDecomposition's mesh. The summary carries numbers
that change when coordinates or faces do (bounding box, area), so a reopened file is compared by content,
not only by counts; dtypes are left out, since formats may store the same numbers in another width.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import arrays
from neurodatahub.core.checks import (
    invariant,
    require_mesh,
    require_per_element,
    require_unique,
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


@invariant("SurfaceLabelEntry")
def _label_entry(entry: Any) -> None:
    color = np.asarray(entry.color)
    if color.shape != (4,) or (color < 0).any() or (color > 255).any():
        raise ValueError(
            f"label {entry.name!r}: color must be four values 0-255 (RGBA), got {color.tolist()}"
        )


@invariant("SurfaceLabels")
def _surface_labels(labels: Any) -> None:
    """Keys absent from the table are vertices without a label (-1 in nibabel's annotations, 0 in
    mris_convert's GIfTI), so only the table itself is checked."""
    require_unique([entry.key for entry in labels.label_table], "label table keys")


@invariant("SurfaceLabel")
def _surface_label(label: Any) -> None:
    indices = np.asarray(label.vertex_indices)
    n = len(indices)
    if n and indices.min() < 0:
        raise ValueError(f"vertex numbers are 0-based and not negative, got {int(indices.min())}")
    if arrays.has_duplicates(indices):
        repeated = np.unique(indices)[np.bincount(np.unique(indices, return_inverse=True)[1]) > 1]
        raise ValueError(f"vertex {int(repeated[0])} is listed twice")
    for name in ("coordinates", "values"):
        values = np.asarray(getattr(label, name))
        if len(values) != n:
            raise ValueError(f"{name} has {len(values)} rows for {n} vertices")
        if values.size and not np.isfinite(values).all():
            raise ValueError(f"{name} must be finite")


@summarizes("SurfaceLabels")
def _labels_summary(labels: Any) -> dict[str, Any]:
    keys = np.asarray(labels.keys)
    used, counts = np.unique(keys, return_counts=True)
    per_key = dict(zip(used.tolist(), counts.tolist(), strict=True))
    table = {entry.key for entry in labels.label_table}
    return {
        "vertices": len(keys),
        "labels": len(labels.label_table),
        "unlabelled_vertices": int(sum(count for key, count in per_key.items() if key not in table)),
        "hemisphere": labels.hemisphere,
        "space": labels.space,
        "vertices_per_label": {entry.name: per_key.get(entry.key, 0) for entry in labels.label_table},
        "colors": [list(map(int, entry.color)) for entry in labels.label_table],
    }


@summarizes("SurfaceLabel")
def _label_summary(label: Any) -> dict[str, Any]:
    coordinates = np.asarray(label.coordinates, dtype=np.float64)
    values = np.asarray(label.values, dtype=np.float64)
    return {
        "vertices": len(label.vertex_indices),
        "subject": label.subject,
        "hemisphere": label.hemisphere,
        "vertex_sum": int(np.sum(label.vertex_indices, dtype=np.int64)),
        "coordinate_sum": float(coordinates.sum()),
        "value_sum": float(values.sum()),
    }
