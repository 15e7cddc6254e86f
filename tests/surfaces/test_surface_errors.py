"""Bad surface input: one clear line and the documented exit code, no output, an existing target untouched."""

from __future__ import annotations

import gzip
from pathlib import Path

import meshio
import nibabel as nib
import numpy as np
import pytest

from neurodatahub.cli import main
from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode, InputError, UsageError
from neurodatahub.models import SurfaceMesh
from neurodatahub.surfaces import vtk_xml

VERTICES = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.float64)
QUADS = np.array([[0, 1, 4, 2], [0, 1, 3, 4]])


def _run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err.strip()
    return code, err


def _gifti(path: Path, faces: np.ndarray) -> None:
    arrays = [
        nib.gifti.GiftiDataArray(VERTICES.astype(np.float32), intent="NIFTI_INTENT_POINTSET"),
        nib.gifti.GiftiDataArray(faces.astype(np.int32), intent="NIFTI_INTENT_TRIANGLE"),
    ]
    nib.save(nib.gifti.GiftiImage(darrays=arrays), path)


def _bad_files(folder: Path) -> list[Path]:
    """One file per readable format whose faces reach past the last vertex, written by the peers."""
    bad = np.array([[0, 1, 2], [2, 3, 5]])  # vertex 5 of 5
    paths = {
        name: folder / name for name in ("bad.surf.gii", "bad.ply", "bad.obj", "bad.vtk", "bad.vtp", "lh.bad")
    }
    _gifti(paths["bad.surf.gii"], bad)
    meshio.ply.write(str(paths["bad.ply"]), meshio.Mesh(VERTICES, [("triangle", bad.astype(np.int32))]))
    paths["bad.obj"].write_text("".join(f"v {x} {y} {z}\n" for x, y, z in VERTICES) + "f 1 2 3\nf 3 4 6\n")
    paths["bad.vtk"].write_text(
        "# vtk DataFile Version 4.2\nbad\nASCII\nDATASET POLYDATA\nPOINTS 5 double\n"
        + " ".join(map(str, VERTICES.ravel()))
        + "\nPOLYGONS 2 8\n3 0 1 2\n3 2 3 5\n"
    )
    paths["bad.vtp"].write_bytes(vtk_xml.serialize(VERTICES, bad, {}))
    nib.freesurfer.write_geometry(str(paths["lh.bad"]), VERTICES, bad)
    return list(paths.values())


def test_faces_past_the_vertices_are_invalid_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    existing = tmp_path / "existing.vtp"
    existing.write_text("the previous result")
    for path in _bad_files(tmp_path):
        code, err = _run(capsys, "convert", str(path), str(tmp_path / "out.ply"))
        assert code == ExitCode.INVALID, (path, err)
        assert "face vertex indices must lie in [0, 5), found [0, 5]" in err and "\n" not in err
        assert not (tmp_path / "out.ply").exists()
        code, err = _run(capsys, "convert", str(path), str(existing), "--overwrite")
        assert code == ExitCode.INVALID and existing.read_text() == "the previous result"
        code, _ = _run(capsys, "validate", str(path))
        assert code == ExitCode.INVALID
    assert sorted(entry.name for entry in tmp_path.iterdir() if entry.name.startswith(".")) == []


def test_negative_face_indices_are_invalid(tmp_path: Path) -> None:
    relative = tmp_path / "relative.obj"  # OBJ's relative indices: meshio does not resolve them
    relative.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf -3 -2 -1\n")
    with pytest.raises(Exception, match="face vertex indices must lie in"):
        conversion.read(str(relative))
    with pytest.raises(Exception, match="face vertex indices must lie in"):
        SurfaceMesh(vertices=VERTICES, faces=np.array([[0, -1, 2]]))


def _valid_files(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    mesh = SurfaceMesh(
        vertices=rng.normal(size=(200, 3)),
        faces=rng.integers(0, 200, (300, 3)),
        vertex_data=[{"name": "thickness", "values": rng.normal(size=200)}],
    )
    paths = []
    for name, options in (
        ("mesh.surf.gii", {}),
        ("mesh.func.gii", {}),
        ("mesh.ply", {}),
        ("text.ply", {"ascii": True}),
        ("mesh.stl", {}),
        ("mesh.vtk", {}),
        ("text.vtk", {"ascii": True}),
        ("grid.vtk", {"dataset": "unstructured_grid"}),
        ("mesh.vtp", {}),
        ("text.vtp", {"ascii": True}),
    ):
        conversion.write(mesh, str(folder / name), **options)
        paths.append(folder / name)
    image = nib.load(folder / "mesh.surf.gii")
    nib.save(image, folder / "mesh.gii")
    (folder / "mesh.gii.gz").write_bytes(gzip.compress((folder / "mesh.gii").read_bytes()))
    nib.freesurfer.write_geometry(str(folder / "lh.white"), mesh.vertices, mesh.faces)
    return [*paths, folder / "mesh.gii.gz", folder / "lh.white"]


def test_truncated_files_are_clear_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "in").mkdir()
    geometry = tmp_path / "geometry.vtp"
    conversion.write(SurfaceMesh(vertices=np.zeros((200, 3)), faces=np.empty((0, 3), int)), str(geometry))
    for path in _valid_files(tmp_path / "in"):
        data = path.read_bytes()
        cut = tmp_path / f"cut-{path.name}"
        cut.write_bytes(data[: len(data) // 2])
        fmt = {"mesh.func.gii": ["--from", "gifti-func", "--read-option", f"geometry={geometry}"]}
        extra = fmt.get(path.name, ["--from", convert_name(path)])
        code, err = _run(capsys, "convert", str(cut), str(tmp_path / "out.vtp"), *extra)
        assert code == ExitCode.USAGE, (path.name, err)
        assert err.startswith("hub: error: ") and "\n" not in err and "Traceback" not in err, err
        assert not (tmp_path / "out.vtp").exists()


def convert_name(path: Path) -> str:
    from neurodatahub.core.registry import detect_format

    return detect_format(str(path)).name


def test_quads_need_triangulate_and_then_become_fans(tmp_path: Path) -> None:
    import pyvista as pv

    paths = {
        "quads.ply": lambda p: meshio.ply.write(
            str(p), meshio.Mesh(VERTICES, [("quad", QUADS.astype(np.int32))])
        ),
        "quads.obj": lambda p: p.write_text(
            "".join(f"v {x} {y} {z}\n" for x, y, z in VERTICES) + "f 1 2 5 3\nf 1 2 4 5\n"
        ),
        "quads.vtp": lambda p: pv.PolyData(VERTICES, np.column_stack([np.full(2, 4), QUADS]).ravel()).save(p),
        "quads.vtk": lambda p: pv.PolyData(VERTICES, np.column_stack([np.full(2, 4), QUADS]).ravel()).save(p),
        "grid.vtk": lambda p: meshio.vtk.write(str(p), meshio.Mesh(VERTICES, [("quad", QUADS)]), "4.2"),
    }
    fans = np.array([[0, 1, 4], [0, 4, 2], [0, 1, 3], [0, 3, 4]])
    for name, make in paths.items():
        path = tmp_path / name
        make(path)
        with pytest.raises(InputError, match="triangulate=true"):
            conversion.read(str(path))
        mesh = conversion.read(str(path), triangulate=True)
        np.testing.assert_array_equal(mesh.faces, fans, err_msg=name)
        np.testing.assert_array_equal(mesh.vertices, VERTICES)
    assert (
        main(
            [
                "convert",
                str(tmp_path / "quads.ply"),
                str(tmp_path / "fans.vtp"),
                "--read-option",
                "triangulate=true",
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(conversion.read(str(tmp_path / "fans.vtp")).faces, fans)


def test_mixed_polygon_sizes_fan_in_face_order(tmp_path: Path) -> None:
    import pyvista as pv

    cells = np.array([3, 0, 1, 2, 5, 0, 1, 3, 4, 2, 4, 1, 2, 3, 4])
    path = tmp_path / "mixed.vtp"
    pv.PolyData(VERTICES, cells).save(path)
    mesh = conversion.read(str(path), triangulate="true")
    np.testing.assert_array_equal(
        mesh.faces, [[0, 1, 2], [0, 1, 3], [0, 3, 4], [0, 4, 2], [1, 2, 3], [1, 3, 4]]
    )


def test_lines_and_volumes_are_not_surfaces(tmp_path: Path) -> None:
    import pyvista as pv

    pv.PolyData(VERTICES, lines=np.array([3, 0, 1, 2])).save(tmp_path / "lines.vtp")
    pv.PolyData(VERTICES, lines=np.array([3, 0, 1, 2])).save(tmp_path / "lines.vtk")
    meshio.vtk.write(
        str(tmp_path / "tetra.vtk"), meshio.Mesh(VERTICES, [("tetra", np.array([[0, 1, 2, 3]]))]), "4.2"
    )
    for name in ("lines.vtp", "lines.vtk"):
        with pytest.raises(InputError, match="1 lines, not only polygons"):
            conversion.read(str(tmp_path / name), triangulate=True)
    with pytest.raises(InputError, match=r"not surface triangles \(1 tetra\)"):
        conversion.read(str(tmp_path / "tetra.vtk"), triangulate=True)


@pytest.mark.parametrize(
    "name", ["x.ply", "x.obj", "x.stl", "x.vtk", "x.vtp", "x.surf.gii", "x.func.gii", "lh.pial"]
)
def test_garbage_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(1).bytes(3000))
    code, err = _run(capsys, "convert", str(path), str(tmp_path / "out.vtp"))
    assert code == ExitCode.USAGE and err.startswith("hub: error: ") and "\n" not in err, err
    text = tmp_path / f"text-{name}"
    text.write_text("nothing here looks like a mesh\n")
    code, err = _run(capsys, "info", str(text))
    assert code == ExitCode.USAGE and "\n" not in err
    assert not (tmp_path / "out.vtp").exists()


def test_func_needs_a_geometry_of_the_same_size(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    mesh = SurfaceMesh(
        vertices=VERTICES, faces=np.array([[0, 1, 2]]), vertex_data=[{"name": "a", "values": np.arange(5.0)}]
    )
    conversion.write(mesh, str(tmp_path / "a.func.gii"))
    code, err = _run(capsys, "convert", str(tmp_path / "a.func.gii"), str(tmp_path / "out.vtp"))
    assert code == ExitCode.USAGE and "-R geometry=SURFACE_FILE" in err  # in the CLI's words
    small = SurfaceMesh(vertices=VERTICES[:4], faces=np.array([[0, 1, 2]]))
    conversion.write(small, str(tmp_path / "small.vtp"))
    code, err = _run(
        capsys, "convert", str(tmp_path / "a.func.gii"), str(tmp_path / "out.vtp"),
        "--read-option", f"geometry={tmp_path / 'small.vtp'}",
    )  # fmt: skip
    assert code == ExitCode.USAGE and "has 5 values per array but" in err and "has 4 vertices" in err
    conversion.write(mesh, str(tmp_path / "with-a.vtp"))
    with pytest.raises(InputError, match="both have vertex data named"):
        conversion.read(str(tmp_path / "a.func.gii"), geometry=str(tmp_path / "with-a.vtp"))
    with pytest.raises(UsageError, match="no per-vertex numbers"):
        conversion.write(small, str(tmp_path / "none.func.gii"))
    assert not (tmp_path / "out.vtp").exists() and not (tmp_path / "none.func.gii").exists()


def test_strict_and_stl_vertex_order(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    faces = np.array([[4, 1, 2], [0, 3, 4]])  # not in first-use order: STL would renumber
    conversion.write(
        SurfaceMesh(vertices=VERTICES, faces=faces, hemisphere="L"), str(tmp_path / "m.surf.gii")
    )
    source, target = str(tmp_path / "m.surf.gii"), str(tmp_path / "m.stl")
    code, err = _run(capsys, "convert", source, target, "--strict")
    assert code == ExitCode.LOSS and "vertex_order" in err and not Path(target).exists()
    code, err = _run(capsys, "convert", source, target, "-O", "allow_vertex_reorder=false")
    assert code == ExitCode.USAGE and "-O allow_vertex_reorder=true" in err and not Path(target).exists()
    code, err = _run(capsys, "convert", source, target, "-O", "allow_vertex_reorder=true")
    assert code == 0 and "vertex_order" not in err and "lost: hemisphere" in err
    code, err = _run(capsys, "convert", source, target, "--overwrite")
    assert code == 0 and "lost: vertex_order (3)" in err  # 1 and 2 keep their places
    mesh = conversion.read(target)
    np.testing.assert_array_equal(mesh.vertices[mesh.faces], VERTICES[faces].astype(np.float32))
    code, err = _run(capsys, "convert", source, str(tmp_path / "x.ply"), "-O", "ascii=maybe")
    assert code == ExitCode.USAGE and "ascii must be true or false" in err


def test_unknown_options_and_unreadable_ascii_ply(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    conversion.write(SurfaceMesh(vertices=VERTICES, faces=np.array([[0, 1, 2]])), str(tmp_path / "m.vtp"))
    code, err = _run(capsys, "convert", str(tmp_path / "m.vtp"), str(tmp_path / "m.obj"), "-O", "ascii=true")
    assert code == ExitCode.USAGE and "takes no option ascii" in err
    code, err = _run(
        capsys, "convert", str(tmp_path / "m.vtp"), str(tmp_path / "m.vtk"), "-O", "dataset=tetra"
    )
    assert code == ExitCode.USAGE and "polydata or unstructured_grid" in err
    single = SurfaceMesh(
        vertices=VERTICES[:1], faces=np.empty((0, 3), int), vertex_data=[{"name": "a", "values": [1.0]}]
    )
    with pytest.raises(UsageError, match="ASCII PLY of one vertex"):
        conversion.write(single, str(tmp_path / "one.ply"), ascii=True)
    assert conversion.write(single, str(tmp_path / "one.ply")) == []


def test_empty_meshes_round_trip(tmp_path: Path) -> None:
    """No faces at all (a point set) is a valid SurfaceMesh in every format that holds vertices alone."""
    points = SurfaceMesh(vertices=VERTICES, faces=np.empty((0, 3), dtype=np.int64))
    for name in ("p.surf.gii", "p.ply", "p.obj", "p.vtk", "p.vtp"):
        conversion.write(points, str(tmp_path / name))
        back = conversion.read(str(tmp_path / name))
        np.testing.assert_array_equal(back.vertices, VERTICES)
        assert back.faces.shape == (0, 3)
    nothing = SurfaceMesh(vertices=np.empty((0, 3)), faces=np.empty((0, 3), dtype=np.int64))
    for name, options in (
        ("e.ply", {"ascii": True}),
        ("e.obj", {}),
        ("e.stl", {}),
        ("e.vtp", {}),
        ("e.vtk", {}),
    ):
        conversion.write(nothing, str(tmp_path / name), **options)
        assert conversion.read(str(tmp_path / name)).vertices.shape == (0, 3)
