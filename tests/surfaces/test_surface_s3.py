"""Surfaces on S3 (a real S3-protocol server on loopback): read from it, written to it, atomically."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import nilearn
import numpy as np
import pytest

from neurodatahub import surfaces
from neurodatahub.cli import main
from neurodatahub.core import conversion
from neurodatahub.core.errors import InvalidDataError

NILEARN = Path(nilearn.__file__).parent / "datasets" / "data" / "fsaverage5"


def _download(url: str, target: Path) -> Path:
    import s3fs

    s3fs.S3FileSystem().get(url, str(target))
    return target


def test_convert_to_and_from_s3_in_every_format(
    s3_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import s3fs

    source = NILEARN / "white_right.gii.gz"
    s3fs.S3FileSystem().put(str(source), f"{s3_bucket}/in/white_right.gii.gz")
    remote_source = f"{s3_bucket}/in/white_right.gii.gz"
    expected = conversion.read(str(source))
    assert main(["info", remote_source, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["format"], summary["vertices"], summary["hemisphere"]) == ("gifti", 10242, "R")
    for suffix in (".surf.gii", ".ply", ".obj", ".vtk", ".vtp", ".stl"):
        remote = f"{s3_bucket}/out/white{suffix}"
        options = ["-O", "allow_vertex_reorder=true"] if suffix == ".stl" else []
        assert main(["convert", remote_source, remote, *options]) == 0
        back = conversion.read(remote)
        if suffix == ".stl":  # a soup: same triangles
            np.testing.assert_array_equal(back.vertices[back.faces], expected.vertices[expected.faces])
        else:
            np.testing.assert_array_equal(back.vertices, expected.vertices)
            np.testing.assert_array_equal(back.faces, expected.faces)
    assert main(["convert", f"{s3_bucket}/out/white.vtp", str(tmp_path / "back.ply")]) == 0
    assert main(["validate", f"{s3_bucket}/out/white.vtk"]) == 0
    np.testing.assert_array_equal(conversion.read(str(tmp_path / "back.ply")).vertices, expected.vertices)
    capsys.readouterr()


def test_func_and_geometry_both_on_s3(s3_bucket: str, tmp_path: Path) -> None:
    import s3fs

    fs = s3fs.S3FileSystem()
    fs.put(str(NILEARN / "sulc_right.gii.gz"), f"{s3_bucket}/sulc_right.gii.gz")
    fs.put(str(NILEARN / "pial_right.gii.gz"), f"{s3_bucket}/pial_right.gii.gz")
    mesh = conversion.read(f"{s3_bucket}/sulc_right.gii.gz", geometry=f"{s3_bucket}/pial_right.gii.gz")
    np.testing.assert_array_equal(
        mesh.vertex_data[0].values, nib.load(NILEARN / "sulc_right.gii.gz").darrays[0].data
    )
    target = f"{s3_bucket}/sulc.func.gii"
    losses = conversion.write(mesh, target)
    assert {loss.field for loss in losses} >= {"vertices", "faces"}
    image = nib.load(_download(target, tmp_path / "sulc.func.gii"))
    np.testing.assert_array_equal(image.darrays[0].data, mesh.vertex_data[0].values)


def test_save_mesh_and_save_gifti_func_on_s3(s3_bucket: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    vertices = rng.normal(size=(20, 3))
    faces = np.column_stack([np.arange(18), np.arange(1, 19), np.arange(2, 20)])
    for suffix in (".vtp", ".ply", ".vtk"):
        url = f"{s3_bucket}/meshes/mesh{suffix}"
        assert surfaces.save_mesh(url, vertices, faces) == url  # a URL comes back as given
        mesh = surfaces.load_mesh(url)
        np.testing.assert_array_equal(mesh.vertices, vertices)
        np.testing.assert_array_equal(mesh.faces, faces)
    scalars = rng.normal(size=(20, 2))
    url = f"{s3_bucket}/maps/hks.func.gii"
    surfaces.save_gifti_func(url, scalars)
    image = nib.load(_download(url, tmp_path / "hks.func.gii"))
    assert len(image.darrays) == 2
    np.testing.assert_array_equal(
        np.column_stack([a.data for a in image.darrays]), scalars.astype(np.float32)
    )
    np.testing.assert_array_equal(surfaces.load_gifti_func(url), scalars.astype(np.float32))


def test_a_failed_write_leaves_the_s3_object_alone(s3_bucket: str) -> None:
    import s3fs

    vertices = np.eye(3)
    url = f"{s3_bucket}/keep.vtp"
    surfaces.save_mesh(url, vertices, np.array([[0, 1, 2]]))
    before = s3fs.S3FileSystem().cat(url)
    with pytest.raises(InvalidDataError):
        surfaces.save_mesh(url, vertices, np.array([[0, 1, 3]]))
    s3fs.S3FileSystem.clear_instance_cache()
    assert s3fs.S3FileSystem().cat(url) == before
