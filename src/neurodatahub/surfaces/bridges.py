"""Surface meshes to and from meshio's in-memory `meshio.Mesh` (meshio is imported only when called).

Vertices are meshio's points, faces one "triangle" cell block, vertex data its point_data. The header
(hemisphere, space, metadata) has no place in a meshio Mesh: `to_meshio` keeps it in `mesh.info`
(a free attribute meshio leaves alone) with each array's description and unit, and `from_meshio` reads
them back from there. Quads and polygons are
split into triangle fans with `triangulate=True`, as when reading a mesh file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.surfaces import common
from neurodatahub.surfaces.formats.meshes import _from_meshio

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceMesh

HEADER = ("hemisphere", "space", "metadata")
NOTES = "vertex_data_notes"  # each array's description and unit


def to_meshio(mesh: SurfaceMesh) -> Any:
    import meshio

    found = meshio.Mesh(
        np.asarray(mesh.vertices),
        [meshio.CellBlock("triangle", np.asarray(mesh.faces))],
        point_data={column.name: np.asarray(column.values) for column in mesh.vertex_data or ()},
    )
    found.info = {name: getattr(mesh, name) for name in HEADER}
    found.info[NOTES] = {
        column.name: {"description": column.description, "unit": column.unit}
        for column in mesh.vertex_data or ()
        if column.description or column.unit
    }
    return found


def from_meshio(mesh: Any, *, triangulate: bool = False) -> SurfaceMesh:
    built = _from_meshio(mesh, "the meshio Mesh", triangulate=triangulate)
    header = getattr(mesh, "info", None)
    if not isinstance(header, dict):
        return built
    fields = {name: header.get(name) for name in HEADER}
    if built.metadata and fields["metadata"] is None:  # what was ignored (face data...) stays noted
        fields["metadata"] = built.metadata
    notes = header.get(NOTES) or {}
    columns = [{**column.model_dump(), **notes.get(column.name, {})} for column in built.vertex_data or ()]
    return common.build(
        vertices=built.vertices, faces=built.faces, url="the meshio Mesh", vertex_data=columns, **fields
    )
