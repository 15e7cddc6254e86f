"""Random SurfaceMesh for property tests, round trips through the hub, and the declared-loss oracle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from neurodatahub.core import conversion
from neurodatahub.models import SurfaceMesh

WRITABLE = ("gifti", "gifti-func", "ply", "obj", "stl", "vtk", "vtp", "freesurfer")
EXTENSION = {
    "gifti": ".surf.gii",
    "gifti-func": ".func.gii",
    "ply": ".ply",
    "obj": ".obj",
    "stl": ".stl",
    "vtk": ".vtk",
    "vtp": ".vtp",
    "freesurfer": ".white",
}
NAMES = ["thickness", "curv", "labels", "x", "my data", "nx", "sulc_depth", "ünï"]
SPACES = [None, "fsaverage5", "MNI152NLin2009cAsym", "T1w"]


def _column(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    if kind == "float64":
        values = rng.normal(0, 10, n)
        values[rng.random(n) < 0.1] = np.nan
        return values
    if kind == "float32":
        return rng.normal(0, 10, n).astype(np.float32)
    if kind == "float32-exact":  # float64 holding float32 values: no rounding loss anywhere
        return rng.normal(0, 10, n).astype(np.float32).astype(np.float64)
    if kind == "int64":
        return rng.integers(-5, 400, n).astype(np.int64)
    if kind == "int64-huge":
        return rng.integers(-(2**40), 2**40, n).astype(np.int64)
    if kind == "int32":
        return rng.integers(-1000, 1000, n).astype(np.int32)
    if kind == "uint8":
        return rng.integers(0, 255, n).astype(np.uint8)
    if kind == "bool":
        return rng.random(n) < 0.5
    if kind == "rows3":
        return rng.normal(size=(n, 3))
    if kind == "rows2":
        return rng.normal(size=(n, 2)).astype(np.float32)
    if kind == "rows1":
        return rng.normal(size=(n, 1)).astype(np.float32)
    if kind == "text":
        return np.array([f"v{i}" for i in range(n)])
    raise ValueError(kind)


COLUMN_KINDS = [
    "float64", "float32", "float32-exact", "int64", "int64-huge", "int32", "uint8", "bool", "rows3", "rows2",
    "rows1", "text",
]  # fmt: skip


@st.composite
def surface_meshes(draw: st.DrawFn, *, max_vertices: int = 12, max_faces: int = 16) -> SurfaceMesh:
    """Small meshes: float64 or float32 coordinates (some exactly float32), degenerate and unused vertices
    allowed, vertex data of every kind the formats treat differently, and every header field."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, max_vertices))
    n_faces = draw(st.integers(0, max_faces))
    precision = draw(st.sampled_from(["float64", "float32", "float32-exact"]))
    vertices = rng.normal(0, 50, (n, 3))
    if precision != "float64":
        vertices = vertices.astype(np.float32)
        if precision == "float32-exact":
            vertices = vertices.astype(np.float64)
    faces = rng.integers(0, n, (n_faces, 3)).astype(draw(st.sampled_from([np.int64, np.int32])))
    names = draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
    columns = []
    for name in names:
        column: dict[str, Any] = {
            "name": name,
            "values": _column(rng, draw(st.sampled_from(COLUMN_KINDS)), n),
        }
        if draw(st.integers(0, 4)) == 0:
            column.update(description="what it is", unit="mm")
        columns.append(column)
    metadata = draw(st.sampled_from([None, {"subject": "sub-01", "nested": {"k": [1, 2.5]}}]))
    return SurfaceMesh(
        vertices=vertices,
        faces=faces,
        vertex_data=columns or None,
        hemisphere=draw(st.sampled_from([None, "L", "R", "bilateral"])),
        space=draw(st.sampled_from(SPACES)),
        metadata=metadata,
    )


def write_read(
    mesh: SurfaceMesh, folder: Path, fmt: str, stem: str = "mesh", **options: Any
) -> tuple[Any, list]:
    """Write through the hub (atomic, checked), read back; a .func.gii gets its geometry from a VTP file."""
    target = folder / f"{stem}{EXTENSION[fmt]}"
    losses = conversion.write(mesh, str(target), format=fmt, overwrite=True, **options)
    read_options = {}
    if fmt == "gifti-func":
        geometry = folder / f"{stem}-geometry.vtp"
        conversion.write(mesh.model_copy(update={"vertex_data": None}), str(geometry), overwrite=True)
        read_options["geometry"] = str(geometry)
    return conversion.read(str(target), **read_options), losses


def lost_fields(losses: list) -> set[str]:
    return {loss.field for loss in losses}


def _json(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value))


def assert_kept(expected: SurfaceMesh, got: SurfaceMesh, losses: list) -> None:
    """Everything the format did not declare lost came back: geometry, header fields, vertex data."""
    lost = lost_fields(losses)
    corners_expected = np.asarray(expected.vertices)[expected.faces]
    if "vertices" in lost and "faces" not in lost:  # rounded to float32
        corners_expected = corners_expected.astype(np.float32)
    if "vertex_order" in lost:  # STL: the same triangles, vertices renumbered by first use
        np.testing.assert_array_equal(got.vertices[got.faces], corners_expected)
    elif "faces" not in lost:
        expected_vertices = np.asarray(expected.vertices)
        if "vertices" in lost:
            expected_vertices = expected_vertices.astype(np.float32)
        np.testing.assert_array_equal(got.vertices, expected_vertices)
        np.testing.assert_array_equal(got.faces, expected.faces)
    for field in ("space", "hemisphere"):
        if field not in lost:
            assert getattr(got, field) == getattr(expected, field), field
    if "metadata" not in lost:
        assert _json(got.metadata) == _json(expected.metadata)
    got_data = {column.name: column for column in got.vertex_data or ()}
    for column in expected.vertex_data or ():
        field = f"vertex_data.{column.name}"
        if field in lost:
            got_data.pop(column.name, None)
            continue
        assert column.name in got_data, f"{column.name} missing and not declared lost"
        back = got_data.pop(column.name)
        values = np.asarray(column.values)
        assert np.shape(back.values) == values.shape, column.name
        np.testing.assert_array_equal(back.values, values, err_msg=column.name)
        for note in ("description", "unit"):
            if f"{field}.{note}" not in lost:
                assert getattr(back, note) == getattr(column, note), (column.name, note)
    assert not got_data, f"unexpected vertex data {sorted(got_data)}"
