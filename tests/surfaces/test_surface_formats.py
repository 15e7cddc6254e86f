"""Surface formats in the registry: detection by content first, the summary hub info prints, names and
headers that travel, and documents converted to every surface format."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import meshio
import nibabel as nib
import numpy as np
import pytest
from conftest import DOCUMENTS

from neurodatahub.cli import main
from neurodatahub.core import conversion
from neurodatahub.core.errors import InputError
from neurodatahub.core.registry import all_formats, detect_format, target_format
from neurodatahub.models import SurfaceMesh

TETRA = SurfaceMesh(
    vertices=np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [5, 5, 5]], dtype=np.float64),
    faces=np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3], [1, 1, 2]]),
)


def _written(folder: Path, name: str, fmt: str, **options: object) -> Path:
    path = folder / name
    conversion.write(TETRA, str(path), format=fmt, **options)
    return path


def test_surface_formats_are_registered_with_their_options(capsys: pytest.CaptureFixture) -> None:
    surfaces = {spec.name: spec for spec in all_formats() if spec.kind == "surface"}
    assert set(surfaces) == {
        "gifti", "gifti-func", "freesurfer", "freesurfer-morph", "mgh-overlay",
        "ply", "obj", "stl", "vtk", "vtp",
    }  # fmt: skip
    assert surfaces["freesurfer"].write is not None and surfaces["mgh-overlay"].reads_option("geometry")
    assert surfaces["gifti-func"].reads_option("geometry")
    assert surfaces["stl"].writes_option("allow_vertex_reorder")
    assert main(["formats", "--kind", "surface", "--json"]) == 0
    assert {row["name"] for row in json.loads(capsys.readouterr().out)} == set(surfaces)
    for suffix, name in ((".surf.gii", "gifti"), (".func.gii", "gifti-func"), (".shape.gii", "gifti-func")):
        assert target_format(f"x{suffix}", kind="surface").name == name


def test_content_decides_over_a_misleading_name(tmp_path: Path) -> None:
    """Each file is written in one format under another format's extension (or none)."""
    cases = {
        "ply": _written(tmp_path, "is-ply.obj", "ply"),
        "obj": _written(tmp_path, "is-obj", "obj"),
        "vtp": _written(tmp_path, "is-vtp.vtk", "vtp"),
        "vtk": _written(tmp_path, "is-vtk.vtp", "vtk"),
        "stl": _written(tmp_path, "is-stl.ply", "stl", allow_vertex_reorder=True),
        "gifti": _written(tmp_path, "is-surface.func.gii", "gifti"),
    }
    cases["stl-text"] = _written(tmp_path, "is-text-stl.obj", "stl", ascii=True, allow_vertex_reorder=True)
    for expected, path in cases.items():
        assert detect_format(str(path)).name == expected.removesuffix("-text"), path.name
    # binary STL whose 80-byte header starts with "solid", as some exporters write
    binary = bytearray(cases["stl"].read_bytes())
    binary[:5] = b"solid"
    (tmp_path / "solid.bin").write_bytes(bytes(binary))
    assert detect_format(str(tmp_path / "solid.bin")).name == "stl"
    mesh = conversion.read(str(tmp_path / "solid.bin"))
    np.testing.assert_array_equal(mesh.vertices[mesh.faces], TETRA.vertices[TETRA.faces])


def test_gifti_kinds_told_apart_by_intents_even_gzipped(tmp_path: Path) -> None:
    conversion.write(TETRA, str(tmp_path / "m.surf.gii"))
    data = SurfaceMesh.model_validate(
        {**dict(TETRA), "vertex_data": [{"name": "a", "values": np.arange(5.0)}]}
    )
    conversion.write(data, str(tmp_path / "m.func.gii"))
    for name, expected in (("m.surf.gii", "gifti"), ("m.func.gii", "gifti-func")):
        packed = tmp_path / f"{name}.gz"
        packed.write_bytes(gzip.compress((tmp_path / name).read_bytes()))
        odd = tmp_path / f"odd-{expected}.gii"  # a plain .gii: only the intents tell
        odd.write_bytes((tmp_path / name).read_bytes())
        for path in (tmp_path / name, packed, odd):
            assert detect_format(str(path)).name == expected, path.name
    np.testing.assert_array_equal(conversion.read(str(tmp_path / "m.surf.gii.gz")).faces, TETRA.faces)


def test_other_vtk_datasets_are_not_surfaces(tmp_path: Path) -> None:
    path = tmp_path / "image.vtk"
    meshio.vtk.write(str(path), meshio.Mesh(TETRA.vertices, [("triangle", TETRA.faces)]), "4.2")
    path.write_bytes(path.read_bytes().replace(b"UNSTRUCTURED_GRID", b"STRUCTURED_POINTS"))
    assert detect_format(str(path)).name == "vtk"  # by its extension only: the content does not say surface
    with pytest.raises(InputError, match="STRUCTURED_POINTS dataset, not a surface"):
        conversion.read(str(path))


def test_info_summarises_geometry(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _written(tmp_path, "tetra.surf.gii", "gifti")
    assert main(["info", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "surface" and summary["format"] == "gifti"
    assert (summary["vertices"], summary["faces"]) == (5, 5)
    assert summary["bounding_box_min"] == [0.0, 0.0, 0.0] and summary["bounding_box_max"] == [5.0, 5.0, 5.0]
    assert summary["surface_area"] == pytest.approx(1.5 + np.sqrt(3) / 2)  # a unit tetrahedron's surface
    assert (summary["unused_vertices"], summary["degenerate_faces"]) == (1, 1)
    assert (summary["hemisphere"], summary["space"], summary["vertex_data"]) == (None, None, [])


def test_metadata_space_and_hemisphere_travel_through_gifti(tmp_path: Path) -> None:
    mesh = TETRA.model_copy(
        update={"metadata": {"subject": "sub-01", "runs": [1, 2]}, "space": "T1w", "hemisphere": "bilateral"}
    )
    assert conversion.write(mesh, str(tmp_path / "m.surf.gii")) == []
    back = conversion.read(str(tmp_path / "m.surf.gii"))
    assert (back.metadata, back.space, back.hemisphere) == (mesh.metadata, "T1w", "bilateral")
    points = nib.load(tmp_path / "m.surf.gii").darrays[0]
    assert nib.nifti1.xform_codes.niistring[points.coordsys.xformspace] == "NIFTI_XFORM_SCANNER_ANAT"
    assert points.meta["neurodatahub.space"] == "T1w"
    assert json.loads(nib.load(tmp_path / "m.surf.gii").meta["neurodatahub.metadata"]) == mesh.metadata


def test_the_schema_document_converts_to_every_surface_format(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    document = DOCUMENTS / "valid" / "SurfaceMesh.yaml"
    expected = conversion.read(str(document))
    for suffix in (".surf.gii", ".func.gii", ".ply", ".obj", ".stl", ".vtk", ".vtp"):
        target = tmp_path / f"doc{suffix}"
        assert main(["convert", str(document), str(target), "--report", str(tmp_path / "r.json")]) == 0
        report = json.loads((tmp_path / "r.json").read_text())
        assert report["counts"]["class"] == "SurfaceMesh" and report["counts"]["vertices"] == 4
        lost = {loss["field"] for loss in report.get("losses", [])}
        if suffix == ".surf.gii":
            assert lost == {"vertex_data.thickness"}
        if suffix in (".vtk", ".vtp", ".ply"):
            assert lost == {"space", "hemisphere", "vertex_data.thickness.unit"}
            got = conversion.read(str(target))
            np.testing.assert_array_equal(got.vertex_data[0].values, expected.vertex_data[0].values)
    capsys.readouterr()
    assert main(["convert", str(document), str(tmp_path / "strict.ply"), "--strict"]) == 3
    assert not (tmp_path / "strict.ply").exists()
