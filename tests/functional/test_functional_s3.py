"""Functional chunks on S3 (a real S3-protocol server): GSP folders and masks read from it, chunks to it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from functional_helpers import expected, make_gsp, make_run

from neurodatahub.cli import main
from neurodatahub.functional import GridMismatchError, gsp1000_to_hdf5, load_chunk


def _upload(local: Path, url: str) -> None:
    import s3fs

    s3fs.S3FileSystem().put(str(local), url, recursive=local.is_dir())


def _listing(url: str) -> list[str]:
    import s3fs

    fs = s3fs.S3FileSystem()
    fs.invalidate_cache()
    return sorted(path.rsplit("/", 1)[-1] for path in fs.find(url))


def test_gsp1000_to_hdf5_from_and_to_s3(s3_bucket: str, tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=3)
    _upload(gsp.root, f"{s3_bucket}/GSP")
    _upload(gsp.mask, f"{s3_bucket}/mask.nii.gz")
    written = gsp1000_to_hdf5(f"{s3_bucket}/GSP", f"{s3_bucket}/mask.nii.gz", f"{s3_bucket}/chunks", 2)
    assert written == [f"{s3_bucket}/chunks/gsp1000_chunk_000.h5", f"{s3_bucket}/chunks/gsp1000_chunk_001.h5"]
    assert _listing(f"{s3_bucket}/chunks") == ["gsp1000_chunk_000.h5", "gsp1000_chunk_001.h5"]
    rows = [row for url in written for row in load_chunk(url).timeseries]
    for row, run in zip(rows, gsp.runs, strict=True):
        np.testing.assert_array_equal(row, expected(run, gsp.mask))
    assert load_chunk(written[1]).subject_ids == ["sub-0003"]


def test_a_grid_mismatch_on_s3_uploads_nothing(s3_bucket: str, tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=3)
    make_run(gsp.runs[2], shape=(5, 7, 5))
    _upload(gsp.root, f"{s3_bucket}/GSP")
    with pytest.raises(GridMismatchError, match=f"{s3_bucket}/GSP/sub-0003/func/"):
        gsp1000_to_hdf5(f"{s3_bucket}/GSP", gsp.mask, f"{s3_bucket}/chunks", 1)
    assert _listing(f"{s3_bucket}/chunks") == []


def test_hub_convert_folder_and_chunks_across_s3(
    capsys: pytest.CaptureFixture, s3_bucket: str, aws_env: str, tmp_path: Path
) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=2)
    _upload(gsp.root, f"{s3_bucket}/GSP")
    _upload(gsp.mask, f"{s3_bucket}/mask.nii.gz")
    remote = f"{s3_bucket}/all.h5"
    code = main(["convert", f"{s3_bucket}/GSP", remote, "-O", f"mask={s3_bucket}/mask.nii.gz"])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["info", remote, "--json", "--endpoint-url", aws_env]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["subjects"], summary["timepoints"], summary["voxels"]) == (2, 12, 9)
    # chunk -> chunk: S3 to local and local to S3, the values unchanged
    local = tmp_path / "local.h5"
    assert main(["convert", remote, str(local)]) == 0
    assert main(["convert", str(local), f"{s3_bucket}/copy.h5"]) == 0, capsys.readouterr().err
    copy = load_chunk(f"{s3_bucket}/copy.h5")
    assert copy.subject_ids == gsp.subjects
    for row, run in enumerate(gsp.runs):
        np.testing.assert_array_equal(copy.timeseries[row], expected(run, gsp.mask))
    assert main(["validate", f"{s3_bucket}/copy.h5"]) == 0
