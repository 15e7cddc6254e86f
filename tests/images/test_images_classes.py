"""A NIfTI is a mask, a scalar map, a parcellation, a series or a plain volume: the caller's class, else the
BIDS suffix, else the header decide, and `--class` is honoured by info, validate, convert (one file or many)
and preview."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from image_helpers import MNI_2MM, OBLIQUE, labels, mask, save_nifti, scalar, series, write_lut

from neurodatahub.cli import main
from neurodatahub.core.conversion import read
from neurodatahub.core.errors import ExitCode

DOCUMENTS = Path(__file__).resolve().parent.parent / "data"


@pytest.mark.parametrize(
    ("name", "data", "intent", "expected"),
    [
        ("sub-01_label-infarct_mask.nii.gz", mask(), None, "LesionMask"),
        ("sub-01_atlas-Toy_dseg.nii.gz", labels(), None, "Parcellation"),
        ("sub-01_task-rest_bold.nii.gz", series(), None, "ImageSeries"),
        ("sub-01_FA.nii.gz", scalar(), None, "VoxelMap"),
        ("sub-01_model-dti_param-fa_dwimap.nii.gz", scalar(), None, "VoxelMap"),
        ("sub-01_stat-t_statmap.nii.gz", scalar(), None, "VoxelMap"),
        ("sub-01_T1w.nii.gz", series(), None, "ImageVolume"),  # the suffix beats the 4D header
        ("atlas.nii.gz", labels(), "label", "Parcellation"),
        ("zmap.nii", scalar(), "z score", "VoxelMap"),
        ("run.nii", series(), None, "ImageSeries"),
        ("anatomy.nii.gz", labels(), None, "ImageVolume"),  # integers alone make no parcellation
        ("one_volume.nii.gz", scalar()[..., None], None, "ImageVolume"),
    ],
)
def test_class_from_suffix_then_header(
    tmp_path: Path, name: str, data: np.ndarray, intent: str | None, expected: str
) -> None:
    affine = MNI_2MM if expected == "LesionMask" else OBLIQUE  # a lesion mask needs one voxel size
    model = read(str(save_nifti(tmp_path / name, data, affine, intent=intent)))
    assert type(model).__name__ == expected
    assert np.array_equal(model.data.reshape(data.shape), data)


def test_the_callers_class_beats_suffix_and_header(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = save_nifti(tmp_path / "sub-01_mask.nii.gz", scalar(), MNI_2MM)  # not binary: invalid as a mask
    assert main(["validate", str(path)]) == ExitCode.INVALID
    assert "a lesion mask must be binary" in capsys.readouterr().out
    assert main(["validate", str(path), "--class", "VoxelMap"]) == 0
    assert "VoxelMap" in capsys.readouterr().out
    assert main(["info", str(path), "--class", "VoxelMap", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["kind"], info["class"], info["name"]) == ("scalar-map", "VoxelMap", "mask")
    assert type(read(str(path), class_name="ImageVolume")).__name__ == "ImageVolume"
    out = tmp_path / "as_map.ome.zarr"
    assert main(["convert", str(path), str(out), "--class", "VoxelMap"]) == 0
    assert type(read(str(out))).__name__ == "VoxelMap"  # the class rides in the OME-Zarr metadata


def test_the_callers_class_reaches_batch_convert_and_preview(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for subject in ("01", "02"):
        save_nifti(tmp_path / "in" / f"sub-{subject}_mask.nii.gz", scalar(), MNI_2MM)  # maps named masks
    template = str(tmp_path / "out" / "{stem}.ome.zarr")
    assert main(["convert", str(tmp_path / "in"), template, "--jobs", "1"]) == ExitCode.INVALID
    assert "2 failed" in capsys.readouterr().out
    assert main(["convert", str(tmp_path / "in"), template, "--jobs", "1", "--class", "VoxelMap"]) == 0
    assert "2 converted" in capsys.readouterr().out
    attributes = json.loads((tmp_path / "out" / "sub-02_mask.ome.zarr" / ".zattrs").read_text())
    assert attributes["neurodatahub"]["class"] == "VoxelMap"  # the name, saying mask, wins on reading
    picture = tmp_path / "look.png"
    source = str(tmp_path / "in" / "sub-01_mask.nii.gz")
    assert main(["preview", source, "-o", str(picture)]) == ExitCode.INVALID
    assert "a lesion mask must be binary" in capsys.readouterr().err
    assert main(["preview", source, "-o", str(picture), "--class", "VoxelMap"]) == 0
    assert picture.read_bytes()[:4] == b"\x89PNG"


def test_class_of_another_kind_or_unknown_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = save_nifti(tmp_path / "sub-01_FA.nii.gz", scalar())
    assert main(["validate", str(path), "--class", "SpikeData"]) == ExitCode.USAGE
    assert "does not hold SpikeData" in capsys.readouterr().out
    assert main(["info", str(path), "--class", "Nope"]) == ExitCode.USAGE
    assert "option class_name must be one of" in capsys.readouterr().err


def test_project_documents_validate_as_their_class(capsys: pytest.CaptureFixture) -> None:
    """The plain volume document is an ImageVolume (it was once taken for a lesion mask and refused)."""
    names = ["ImageVolume.yaml", "VoxelMap.yaml", "Parcellation.yaml", "ImageSeries.yaml", "LesionMask.json"]
    assert main(["validate", *(str(DOCUMENTS / "valid" / name) for name in names)]) == 0
    out = capsys.readouterr().out
    assert "(yaml, ImageVolume)" in out and "(yaml, Parcellation)" in out and "(yaml, ImageSeries)" in out


def test_parcellation_takes_the_lut_beside_it_or_named(tmp_path: Path) -> None:
    image = save_nifti(tmp_path / "sub-01_atlas-Toy_dseg.nii.gz", labels(count=4))
    assert read(str(image)).lut is None
    named = write_lut(tmp_path / "elsewhere.tsv")
    assert [region.name for region in read(str(image), lut=str(named)).lut.regions][:2] == [
        "LH_region1",
        "RH_region2",
    ]
    write_lut(tmp_path / "sub-01_atlas-Toy_dseg.tsv")
    found = read(str(image)).lut
    assert (found.atlas_name, len(found.regions), found.regions[0].hemisphere) == ("Toy", 4, "L")


@pytest.mark.parametrize(
    ("name", "data", "lut_rows", "message"),
    [
        ("sub-01_dseg.nii.gz", scalar(), 0, "integer labels"),
        ("sub-01_dseg.nii.gz", labels(count=4), 3, "labels 4 are not in the lookup table"),
        ("sub-01_dseg.nii.gz", -labels(count=2), 0, "0 (background) or positive"),
        ("sub-01_bold.nii.gz", scalar(), 0, "a series is 4D"),
        ("sub-01_FA.nii.gz", series().astype(np.float32), 0, "one value per voxel"),
    ],
)
def test_invariants_of_each_class_are_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture, name: str, data: np.ndarray, lut_rows: int, message: str
) -> None:
    path = save_nifti(tmp_path / name, data)
    if lut_rows:
        write_lut(tmp_path / name.replace(".nii.gz", ".tsv"), lut_rows)
    assert main(["validate", str(path)]) == ExitCode.INVALID
    assert message in capsys.readouterr().out


def test_space_settles_from_the_template_grid_and_the_name(tmp_path: Path) -> None:
    on_grid = np.zeros((91, 109, 91), np.float32)
    model = read(str(save_nifti(tmp_path / "sub-01_FA.nii.gz", on_grid, MNI_2MM)))
    assert (model.space, model.resolution) == ("MNI152NLin6Asym", 2.0)
    named = read(str(save_nifti(tmp_path / "sub-01_space-MNI152NLin2009cAsym_FA.nii.gz", scalar())))
    assert named.space == "MNI152NLin2009cAsym" and named.resolution is None  # oblique voxels: no single size
