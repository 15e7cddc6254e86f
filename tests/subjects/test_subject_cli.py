"""`hub subject ...` end to end through `main`: outputs, one-line errors, exit codes, nothing left behind."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from subject_helpers import MNI6_2MM_SHAPE, lesion, mni6_2mm, official_errors, results, write_mask

from neurodatahub.cli import main
from neurodatahub.core.errors import ExitCode

SMALL = (12, 12, 12)  # JSON documents of a whole template grid are slow to schema-check


def masks(root: Path) -> list[str]:
    """Small masks whose space the BIDS name gives."""
    return [
        str(
            write_mask(
                root
                / f"sub-{label}"
                / "anat"
                / f"sub-{label}_space-MNI152NLin6Asym_label-stroke_mask.nii.gz",
                lesion(SMALL),
            )
        )
        for label in ("01", "02", "03")
    ]


def test_export_tables_and_bids_from_masks_and_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = masks(tmp_path / "bids")
    assert main(["convert", paths[0], str(tmp_path / "mask.json")]) == 0  # a LesionMask document
    assert main(["convert", str(tmp_path / "mask.json"), str(tmp_path / "back_mask.nii.gz")]) == 0
    back = nib.load(tmp_path / "back_mask.nii.gz")
    assert np.array_equal(np.asarray(back.dataobj), lesion(SMALL)) and np.allclose(back.affine, mni6_2mm())
    assert main(["subject", "provenance", paths[0], "-o", str(tmp_path / "prov.json")]) == 0
    assert (
        json.loads((tmp_path / "prov.json").read_text())[0]["function"] == "neurodatahub.subjects.from_nifti"
    )
    assert main(["subject", "bids", str(tmp_path / "bids"), "-o", str(tmp_path / "deriv")]) == 0
    assert "3 subject folder(s)" in capsys.readouterr().out
    assert official_errors(tmp_path / "deriv") == []
    assert main(["validate", str(tmp_path / "deriv")]) == 0
    assert main(["subject", "export", paths[0], "-o", str(tmp_path / "one.tsv")]) == ExitCode.USAGE
    assert capsys.readouterr().err.strip() == "hub: error: sub-01 has no results to export"
    assert not (tmp_path / "one.tsv").exists()


def test_export_of_subject_documents_as_a_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neurodatahub.core.conversion import write
    from neurodatahub.subjects.loading import from_nifti

    documents = []
    for index, path in enumerate(masks(tmp_path / "bids")[:2]):
        subject = from_nifti(path)
        subject.results = results(index)[:1] if index else results(index)[3:]
        if index:  # JSON documents cannot hold NaN (the schema wants numbers): a region with a value
            subject.results[0].parcel_data.values = np.array([0.5, 0.25, 1.0])
        documents.append(str(tmp_path / f"subject{index}.json"))
        write(subject, documents[-1])
    assert main(["subject", "export", *documents, "-o", str(tmp_path / "group.csv")]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'group.csv'} (2 subjects)"
    table = pd.read_csv(tmp_path / "group.csv")
    assert table["subject_id"].tolist() == ["sub-01", "sub-02"]
    assert table["LesionSummary.volume"].isna().tolist() == [False, True]
    assert table["RegionalDamage.atlas-Schaefer100_desc-damage.Vis_1"].isna().tolist() == [True, False]
    assert main(["subject", "export", *documents, "-o", str(tmp_path / "long.json"), "--long"]) == 0
    assert len(json.loads((tmp_path / "long.json").read_text())) == 2


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (lesion(dtype=np.float32) * 2, ExitCode.INVALID, "a lesion mask must be binary (only 0 and 1)"),
        (np.zeros(MNI6_2MM_SHAPE, np.uint8), ExitCode.INVALID, "the lesion mask is empty (no voxel is 1)"),
        (None, ExitCode.USAGE, "not a readable NIfTI image"),
    ],
)
@pytest.mark.parametrize("command", ["bids", "export"])
def test_bad_masks_give_one_line_and_write_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    data: np.ndarray | None,
    code: int,
    message: str,
    command: str,
) -> None:
    path = write_mask(tmp_path / "in" / "sub-01_mask.nii.gz", data)
    if data is None:
        path.write_bytes(path.read_bytes()[:500])  # truncated
    out = tmp_path / "out"
    out.mkdir()
    target = str(out / ("deriv" if command == "bids" else "results.tsv"))
    assert main(["subject", command, str(path), "-o", target]) == code
    error = capsys.readouterr().err.strip()
    assert error.startswith("hub: error: ") and message in error and "\n" not in error
    assert list(out.iterdir()) == []
    assert main(["validate", str(path)]) == code


def test_existing_outputs_are_kept_without_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (path,) = masks(tmp_path / "bids")[:1]
    assert main(["subject", "provenance", path, "-o", str(tmp_path / "p.json")]) == 0
    before = (tmp_path / "p.json").read_text()
    assert main(["subject", "provenance", path, "-o", str(tmp_path / "p.json")]) == ExitCode.OUTPUT
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "p.json").read_text() == before
    assert main(["subject", "bids", path, "-o", str(tmp_path / "d")]) == 0
    listing = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["subject", "bids", path, "-o", str(tmp_path / "d")]) == ExitCode.OUTPUT
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == listing
    assert main(["subject", "bids", path, "-o", str(tmp_path / "d"), "--overwrite"]) == 0
    assert (
        main(["subject", "export", str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.csv")])
        == ExitCode.USAGE
    )
    assert not (tmp_path / "x.csv").exists()
