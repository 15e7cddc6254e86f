"""The peers as oracles: what the hub writes opens in nibabel, meshio, pyvista/VTK and spectralbrain with
equal content, and what they write (real files included) reads equal in the hub."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import meshio
import nibabel as nib
import nilearn
import numpy as np
import pytest
from spectralbrain.io import export as sb_export, loaders as sb_loaders

from neurodatahub.cli import main
from neurodatahub.core import conversion
from neurodatahub.core.errors import InputError, InvalidDataError
from neurodatahub.core.registry import detect_format
from neurodatahub.models import SurfaceMesh

NILEARN = Path(nilearn.__file__).parent / "datasets" / "data" / "fsaverage5"
NIBABEL_GIFTI = Path(nib.__file__).parent / "gifti" / "tests" / "data"
MESH_EXTENSIONS = ("ply", "obj", "stl", "vtk", "vtp")


@pytest.fixture(autouse=True)
def _quiet_spectralbrain() -> None:
    logging.getLogger("spectralbrain").setLevel(logging.ERROR)


def _nilearn_surfaces() -> list[Path]:
    return sorted(path for path in NILEARN.glob("*.gii.gz") if detect_format(str(path)).name == "gifti")


def _mesh(side: int = 7, seed: int = 0) -> SurfaceMesh:
    """A bumpy sheet: a grid of vertices, two consistently wound triangles per cell, float64 coordinates."""
    rng = np.random.default_rng(seed)
    n = side * side
    rows, cols = np.divmod(np.arange(n), side)
    vertices = np.column_stack([cols * 2.5, rows * 2.5, rng.normal(0, 1, n)]) + rng.normal(0, 0.1, (n, 3))
    corner = (rows * side + cols)[(rows < side - 1) & (cols < side - 1)]
    faces = np.concatenate(
        [
            np.column_stack([corner, corner + 1, corner + side]),
            np.column_stack([corner + 1, corner + side + 1, corner + side]),
        ]
    )
    return SurfaceMesh(
        vertices=vertices,
        faces=faces,
        hemisphere="R",
        space="MNI152NLin2009cAsym",
        vertex_data=[
            {"name": "thickness", "values": rng.uniform(1, 4, n)},
            {"name": "labels", "values": rng.integers(0, 30, n).astype(np.int32)},
            {"name": "normals", "values": rng.normal(size=(n, 3))},
        ],
    )


# ---- real files ----


def test_nilearn_fsaverage5_surfaces_go_to_ply_and_vtk_and_back_exactly(tmp_path: Path) -> None:
    """GIfTI stores float32; PLY and VTK keep the float32 dtype, so every coordinate is bit-identical."""
    surfaces = _nilearn_surfaces()
    assert len(surfaces) >= 10
    for index, source in enumerate(surfaces):
        image = nib.load(source)
        expected_vertices = image.darrays[0].data
        expected_faces = image.darrays[1].data
        for fmt in ("ply", "vtk"):
            middle = tmp_path / f"{source.name}.{fmt}"
            back = tmp_path / f"{source.name}.{fmt}.surf.gii"
            if index == 0:  # the command line once, the Python API for the rest
                assert main(["convert", str(source), str(middle)]) == 0
                assert main(["convert", str(middle), str(back)]) == 0
            else:
                conversion.convert(str(source), str(middle), checksum=False)
                conversion.convert(str(middle), str(back), checksum=False)
            for path in (middle, back):
                mesh = conversion.read(str(path))
                assert mesh.vertices.dtype == np.float32
                np.testing.assert_array_equal(mesh.vertices, expected_vertices)
                np.testing.assert_array_equal(mesh.faces, expected_faces)
            again = nib.load(back)
            np.testing.assert_array_equal(again.darrays[0].data, expected_vertices)
            np.testing.assert_array_equal(again.darrays[1].data, expected_faces)


def test_nilearn_gifti_headers_survive_gifti_to_gifti(tmp_path: Path) -> None:
    source = NILEARN / "pial_left.gii.gz"
    mesh = conversion.read(str(source))
    assert mesh.hemisphere == "L"
    assert conversion.write(mesh, str(tmp_path / "copy.surf.gii")) == []
    original, copy = nib.load(source), nib.load(tmp_path / "copy.surf.gii")
    assert dict(copy.meta) == dict(original.meta)
    for before, after in zip(original.darrays, copy.darrays, strict=True):
        assert dict(after.meta) == dict(before.meta)
        assert (after.coordsys.dataspace, after.coordsys.xformspace) == (
            before.coordsys.dataspace,
            before.coordsys.xformspace,
        )
        np.testing.assert_array_equal(after.data, before.data)


def test_nilearn_sulcal_depth_attaches_to_its_surface(tmp_path: Path) -> None:
    func, geometry = NILEARN / "sulc_left.gii.gz", NILEARN / "pial_left.gii.gz"
    assert detect_format(str(func)).name == "gifti-func"
    mesh = conversion.read(str(func), geometry=str(geometry))
    (column,) = mesh.vertex_data
    np.testing.assert_array_equal(column.values, nib.load(func).darrays[0].data)
    assert column.name.endswith("lh.sulc")  # GIfTI's Name metadata, as the file gives it
    target = tmp_path / "sulc.vtp"
    code = main(["convert", str(func), str(target), "--read-option", f"geometry={geometry}"])
    assert code == 0
    back = conversion.read(str(target))
    np.testing.assert_array_equal(back.vertex_data[0].values, column.values)
    np.testing.assert_array_equal(back.vertices, mesh.vertices)


def test_nibabel_gifti_test_surfaces_read_as_nibabel_reads_them() -> None:
    """external.gii keeps its arrays in external.dat beside it: read only with allow_external."""
    with pytest.raises(InputError, match=r"ExternalFileBinary.*--allow-external"):
        conversion.read(str(NIBABEL_GIFTI / "external.gii"))
    for name in ("ascii.gii", "external.gii"):
        path = NIBABEL_GIFTI / name
        image = nib.load(path)
        mesh = conversion.read(str(path), allow_external=True)
        np.testing.assert_array_equal(mesh.vertices, image.darrays[0].data)
        np.testing.assert_array_equal(mesh.faces, image.darrays[1].data)
        assert (mesh.metadata or {}).get("gifti", {}).get("meta", {}) == dict(image.meta)
    assert conversion.read(str(NIBABEL_GIFTI / "ascii.gii")).hemisphere == "L"  # CortexLeft


def test_nibabel_gifti_test_files_with_faces_past_their_vertices_are_invalid() -> None:
    """ascii_flat_data.gii and base64bin.gii are cut-down test files whose triangles index vertices they
    do not hold: nibabel loads them, the hub says why they are not a mesh."""
    for name in ("ascii_flat_data.gii", "base64bin.gii"):
        image = nib.load(NIBABEL_GIFTI / name)
        assert image.darrays[1].data.max() >= len(image.darrays[0].data)
        with pytest.raises(InvalidDataError, match="face vertex indices must lie in"):
            conversion.read(str(NIBABEL_GIFTI / name))


@pytest.mark.parametrize(
    ("name", "expected_name", "shape"),
    [
        ("task.func.gii", "scalars", (642, 10)),  # ten unnamed time points: spectralbrain's (N, T)
        ("rh.shape.curv.gii", "rh.curv", (133764, 1)),
        ("gzipbase64.gii", "Folding (Mean Curvature)", (143479, 1)),
    ],
)
def test_nibabel_gifti_data_files_read_with_a_geometry(
    tmp_path: Path, name: str, expected_name: str, shape: tuple[int, ...]
) -> None:
    path = NIBABEL_GIFTI / name
    assert detect_format(str(path)).name == "gifti-func"
    geometry = tmp_path / "points.vtp"
    points = SurfaceMesh(vertices=np.zeros((shape[0], 3)), faces=np.empty((0, 3), dtype=np.int64))
    conversion.write(points, str(geometry))
    mesh = conversion.read(str(path), geometry=str(geometry))
    (column,) = mesh.vertex_data
    assert column.name == expected_name and column.values.shape == shape
    expected = np.column_stack([array.data for array in nib.load(path).darrays])
    np.testing.assert_array_equal(column.values.reshape(shape[0], -1), expected)
    np.testing.assert_array_equal(
        column.values.reshape(shape[0], -1), np.atleast_2d(sb_loaders.load_gifti_func(path).T).T
    )


def test_nibabel_label_files_are_surface_labels_not_surface_data(tmp_path: Path) -> None:
    for name in ("label.gii", "rh.aparc.annot.gii"):
        path = NIBABEL_GIFTI / name
        assert detect_format(str(path)).name == "gifti-label"
        with pytest.raises(InputError, match="label arrays"):
            conversion.read(str(path), format="gifti-func", geometry=str(tmp_path / "unused.vtp"))


def test_freesurfer_surfaces_written_by_nibabel(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    vertices = rng.normal(0, 30, (50, 3)).astype(np.float32)
    faces = rng.integers(0, 50, (80, 3)).astype(np.int32)
    volume_info = {
        "head": np.array([2, 0, 20], dtype=np.int32),
        "valid": "1  # volume info valid",
        "filename": "/subjects/bert/mri/filled-pretess255.mgz",
        "volume": np.array([256, 256, 256]),
        "voxelsize": np.array([1.0, 1.0, 1.0]),
        "xras": np.array([-1.0, 0.0, 0.0]),
        "yras": np.array([0.0, 0.0, -1.0]),
        "zras": np.array([0.0, 1.0, 0.0]),
        "cras": np.array([1.5, -17.25, 18.0]),
    }
    path = tmp_path / "lh.white"
    nib.freesurfer.write_geometry(
        str(path), vertices, faces, create_stamp="created by bert on Tue Jan 1", volume_info=volume_info
    )
    assert detect_format(str(path)).name == "freesurfer"
    renamed = tmp_path / "surface.bin"  # the magic bytes decide, not the name
    renamed.write_bytes(path.read_bytes())
    assert detect_format(str(renamed)).name == "freesurfer"
    mesh = conversion.read(str(path))
    np.testing.assert_array_equal(mesh.vertices, vertices)
    assert mesh.vertices.dtype == np.float32
    np.testing.assert_array_equal(mesh.faces, faces)
    assert mesh.hemisphere == "L"
    details = mesh.metadata["freesurfer"]
    assert details["created_by"] == "created by bert on Tue Jan 1"
    assert details["volume_info"]["cras"] == [1.5, -17.25, 18.0]
    assert details["volume_info"]["filename"] == volume_info["filename"]
    target = tmp_path / "lh.white.surf.gii"
    assert main(["convert", str(path), str(target)]) == 0
    back = conversion.read(str(target))
    assert back.metadata == mesh.metadata and back.hemisphere == "L"
    vertices_nib, faces_nib = sb_loaders.load_freesurfer_surface(path)
    np.testing.assert_array_equal(mesh.vertices, vertices_nib)
    np.testing.assert_array_equal(mesh.faces, faces_nib)


# ---- what the hub writes, read by the peers ----


def test_nibabel_reads_our_surface_gifti(tmp_path: Path) -> None:
    mesh = _mesh()
    losses = conversion.write(mesh, str(tmp_path / "mesh.surf.gii"))
    assert {loss.field for loss in losses} >= {"vertices", "vertex_data.thickness"}
    image = nib.load(tmp_path / "mesh.surf.gii")
    points, triangles = image.darrays
    assert nib.nifti1.intent_codes.niistring[points.intent] == "NIFTI_INTENT_POINTSET"
    assert nib.nifti1.intent_codes.niistring[triangles.intent] == "NIFTI_INTENT_TRIANGLE"
    assert points.data.dtype == np.float32 and triangles.data.dtype == np.int32
    np.testing.assert_array_equal(points.data, mesh.vertices.astype(np.float32))
    np.testing.assert_array_equal(triangles.data, mesh.faces)
    assert points.meta["AnatomicalStructurePrimary"] == "CortexRight"
    assert nib.nifti1.xform_codes.niistring[points.coordsys.dataspace] == "NIFTI_XFORM_MNI_152"
    vertices, faces = sb_loaders.load_gifti_surface(tmp_path / "mesh.surf.gii")
    np.testing.assert_array_equal(vertices, points.data)
    np.testing.assert_array_equal(faces, mesh.faces)


def test_nibabel_reads_our_func_gifti(tmp_path: Path) -> None:
    mesh = _mesh()
    conversion.write(mesh, str(tmp_path / "data.func.gii"))
    arrays = nib.load(tmp_path / "data.func.gii").darrays
    assert len(arrays) == 1 + 1 + 3  # thickness, labels, three normal columns
    assert {nib.nifti1.intent_codes.niistring[array.intent] for array in arrays} == {"NIFTI_INTENT_SHAPE"}
    assert [array.meta["Name"] for array in arrays] == ["thickness", "labels", *["normals"] * 3]
    assert [array.data.dtype for array in arrays] == [np.float32, np.int32, *[np.float32] * 3]
    np.testing.assert_array_equal(arrays[0].data, mesh.vertex_data[0].values.astype(np.float32))
    np.testing.assert_array_equal(arrays[1].data, mesh.vertex_data[1].values)
    np.testing.assert_array_equal(
        np.column_stack([array.data for array in arrays[2:]]), mesh.vertex_data[2].values.astype(np.float32)
    )


@pytest.mark.parametrize("ascii", [False, True])
def test_meshio_reads_our_meshes(tmp_path: Path, ascii: bool) -> None:
    mesh = _mesh()
    for fmt, reader in (("ply", meshio.ply), ("obj", meshio.obj), ("stl", meshio.stl), ("vtk", meshio.vtk)):
        if fmt == "obj" and ascii:
            continue
        options: dict[str, Any] = {"ascii": True} if ascii else {}
        if fmt == "vtk":
            options["dataset"] = "unstructured_grid"  # meshio reads no POLYDATA
        path = tmp_path / f"mesh.{fmt}"
        conversion.write(mesh, str(path), **options)
        with np.errstate(over="ignore"):  # meshio's STL size check overflows a uint32 harmlessly
            back = reader.read(str(path))
        (block,) = back.cells
        assert block.type == "triangle"
        expected = mesh.vertices.astype(np.float32) if fmt == "stl" and not ascii else mesh.vertices
        if fmt == "stl":  # a soup: the same triangles, vertices numbered by first use
            np.testing.assert_array_equal(back.points[block.data], expected[mesh.faces])
        else:
            np.testing.assert_array_equal(back.points, expected)
            np.testing.assert_array_equal(block.data, mesh.faces)
        if fmt in ("ply", "vtk"):
            np.testing.assert_array_equal(back.point_data["thickness"], mesh.vertex_data[0].values)
            np.testing.assert_array_equal(back.point_data["labels"], mesh.vertex_data[1].values)
        if fmt == "vtk":
            np.testing.assert_array_equal(back.point_data["normals"], mesh.vertex_data[2].values)


def test_pyvista_reads_our_vtk_vtp_and_ply(tmp_path: Path) -> None:
    import pyvista as pv

    mesh = _mesh()
    variants = [
        ("vtk", {}),
        ("vtk", {"ascii": True}),
        ("vtk", {"dataset": "unstructured_grid"}),
        ("vtp", {}),
        ("vtp", {"compress": False}),
        ("vtp", {"ascii": True}),
        ("ply", {}),
    ]
    for index, (fmt, options) in enumerate(variants):
        path = tmp_path / f"mesh{index}.{fmt}"
        conversion.write(mesh, str(path), **options)
        back = pv.read(str(path))
        if fmt == "ply":  # VTK's PLY reader loads float32 points and only the properties it knows
            np.testing.assert_array_equal(back.points, mesh.vertices.astype(np.float32))
            np.testing.assert_array_equal(back.faces.reshape(-1, 4)[:, 1:], mesh.faces)
            continue
        np.testing.assert_array_equal(back.points, mesh.vertices)
        triangles = back.faces.reshape(-1, 4)[:, 1:] if isinstance(back, pv.PolyData) else back.cells_dict[5]
        np.testing.assert_array_equal(triangles, mesh.faces)
        for column in mesh.vertex_data:
            np.testing.assert_array_equal(back.point_data[column.name], column.values)


def test_spectralbrain_load_mesh_reads_ours_in_vertex_order(tmp_path: Path) -> None:
    """spectralbrain's own loader (pyvista) gets our vertices back in order, for every format it reads."""
    source = NILEARN / "pial_left.gii.gz"
    mesh = conversion.read(str(source))
    for fmt in ("ply", "obj", "vtk", "vtp"):
        path = tmp_path / f"pial.{fmt}"
        conversion.write(mesh, str(path))
        vertices, faces = sb_loaders.load_mesh(path)
        np.testing.assert_array_equal(vertices, mesh.vertices)
        np.testing.assert_array_equal(faces, mesh.faces)


def test_why_vtk_is_written_as_polydata(tmp_path: Path) -> None:
    """meshio's UNSTRUCTURED_GRID comes back renumbered through spectralbrain's loader (extract_surface)."""
    mesh = conversion.read(str(NILEARN / "pial_left.gii.gz"))
    path = tmp_path / "grid.vtk"
    conversion.write(mesh, str(path), dataset="unstructured_grid")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyvista announces a change of extract_surface's default
        vertices, _ = sb_loaders.load_mesh(path)
    assert vertices.shape == mesh.vertices.shape and not np.array_equal(vertices, mesh.vertices)


# ---- what the peers write, read by the hub ----


@pytest.mark.parametrize("fmt", MESH_EXTENSIONS)
def test_spectralbrain_save_mesh_output_reads_equal(tmp_path: Path, fmt: str) -> None:
    mesh = _mesh()
    path = tmp_path / f"sb.{fmt}"
    sb_export.save_mesh(path, mesh.vertices, mesh.faces, allow_vertex_reorder=True)
    got = conversion.read(str(path))
    # VTK writes float32 coordinates to PLY and STL
    expected = mesh.vertices.astype(np.float32) if fmt in ("ply", "stl") else mesh.vertices
    if fmt == "stl":  # a soup: the same triangles, vertices numbered by first use
        np.testing.assert_array_equal(got.vertices[got.faces], expected[mesh.faces])
    else:
        np.testing.assert_array_equal(got.vertices, expected)
        np.testing.assert_array_equal(got.faces, mesh.faces)
    if fmt == "ply":  # VTK adds point normals
        assert [column.name for column in got.vertex_data] == ["nx", "ny", "nz"]
    assert main(["validate", str(path)]) == 0


def test_vtp_in_every_encoding_vtk_writes(tmp_path: Path) -> None:
    import pyvista as pv
    import vtk

    mesh = _mesh()
    surface = pv.PolyData(mesh.vertices, np.column_stack([np.full(len(mesh.faces), 3), mesh.faces]).ravel())
    for column in mesh.vertex_data:
        surface.point_data[column.name] = column.values
    surface.cell_data["face_area"] = np.arange(len(mesh.faces), dtype=float)
    index = 0
    for mode in ("Ascii", "Binary", "Appended"):
        for compressor in ("None", "ZLib", "LZMA"):
            for header in ("UInt32", "UInt64"):
                for order in ("LittleEndian", "BigEndian"):
                    for encode in (False, True):
                        if (mode != "Appended" and encode) or (mode == "Ascii" and compressor != "None"):
                            continue
                        writer = vtk.vtkXMLPolyDataWriter()
                        path = tmp_path / f"vtk{index}.vtp"
                        index += 1
                        writer.SetFileName(str(path))
                        writer.SetInputData(surface)
                        getattr(writer, f"SetDataModeTo{mode}")()
                        getattr(writer, f"SetCompressorTypeTo{compressor}")()
                        getattr(writer, f"SetHeaderTypeTo{header}")()
                        getattr(writer, f"SetByteOrderTo{order}")()
                        writer.SetEncodeAppendedData(encode)
                        assert writer.Write() == 1
                        got = conversion.read(str(path))
                        where = f"{mode} {compressor} {header} {order} base64={encode}"
                        np.testing.assert_array_equal(got.vertices, mesh.vertices, err_msg=where)
                        np.testing.assert_array_equal(got.faces, mesh.faces, err_msg=where)
                        for column, back in zip(mesh.vertex_data, got.vertex_data, strict=True):
                            np.testing.assert_array_equal(back.values, column.values, err_msg=where)
                        assert got.metadata == {"ignored_on_read": {"face_data": ["face_area"]}}
    assert index == 40  # ascii 4, inline binary 12, appended (raw and base64) 24


@pytest.mark.parametrize("version", [42, 51])
@pytest.mark.parametrize("binary", [False, True])
def test_legacy_vtk_polydata_as_vtk_writes_it(tmp_path: Path, version: int, binary: bool) -> None:
    import pyvista as pv
    import vtk

    mesh = _mesh()
    surface = pv.PolyData(mesh.vertices, np.column_stack([np.full(len(mesh.faces), 3), mesh.faces]).ravel())
    surface.point_data["thickness"] = mesh.vertex_data[0].values
    surface.point_data.set_array(mesh.vertex_data[1].values, "labels")
    surface.point_data["normals"] = mesh.vertex_data[2].values
    surface.point_data.active_normals_name = "normals"
    surface.point_data["uv"] = np.zeros((len(mesh.vertices), 2))
    surface.point_data.active_texture_coordinates_name = "uv"
    surface.cell_data["face_value"] = np.arange(len(mesh.faces), dtype=float)
    surface.field_data["note"] = np.arange(3.0)
    writer = vtk.vtkPolyDataWriter()
    path = tmp_path / "surface.vtk"
    writer.SetFileName(str(path))
    writer.SetInputData(surface)
    writer.SetFileVersion(version)
    (writer.SetFileTypeToBinary if binary else writer.SetFileTypeToASCII)()
    assert writer.Write() == 1
    got = conversion.read(str(path))
    precise = binary  # VTK's ASCII legacy writer prints about 11 significant digits
    compare = np.testing.assert_array_equal if precise else np.testing.assert_allclose
    compare(got.vertices, mesh.vertices)
    np.testing.assert_array_equal(got.faces, mesh.faces)
    data = {column.name: column.values for column in got.vertex_data}
    assert set(data) == {"thickness", "labels", "normals", "uv"}
    compare(data["thickness"], mesh.vertex_data[0].values)
    np.testing.assert_array_equal(data["labels"], mesh.vertex_data[1].values)
    assert data["uv"].shape == (len(mesh.vertices), 2)
    assert got.metadata["ignored_on_read"] == {"face_data": ["face_value"], "field_data": ["note"]}
