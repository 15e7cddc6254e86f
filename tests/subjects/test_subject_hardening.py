"""lacuna's idioms and the files the hub writes for lacuna, read back: SubjectData.from_nifti on the class,
parcel tables of BIDS derivatives (told from other .tsv tables by their columns), folders created."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line
from subject_helpers import results, write_mask

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode, UsageError

REPO = Path(__file__).resolve().parents[2]


def test_subject_data_from_nifti_as_lacuna_writes_it(tmp_path: Path) -> None:
    from neurodatahub.compat.lacuna import SubjectData, export_results_to_csv
    from neurodatahub.models import SubjectData as SchemaSubjectData

    mask = write_mask(tmp_path / "sub-01_label-infarct_mask.nii.gz")
    lesion = SubjectData.from_nifti(mask)  # lacuna's API page: SubjectData.from_nifti("lesion.nii.gz")
    assert isinstance(lesion, SubjectData) and isinstance(lesion, SchemaSubjectData)
    assert lesion.subject_metadata.subject_id == "sub-01" and lesion.mask.space == "MNI152NLin6Asym"
    conversion.write(lesion, str(tmp_path / "subject.json"))  # written as the schema's class
    assert conversion.read(str(tmp_path / "subject.json")).model_dump_json() == lesion.model_dump_json()
    lesion.results = results()  # validated on assignment, with the schema's invariants
    with pytest.raises(ValueError, match="unique by"):
        lesion.results = [*results(), results()[0]]
    table = export_results_to_csv(lesion, tmp_path / "results.csv")
    assert "RegionalDamage.atlas-Schaefer100_desc-damage.Vis_1" in table.read_text().splitlines()[0]


def test_the_readmes_bids_example_creates_its_folders_and_reads_back(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # restored before tmp_path is removed (it is, for passing tests)
    code, _, err = hub(capsys, "subject", "bids", str(REPO / "examples" / "subject.json"), "-o",
                       "derivatives/neurodatahub")  # fmt: skip
    assert code == 0, err
    tables = sorted(Path("derivatives/neurodatahub").rglob("*_parcelstats.tsv"))
    assert tables
    for table in tables:
        code, out, err = hub(capsys, "info", str(table), "--json")
        assert code == 0 and '"kind": "parcels"' in out and '"class": "ParcelData"' in out, err
        code, out, _ = hub(capsys, "validate", str(table))
        assert code == 0 and out.startswith("ok ")
    parcels = conversion.read(str(tables[0]))
    assert parcels.metadata == {"Namespace": "RegionalDamage", "Key": "atlas-Schaefer100"}
    assert parcels.atlas == "Schaefer2018_100Parcels7Networks" and parcels.aggregation_method == "percent"


def test_parcel_tables_round_trip_with_missing_values(tmp_path: Path) -> None:
    from neurodatahub.models import ParcelData

    parcels = ParcelData(
        name="damage", atlas="Schaefer100", aggregation_method="mean", region_labels=["a", "b", "c"],
        values=np.array([0.1 + 0.2, np.nan, -3.0]), metadata={"note": "kept"},
    )  # fmt: skip
    target = tmp_path / "p_parcelstats.tsv"
    conversion.write(parcels, str(target))
    assert target.read_text() == "region\tvalue\na\t0.30000000000000004\nb\tn/a\nc\t-3.0\n"
    back = conversion.read(str(target))
    np.testing.assert_array_equal(back.values, parcels.values)
    assert back.model_dump(exclude={"values"}) == parcels.model_dump(exclude={"values"})


def test_a_table_two_kinds_read_needs_kind(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    table = tmp_path / "one.tsv"  # a 1 x 1 labelled matrix, or a parcel table of one region
    table.write_text("region\tvalue\nvalue\t0.5\n")
    code, _, err = hub(capsys, "info", str(table))
    assert code == ExitCode.USAGE
    assert one_line(err).endswith("reads as connectivity and as parcels data; say which with --kind KIND")
    with pytest.raises(UsageError, match="say which with kind=KIND"):
        conversion.read(str(table))
    assert type(conversion.read(str(table), kind="parcels")).__name__ == "ParcelData"
    code, out, _ = hub(capsys, "info", str(table), "--kind", "connectivity", "--json")
    assert code == 0 and '"class": "ConnectivityMatrix"' in out
    code, out, err = hub(capsys, "validate", str(table), "--kind", "bogus")
    assert code == ExitCode.USAGE and out == "" and "unknown kind 'bogus'; kinds: " in one_line(err)


def _native(tmp_path: Path, name: str, sizes: tuple[float, float, float]) -> Path:
    """A native-space mask as scanners write them: voxel sizes per axis, no template grid."""
    from subject_helpers import lesion

    return write_mask(tmp_path / name, lesion((40, 40, 30)), np.diag([*sizes, 1.0]))


@pytest.mark.parametrize("sizes", [(0.94, 0.94, 1.2), (0.977, 0.977, 1.0)])
def test_anisotropic_masks_keep_their_voxel_sizes(
    capsys: pytest.CaptureFixture, tmp_path: Path, sizes: tuple[float, float, float]
) -> None:
    from neurodatahub.compat.lacuna import SubjectData

    path = _native(tmp_path, "sub-02_space-T1w_label-infarct_mask.nii.gz", sizes)
    subject = SubjectData.from_nifti(path)
    meta = subject.subject_metadata
    assert meta.resolution is None and subject.mask.resolution is None  # never 0.984 mm
    np.testing.assert_allclose(meta.voxel_sizes, sizes, atol=1e-6)
    code, out, err = hub(capsys, "info", str(path), "--json")
    assert code == 0, err
    assert f'"voxel_sizes_mm": [\n    {sizes[0]},' in out and '"isotropic": false' in out
    code, _, err = hub(capsys, "subject", "bids", str(path), "-o", str(tmp_path / "derivatives"))
    assert code == 0, err
    (exported,) = (tmp_path / "derivatives").rglob("*_mask.nii.gz")
    assert "_res-" not in exported.name
    back = SubjectData.from_nifti(exported)
    np.testing.assert_allclose(back.subject_metadata.voxel_sizes, sizes, atol=1e-6)
    assert back.subject_metadata.resolution is None


def test_isotropic_grids_and_stated_resolutions_keep_one_number(tmp_path: Path) -> None:
    from neurodatahub.compat.lacuna import SubjectData

    mni = SubjectData.from_nifti(write_mask(tmp_path / "sub-01_mask.nii.gz"))
    assert mni.subject_metadata.resolution == 2.0 and mni.subject_metadata.voxel_sizes.tolist() == [2, 2, 2]
    stated = _native(tmp_path, "sub-03_space-T1w_res-1_mask.nii.gz", (0.977, 0.977, 1.0))
    subject = SubjectData.from_nifti(stated)  # lacuna's rule: a stated size within 0.1 mm of every axis
    assert subject.subject_metadata.resolution == 1.0
    np.testing.assert_allclose(subject.subject_metadata.voxel_sizes, [0.977, 0.977, 1.0], atol=1e-6)


def test_voxel_sizes_must_be_the_affines(tmp_path: Path) -> None:
    from pydantic import ValidationError
    from subject_helpers import lesion

    from neurodatahub.models import LesionMask

    with pytest.raises(ValidationError, match=r"voxel_sizes \[1.0, 1.0, 1.0\] mm differ from the affine's"):
        LesionMask(
            data=lesion((5, 5, 5), np.float32),
            affine=np.diag([0.94, 0.94, 1.2, 1.0]),
            voxel_sizes=[1.0, 1.0, 1.0],
        )
