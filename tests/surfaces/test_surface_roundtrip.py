"""Round trips between every pair of writable surface formats: only declared losses, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from surface_helpers import EXTENSION, WRITABLE, assert_kept, lost_fields, surface_meshes, write_read

from neurodatahub.core import conversion
from neurodatahub.core.errors import UsageError
from neurodatahub.models import SurfaceMesh
from neurodatahub.surfaces.formats.gifti import func_arrays

TEXT_OPTION = {"ply", "stl", "vtk", "vtp"}


def _options(draw: Any, fmt: str, mesh: SurfaceMesh) -> dict[str, Any]:
    options: dict[str, Any] = {}
    single_vertex_ply = fmt == "ply" and len(mesh.vertices) == 1  # refused in ASCII (test_surface_errors)
    if fmt in TEXT_OPTION and not single_vertex_ply and draw(st.booleans()):
        options["ascii"] = True
    if fmt == "vtp" and draw(st.booleans()):
        options["compress"] = False
    if fmt == "vtk" and draw(st.booleans()):
        options["dataset"] = "unstructured_grid"
    return options


def _hop(mesh: SurfaceMesh, folder: Path, fmt: str, stem: str, options: dict[str, Any]) -> SurfaceMesh | None:
    """One write and read; None when the format has nothing to hold (a .func.gii of a mesh without data)."""
    if fmt == "gifti-func" and not func_arrays(mesh):
        with pytest.raises(UsageError, match="no per-vertex numbers"):
            conversion.write(mesh, str(folder / f"{stem}{EXTENSION[fmt]}"))
        assert not (folder / f"{stem}{EXTENSION[fmt]}").exists()
        return None
    got, losses = write_read(mesh, folder, fmt, stem, **options)
    assert_kept(mesh, got, losses)
    return got


@pytest.mark.parametrize("first", WRITABLE)
@settings(max_examples=12, deadline=None)
@given(mesh=surface_meshes(), second=st.sampled_from(WRITABLE), data=st.data())
def test_every_pair_keeps_everything_not_declared_lost(
    first: str, mesh: SurfaceMesh, second: str, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        middle = _hop(mesh, Path(folder), first, "first", _options(data.draw, first, mesh))
        if middle is not None:
            _hop(middle, Path(folder), second, "second", _options(data.draw, second, middle))


@settings(max_examples=25, deadline=None)
@given(mesh=surface_meshes(max_vertices=8, max_faces=10), fmt=st.sampled_from(["ply", "vtk", "vtp", "obj"]))
def test_lossless_formats_declare_nothing_for_plain_geometry(mesh: SurfaceMesh, fmt: str) -> None:
    """Geometry alone (any float precision) goes through PLY, VTK, VTP and OBJ exactly, with no loss."""
    plain = mesh.model_copy(update={"vertex_data": None, "metadata": None, "space": None, "hemisphere": None})
    with tempfile.TemporaryDirectory() as folder:
        got, losses = write_read(plain, Path(folder), fmt)
    assert losses == []
    np.testing.assert_array_equal(got.vertices, plain.vertices)
    np.testing.assert_array_equal(got.faces, plain.faces)


@settings(max_examples=25, deadline=None)
@given(mesh=surface_meshes())
def test_gifti_keeps_the_header_and_rounds_only_what_float32_cannot_hold(mesh: SurfaceMesh) -> None:
    with tempfile.TemporaryDirectory() as folder:
        got, losses = write_read(mesh, Path(folder), "gifti")
    exact = np.array_equal(np.asarray(mesh.vertices).astype(np.float32), mesh.vertices)
    assert ("vertices" in lost_fields(losses)) == (not exact)
    assert (got.space, got.hemisphere) == (mesh.space, mesh.hemisphere)
    assert got.vertices.dtype == np.float32 and got.faces.dtype == np.int32


@settings(max_examples=40, deadline=None)
@given(mesh=surface_meshes(max_vertices=10, max_faces=12), duplicate=st.booleans(), text=st.booleans())
def test_the_stl_reordering_count_is_what_reading_does(
    mesh: SurfaceMesh, duplicate: bool, text: bool
) -> None:
    """The declared count of moved vertices matches a real write and read (merged coordinates included)."""
    vertices = np.array(mesh.vertices, dtype=np.float64)
    if duplicate and len(vertices) > 2:
        vertices[-1] = vertices[0]  # two vertices at one place: reading merges them
    mesh = SurfaceMesh(vertices=vertices, faces=mesh.faces)
    stored = vertices if text else vertices.astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        got, losses = write_read(mesh, Path(folder), "stl", ascii=text)
    kept = min(len(got.vertices), len(stored))
    used = np.isin(np.arange(kept), mesh.faces)  # an unused vertex does not come back, whatever lands there
    moved = len(stored) - int(np.count_nonzero((got.vertices[:kept] == stored[:kept]).all(axis=1) & used))
    declared = sum(loss.count for loss in losses if loss.field == "vertex_order")
    assert declared == moved
    np.testing.assert_array_equal(got.vertices[got.faces], stored[mesh.faces])
