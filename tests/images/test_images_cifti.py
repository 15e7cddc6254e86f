"""CIFTI-2 dense scalar, label and series files made by nibabel: read into their classes, written back,
read by nibabel equal; a dlabel file is a parcellation with its tables; Tian 2020's subcortical dscalar
layout (voxel structures only, labels stored as scalars) reads; bad input; S3."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nibabel import cifti2

from neurodatahub.cli import main
from neurodatahub.core.conversion import convert, read
from neurodatahub.core.errors import ExitCode

AFFINE = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
VOLUME = (91, 109, 91)


def brain_models() -> cifti2.BrainModelAxis:
    thalamus = np.zeros(VOLUME, bool)
    thalamus[40:43, 50:52, 30:32] = True
    return cifti2.BrainModelAxis.from_surface(
        np.array([0, 3, 5, 9, 31]), 40, "CortexLeft"
    ) + cifti2.BrainModelAxis.from_mask(thalamus, "ThalamusLeft", AFFINE)


def save(path: Path, rows: cifti2.Axis, data: np.ndarray, columns: cifti2.Axis | None = None) -> Path:
    nib.save(cifti2.Cifti2Image(data, cifti2.Cifti2Header.from_axes((rows, columns or brain_models()))), path)
    return path


def test_dscalar_round_trip_and_nibabel_reads_ours(tmp_path: Path) -> None:
    columns = brain_models()
    data = np.random.default_rng(0).random((2, len(columns))).astype(np.float32)
    source = save(
        tmp_path / "thickness.dscalar.nii", cifti2.ScalarAxis(["thickness", "curvature"]), data, columns
    )
    model = read(str(source), space="fsLR")
    assert type(model).__name__ == "GrayordinateMaps" and model.map_names == ["thickness", "curvature"]
    assert [(bm.structure, bm.model_type, bm.index_count) for bm in model.brain_models] == [
        ("CIFTI_STRUCTURE_CORTEX_LEFT", "surface", 5),
        ("CIFTI_STRUCTURE_THALAMUS_LEFT", "voxels", 12),
    ]
    assert list(model.volume.shape) == list(VOLUME) and np.allclose(model.volume.affine, AFFINE)
    convert(str(source), str(tmp_path / "out.dscalar.nii"), read_options={"space": "fsLR"})
    theirs = nib.load(tmp_path / "out.dscalar.nii")
    assert np.array_equal(theirs.get_fdata(dtype=np.float32), data)
    assert theirs.header.get_axis(1) == columns and list(theirs.header.get_axis(0).name) == [
        "thickness",
        "curvature",
    ]
    assert read(str(tmp_path / "out.dscalar.nii")).space == "fsLR"  # kept in the matrix metadata


def test_dlabel_is_a_parcellation_with_its_tables(tmp_path: Path) -> None:
    columns = brain_models()
    table = {
        0: ("???", (0.0, 0.0, 0.0, 0.0)),
        1: ("L_V1", (1.0, 0.0, 0.0, 1.0)),
        2: ("L_thalamus", (0.0, 0.5, 0.0, 1.0)),
    }
    labels = np.array([[1, 1, 2, 0, 1] + [2] * 12])
    source = save(tmp_path / "atlas.dlabel.nii", cifti2.LabelAxis(["Toy"], [table]), labels, columns)
    model = read(str(source))
    assert type(model).__name__ == "GrayordinateParcellation"
    regions = model.label_tables[0].regions
    assert [(r.index, r.name, r.hemisphere, r.color.tolist()) for r in regions] == [
        (1, "L_V1", "L", [255, 0, 0, 255]),
        (2, "L_thalamus", "L", [0, 128, 0, 255]),
    ]
    convert(str(source), str(tmp_path / "out.dlabel.nii"))
    theirs = nib.load(tmp_path / "out.dlabel.nii")
    assert np.array_equal(np.asarray(theirs.dataobj), labels)
    assert theirs.header.get_axis(0).label[0][1] == ("L_V1", (1.0, 0.0, 0.0, 1.0))
    assert main(["convert", str(source), str(tmp_path / "plain.dscalar.nii"), "--strict"]) == ExitCode.LOSS


def test_dtseries_keeps_its_series_axis(tmp_path: Path) -> None:
    columns = brain_models()
    data = np.random.default_rng(1).random((7, len(columns))).astype(np.float32)
    source = save(tmp_path / "rest.dtseries.nii", cifti2.SeriesAxis(0.0, 0.72, 7), data, columns)
    model = read(str(source))
    assert type(model).__name__ == "GrayordinateSeries" and (model.series_step, model.series_unit) == (
        0.72,
        "SECOND",
    )
    convert(str(source), str(tmp_path / "out.dtseries.nii"))
    theirs = nib.load(tmp_path / "out.dtseries.nii").header.get_axis(0)
    assert (theirs.start, theirs.step, theirs.size) == (0.0, pytest.approx(0.72), 7)


def test_tian_subcortex_dscalar_layout_reads(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Tian 2020's 32k files: subcortical voxel structures only, parcel numbers stored as scalars."""
    structures = [
        "CIFTI_STRUCTURE_ACCUMBENS_LEFT",
        "CIFTI_STRUCTURE_PUTAMEN_RIGHT",
        "CIFTI_STRUCTURE_THALAMUS_LEFT",
    ]
    columns = None
    for number, name in enumerate(structures):
        region = np.zeros(VOLUME, bool)
        region[30 + 10 * number : 33 + 10 * number, 50:53, 30:32] = True
        part = cifti2.BrainModelAxis.from_mask(region, name, AFFINE)
        columns = part if columns is None else columns + part
    values = np.repeat(np.arange(1, 4, dtype=np.float32), 18)[None]
    path = save(
        tmp_path / "Tian_Subcortex_S1_3T_32k.dscalar.nii", cifti2.ScalarAxis(["Tian_S1"]), values, columns
    )
    assert main(["info", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"kind": "grayordinates"' in out and '"voxels": 54' in out and "ACCUMBENS_LEFT" in out
    assert main(["validate", str(path)]) == 0


def test_bad_cifti(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = save(
        tmp_path / "x.dscalar.nii", cifti2.ScalarAxis(["a"]), np.ones((1, len(brain_models())), np.float32)
    )
    truncated = tmp_path / "truncated.dscalar.nii"
    truncated.write_bytes(source.read_bytes()[:900])
    assert main(["info", str(truncated)]) == ExitCode.USAGE
    assert capsys.readouterr().err.startswith("hub: error: ")
    assert main(["info", str(source), "--class", "GrayordinateParcellation"]) == ExitCode.USAGE


def test_cifti_on_s3(tmp_path: Path, s3_bucket: str) -> None:
    columns = brain_models()
    data = np.arange(2 * len(columns), dtype=np.float32).reshape(2, -1)
    source = save(tmp_path / "maps.dscalar.nii", cifti2.ScalarAxis(["a", "b"]), data, columns)
    convert(str(source), f"{s3_bucket}/cifti/maps.dscalar.nii")
    assert np.array_equal(read(f"{s3_bucket}/cifti/maps.dscalar.nii").data, data)
