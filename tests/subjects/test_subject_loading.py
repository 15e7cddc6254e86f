"""SubjectData from masks: identity from BIDS names, space and resolution from every source, bad masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from subject_helpers import MNI6_2MM_SHAPE, lesion, mni6_2mm, write_mask

from neurodatahub.core.errors import InputError, InvalidDataError
from neurodatahub.core.imaging.spaces import SpaceUnknownError, detect_space
from neurodatahub.subjects.bids import BidsError
from neurodatahub.subjects.loading import from_nifti, load_bids_dataset


def test_identity_space_and_resolution_from_a_bids_mask_on_a_template_grid(tmp_path: Path) -> None:
    path = write_mask(tmp_path / "sub-CAS001_ses-01_label-acuteinfarct_mask.nii.gz")
    subject = from_nifti(str(path))
    meta = subject.subject_metadata
    assert (meta.subject_id, meta.session_id) == ("sub-CAS001", "ses-01")
    assert (meta.space, meta.resolution) == ("MNI152NLin6Asym", 2.0)
    assert meta.entities == {"label": "acuteinfarct"}
    assert meta.source == str(path)
    assert np.array_equal(subject.mask.data, lesion())
    assert np.allclose(subject.mask.affine, mni6_2mm())
    (record,) = subject.provenance
    assert record.function == "neurodatahub.subjects.from_nifti"
    assert record.inputs[0].checksum_algorithm == "xxh3_128"


def test_subject_defaults_to_unknown_and_folders_give_the_session(tmp_path: Path) -> None:
    assert (
        from_nifti(str(write_mask(tmp_path / "lesion.nii.gz"))).subject_metadata.subject_id == "sub-unknown"
    )
    nested = write_mask(tmp_path / "sub-02" / "ses-pre" / "anat" / "lesion_mask.nii")
    meta = from_nifti(str(nested)).subject_metadata
    assert (meta.subject_id, meta.session_id) == ("sub-02", "ses-pre")


def test_metadata_overrides_the_file_name(tmp_path: Path) -> None:
    path = write_mask(tmp_path / "sub-01_mask.nii.gz")
    meta = from_nifti(str(path), metadata={"subject_id": "sub-X9", "session_id": "ses-2"}).subject_metadata
    assert (meta.subject_id, meta.session_id) == ("sub-X9", "ses-2")


@pytest.mark.parametrize(
    ("shape", "zooms", "origin", "space"),
    [
        ((91, 109, 91), (-2, 2, 2), (90, -126, -72), "MNI152NLin6Asym"),
        ((97, 115, 97), (2, 2, 2), (-96, -132, -78), "MNI152NLin2009cAsym"),
        ((197, 233, 189), (1, 1, 1), (-98, -134, -72), None),  # 2009a and 2009c share this grid
        ((10, 10, 10), (2, 2, 2), (0, 0, 0), None),
    ],
)
def test_space_detection_from_the_grid(shape: tuple, zooms: tuple, origin: tuple, space: str | None) -> None:
    affine = np.diag([*zooms, 1.0])
    affine[:3, 3] = origin
    assert detect_space(shape, affine) == space


def test_space_from_the_argument_the_name_or_the_sidecar_when_the_grid_is_unknown(tmp_path: Path) -> None:
    small = lesion((12, 12, 12))
    plain = write_mask(tmp_path / "a" / "sub-01_mask.nii.gz", small)
    with pytest.raises(SpaceUnknownError, match="cannot tell the coordinate space"):
        from_nifti(str(plain))
    assert from_nifti(str(plain), space="MNI152NLin2009cAsym").subject_metadata.space == "MNI152NLin2009cAsym"
    named = write_mask(tmp_path / "b" / "sub-01_space-MNI152NLin2009bAsym_mask.nii.gz", small)
    assert from_nifti(str(named)).subject_metadata.space == "MNI152NLin2009bAsym"
    sidecar = write_mask(tmp_path / "c" / "sub-01_mask.nii.gz", small, sidecar={"Space": "MNI152NLin6Asym"})
    assert from_nifti(str(sidecar)).subject_metadata.space == "MNI152NLin6Asym"


@pytest.mark.parametrize(
    ("name", "kwargs", "sidecar"),
    [
        ("sub-01_mask.nii.gz", {"space": "MNI152NLin2009cAsym"}, None),  # argument vs grid
        ("sub-01_space-MNI152NLin2009cAsym_mask.nii.gz", {}, None),  # file name vs grid
        ("sub-01_mask.nii.gz", {"metadata": {"space": "MNI152NLin2009aAsym"}}, None),  # metadata vs grid
        ("sub-01_mask.nii.gz", {}, {"Space": "MNI152NLin2009cAsym"}),  # sidecar vs grid
    ],
)
def test_a_space_disagreement_is_an_error(tmp_path: Path, name: str, kwargs: dict, sidecar: dict) -> None:
    path = write_mask(tmp_path / name, sidecar=sidecar)
    with pytest.raises(InvalidDataError, match=r"ambiguous: .*MNI152NLin6Asym"):
        from_nifti(str(path), **kwargs)


def test_resolution_sources_and_the_tolerance(tmp_path: Path) -> None:
    path = write_mask(tmp_path / "sub-01_res-2_mask.nii.gz", sidecar={"Resolution": "2 mm isotropic"})
    assert from_nifti(str(path)).subject_metadata.resolution == 2.0
    assert from_nifti(str(path), resolution=2.05).subject_metadata.resolution == 2.05  # within 0.1 mm
    with pytest.raises(InvalidDataError, match=r"the argument says the resolution is 2.2 mm"):
        from_nifti(str(path), resolution=2.2)
    off = write_mask(tmp_path / "sub-02_res-1_mask.nii.gz")
    with pytest.raises(InvalidDataError, match=r"the file name says the resolution is 1\.0 mm"):
        from_nifti(str(off))
    sidecar = write_mask(tmp_path / "sub-03_mask.nii.gz", sidecar={"Resolution": 1.5})
    with pytest.raises(InvalidDataError, match="the sidecar says"):
        from_nifti(str(sidecar))


def test_anisotropic_voxels_have_no_resolution(tmp_path: Path) -> None:
    affine = np.diag([1.0, 1.0, 3.0, 1.0])
    path = write_mask(tmp_path / "sub-01_mask.nii.gz", lesion((20, 20, 20)), affine)
    subject = from_nifti(str(path), space="MNI152NLin6Asym")
    assert subject.subject_metadata.resolution is None and subject.mask.resolution is None
    assert subject.subject_metadata.voxel_sizes.tolist() == [1.0, 1.0, 3.0]


def test_a_4d_mask_with_one_volume_is_3d(tmp_path: Path) -> None:
    path = write_mask(tmp_path / "sub-01_mask.nii.gz", lesion()[..., np.newaxis])
    assert from_nifti(str(path)).mask.data.shape == MNI6_2MM_SHAPE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lesion(dtype=np.float32) * 0.5, "binary"),
        (np.zeros(MNI6_2MM_SHAPE, np.uint8), "empty"),
        (np.stack([lesion(), lesion()], axis=-1), "3D"),
    ],
)
def test_bad_masks_are_invalid(tmp_path: Path, data: np.ndarray, message: str) -> None:
    path = write_mask(tmp_path / "sub-01_mask.nii.gz", data)
    with pytest.raises(InvalidDataError, match=message):
        from_nifti(str(path))


def test_a_truncated_nifti_is_unreadable(tmp_path: Path) -> None:
    path = write_mask(tmp_path / "sub-01_mask.nii.gz")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match="not a readable NIfTI"):
        from_nifti(str(path))


def _dataset(root: Path) -> Path:
    for subject, session, label in [
        ("CAS001", "01", "acuteinfarct"),
        ("CAS001", "02", "WMH"),
        ("CAS002", "01", "acuteinfarct"),
    ]:
        write_mask(
            root
            / f"sub-{subject}"
            / f"ses-{session}"
            / "anat"
            / f"sub-{subject}_ses-{session}_label-{label}_mask.nii.gz"
        )
    write_mask(root / "sub-CAS003" / "anat" / "sub-CAS003_label-acuteinfarct_mask.nii")
    return root


def test_load_bids_dataset_with_lacunas_parameters(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "bids")
    everything = load_bids_dataset(str(root))
    assert sorted(everything) == [
        "sub-CAS001_ses-01_label-acuteinfarct",
        "sub-CAS001_ses-02_label-WMH",
        "sub-CAS002_ses-01_label-acuteinfarct",
    ]
    assert everything["sub-CAS001_ses-02_label-WMH"].subject_metadata.session_id == "ses-02"
    assert list(load_bids_dataset(str(root), pattern="*CAS001*ses-01*acuteinfarct*")) == [
        "sub-CAS001_ses-01_label-acuteinfarct"
    ]
    assert sorted(load_bids_dataset(str(root), subjects=["CAS002"])) == [
        "sub-CAS002_ses-01_label-acuteinfarct"
    ]
    assert list(load_bids_dataset(str(root), suffix="_mask.nii")) == ["sub-CAS003_label-acuteinfarct"]
    with pytest.raises(BidsError, match="no file matches"):
        load_bids_dataset(str(root), recursive=False)
    anat = root / "sub-CAS001" / "ses-01" / "anat"
    assert len(load_bids_dataset(str(anat), recursive=False, space="MNI152NLin6Asym", resolution=2.0)) == 1
    with pytest.raises(InputError, match="no such file"):
        load_bids_dataset(str(tmp_path / "missing"))


def test_load_bids_dataset_skips_masks_whose_space_nothing_tells(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "bids")
    write_mask(root / "sub-CAS004" / "anat" / "sub-CAS004_label-x_mask.nii.gz", lesion((12, 12, 12)))
    with pytest.warns(UserWarning, match="skipped: .*sub-CAS004"):
        loaded = load_bids_dataset(str(root))
    assert len(loaded) == 3
