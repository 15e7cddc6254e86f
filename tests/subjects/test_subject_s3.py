"""Masks from S3, results and BIDS derivatives to S3, validation on S3: a real S3 server (moto) locally."""

# ruff: noqa: F811 - the make_subject fixture is imported, then named as a test argument

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from subject_helpers import make_subject, official_errors, write_mask  # noqa: F401

from neurodatahub.cli import main
from neurodatahub.core import storage
from neurodatahub.core.errors import OutputError
from neurodatahub.subjects.bids.derivatives import export_bids_derivatives
from neurodatahub.subjects.bids.validation import validate_bids_derivatives
from neurodatahub.subjects.export import export_results
from neurodatahub.subjects.loading import from_nifti, load_bids_dataset


def upload(local: Path, url: str) -> None:
    fs, path = storage.filesystem(url)
    fs.put(str(local), path, recursive=local.is_dir())


def read_bytes(url: str) -> bytes:
    with storage.open_read(url) as handle:
        return handle.read()


@pytest.fixture
def s3_masks(tmp_path: Path, s3_bucket: str) -> str:
    root = tmp_path / "bids"
    for label in ("01", "02"):
        write_mask(
            root / f"sub-{label}" / "anat" / f"sub-{label}_res-2_label-stroke_mask.nii.gz",
            sidecar={"Resolution": "2 mm"},
        )
    upload(root, f"{s3_bucket}/bids")
    return f"{s3_bucket}/bids"


def test_masks_load_from_s3_with_their_sidecars(s3_masks: str) -> None:
    subject = from_nifti(f"{s3_masks}/sub-01/anat/sub-01_res-2_label-stroke_mask.nii.gz")
    assert (subject.subject_metadata.subject_id, subject.subject_metadata.space) == (
        "sub-01",
        "MNI152NLin6Asym",
    )
    assert subject.subject_metadata.source.startswith("s3://")
    assert sorted(load_bids_dataset(s3_masks)) == ["sub-01_res-2_label-stroke", "sub-02_res-2_label-stroke"]


def test_results_export_to_s3(s3_bucket: str, make_subject: Any) -> None:
    subjects = [make_subject("01"), make_subject("02", seed=1)]
    export_results(subjects, f"{s3_bucket}/out/group.parquet")
    table = pd.read_parquet(io.BytesIO(read_bytes(f"{s3_bucket}/out/group.parquet")))
    assert table["subject_id"].tolist() == ["sub-01", "sub-02"]
    export_results(subjects[0], f"{s3_bucket}/out/one.json")
    assert json.loads(read_bytes(f"{s3_bucket}/out/one.json"))["metadata"]["subject_id"] == "sub-01"
    with pytest.raises(OutputError, match="exists"):
        export_results(subjects[0], f"{s3_bucket}/out/one.json")


def test_bids_derivatives_on_s3(tmp_path: Path, s3_bucket: str, make_subject: Any) -> None:
    root = f"{s3_bucket}/derivatives/neurodatahub"
    report = export_bids_derivatives(make_subject("01"), root)
    assert report.subject_dirs == [f"{root}/sub-01/ses-01/anat"]
    export_bids_derivatives(make_subject("02", seed=1), root)
    with pytest.raises(OutputError, match="exists"):
        export_bids_derivatives(make_subject("02", seed=2), root)
    assert validate_bids_derivatives(root) == {"errors": [], "warnings": []}
    fs, path = storage.filesystem(root)
    local = tmp_path / "copy"
    fs.get(path, str(local), recursive=True)
    assert (local / ".bidsignore").exists()
    assert official_errors(local) == []


def test_cli_from_s3_to_s3(s3_masks: str, s3_bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = f"{s3_bucket}/deriv"
    assert main(["subject", "bids", s3_masks, "-o", target]) == 0
    assert main(["validate", target]) == 0
    assert "ok" in capsys.readouterr().out
    assert (
        main(
            [
                "subject",
                "provenance",
                f"{s3_masks}/sub-02/anat/sub-02_res-2_label-stroke_mask.nii.gz",
                "-o",
                f"{target}/p.json",
            ]
        )
        == 0
    )
    assert json.loads(read_bytes(f"{target}/p.json"))[0]["inputs"][0]["url"].startswith("s3://")
