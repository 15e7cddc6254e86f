"""Surface meshes to and from meshio.Mesh: both ways with the header kept, meshio's own meshes read."""

from __future__ import annotations

import meshio
import numpy as np
import pytest
from hypothesis import given, settings
from surface_helpers import assert_kept, surface_meshes

from neurodatahub.core.errors import InputError
from neurodatahub.models import SurfaceMesh
from neurodatahub.surfaces import from_meshio, to_meshio


@settings(max_examples=40, deadline=None)
@given(mesh=surface_meshes())
def test_both_ways(mesh: SurfaceMesh) -> None:
    theirs = to_meshio(mesh)
    assert np.array_equal(theirs.points, mesh.vertices) and theirs.cells[0].type == "triangle"
    back = from_meshio(theirs)
    assert_kept(mesh, back, [])
    for column, got in zip(mesh.vertex_data or (), back.vertex_data or (), strict=True):
        assert column.name == got.name and np.array_equal(got.values, column.values, equal_nan=True)


def test_meshio_meshes_with_quads() -> None:
    quad = meshio.Mesh(np.eye(4, 3), [("quad", np.array([[0, 1, 2, 3]]))], point_data={"t": np.arange(4.0)})
    with pytest.raises(InputError, match="triangulate=true"):
        from_meshio(quad)
    mesh = from_meshio(quad, triangulate=True)
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3]] and mesh.vertex_data[0].name == "t"
