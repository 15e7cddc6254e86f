"""spectralbrain 0.1.0's save_mesh and save_gifti_func in neurodatahub.surfaces: same parameters, defaults
and behaviour as the originals (run side by side), without pyvista, atomic."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from spectralbrain.io import export as sb_export, loaders as sb_loaders

from neurodatahub import surfaces
from neurodatahub.core.errors import InvalidDataError, UsageError


@pytest.fixture(autouse=True)
def _quiet_spectralbrain() -> None:
    logging.getLogger("spectralbrain").setLevel(logging.ERROR)


def _geometry(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vertices = rng.normal(0, 20, (30, 3))
    faces = np.column_stack([np.arange(28), np.arange(1, 29), np.arange(2, 30)])
    return vertices, faces


def _parameters(function: object) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_signatures_match_spectralbrain() -> None:
    assert _parameters(surfaces.save_mesh) == _parameters(sb_export.save_mesh)
    assert _parameters(surfaces.save_gifti_func) == _parameters(sb_export.save_gifti_func)


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".vtk", ".vtp"])
def test_save_mesh_reads_back_in_spectralbrain(tmp_path: Path, suffix: str) -> None:
    vertices, faces = _geometry()
    path = tmp_path / "deep" / "folder" / f"mesh{suffix}"  # missing folders are made, as spectralbrain does
    assert surfaces.save_mesh(path, vertices, faces) == path
    got_vertices, got_faces = sb_loaders.load_mesh(path)
    expected = vertices.astype(np.float32) if suffix == ".ply" else vertices  # pyvista loads PLY as float32
    np.testing.assert_array_equal(got_vertices, expected)
    np.testing.assert_array_equal(got_faces, faces)
    mesh = surfaces.load_mesh(path)
    np.testing.assert_array_equal(mesh.vertices, vertices)  # the hub keeps PLY coordinates as doubles
    np.testing.assert_array_equal(mesh.faces, faces)


def test_stl_warns_by_default_like_spectralbrain(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    vertices, faces = _geometry()
    with caplog.at_level(logging.WARNING, logger="neurodatahub.surfaces"):
        surfaces.save_mesh(tmp_path / "soup.stl", vertices, faces)
    assert any("vertex order is NOT preserved" in record.getMessage() for record in caplog.records)
    mesh = surfaces.load_mesh(tmp_path / "soup.stl")
    np.testing.assert_array_equal(mesh.vertices[mesh.faces], vertices.astype(np.float32)[faces])


def test_stl_true_is_silent(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    vertices, faces = _geometry()
    with caplog.at_level(logging.DEBUG, logger="neurodatahub"):
        surfaces.save_mesh(tmp_path / "soup.stl", vertices, faces, allow_vertex_reorder=True)
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert (tmp_path / "soup.stl").exists()


def test_stl_false_refuses_with_a_value_error_and_writes_nothing(tmp_path: Path) -> None:
    vertices, faces = _geometry()
    with pytest.raises(ValueError, match="allow_vertex_reorder=True") as ours:
        surfaces.save_mesh(tmp_path / "soup.stl", vertices, faces, allow_vertex_reorder=False)
    assert isinstance(ours.value, UsageError)  # and the CLI's kind of error
    with pytest.raises(ValueError, match="allow_vertex_reorder=True"):
        sb_export.save_mesh(tmp_path / "theirs.stl", vertices, faces, allow_vertex_reorder=False)
    assert list(tmp_path.iterdir()) == []


def test_save_mesh_replaces_a_file_but_keeps_it_on_failure(tmp_path: Path) -> None:
    vertices, faces = _geometry()
    path = tmp_path / "mesh.vtp"
    path.write_text("previous")
    surfaces.save_mesh(path, vertices, faces)
    written = path.read_bytes()
    assert written.startswith(b"<?xml")
    bad_faces = faces.copy()
    bad_faces[3, 1] = len(vertices)  # past the last vertex: pyvista would write it, the hub refuses
    with pytest.raises(InvalidDataError, match="face vertex indices"):
        surfaces.save_mesh(path, vertices, bad_faces)
    assert path.read_bytes() == written
    assert [entry.name for entry in tmp_path.iterdir()] == ["mesh.vtp"]


def test_save_mesh_refuses_other_extensions(tmp_path: Path) -> None:
    vertices, faces = _geometry()
    with pytest.raises(ValueError, match=r"\.ply, \.obj, \.stl, \.vtk or \.vtp"):
        surfaces.save_mesh(tmp_path / "mesh.xyz", vertices, faces)


@pytest.mark.parametrize(
    "scalars",
    [
        np.linspace(-1, 1, 30),  # (N,), float64: cast to float32 as spectralbrain does
        np.arange(90, dtype=np.int64).reshape(30, 3),  # (N, T) integers
        np.random.default_rng(2).normal(size=(30, 1)).astype(np.float32),
    ],
)
def test_save_gifti_func_writes_what_spectralbrain_writes(tmp_path: Path, scalars: np.ndarray) -> None:
    ours = surfaces.save_gifti_func(tmp_path / "ours.func.gii", scalars)
    theirs = sb_export.save_gifti_func(tmp_path / "theirs.func.gii", scalars)
    assert ours == tmp_path / "ours.func.gii"
    a, b = nib.load(ours), nib.load(theirs)
    assert dict(a.meta) == dict(b.meta)
    assert len(a.darrays) == len(b.darrays) == (1 if scalars.ndim == 1 else scalars.shape[1])
    for mine, original in zip(a.darrays, b.darrays, strict=True):
        assert (mine.intent, mine.datatype, mine.encoding) == (
            original.intent,
            original.datatype,
            original.encoding,
        )
        assert nib.nifti1.intent_codes.niistring[mine.intent] == "NIFTI_INTENT_SHAPE"
        assert mine.data.dtype == original.data.dtype == np.float32
        assert mine.data.shape == original.data.shape
        assert dict(mine.meta) == dict(original.meta)
        np.testing.assert_array_equal(mine.data, original.data)
    np.testing.assert_array_equal(surfaces.load_gifti_func(ours), sb_loaders.load_gifti_func(theirs))
    np.testing.assert_array_equal(sb_loaders.load_gifti_func(ours), sb_loaders.load_gifti_func(theirs))


def test_save_gifti_func_refuses_three_dimensions(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\(N,\) or \(N, T\)"):
        surfaces.save_gifti_func(tmp_path / "x.func.gii", np.zeros((4, 2, 2)))
    assert list(tmp_path.iterdir()) == []


def test_hub_reads_spectralbrain_func_files_as_spectralbrain_does(tmp_path: Path) -> None:
    vertices, faces = _geometry()
    descriptors = np.random.default_rng(3).normal(size=(30, 4))
    sb_export.save_gifti_func(tmp_path / "hks.func.gii", descriptors)
    surfaces.save_mesh(tmp_path / "white.vtp", vertices, faces)
    mesh = surfaces.load_mesh(tmp_path / "hks.func.gii", geometry=str(tmp_path / "white.vtp"))
    (column,) = mesh.vertex_data
    assert column.name == "scalars"  # unnamed arrays, spectralbrain's key
    np.testing.assert_array_equal(column.values, sb_loaders.load_gifti_func(tmp_path / "hks.func.gii"))
    np.testing.assert_array_equal(mesh.vertices, vertices)
