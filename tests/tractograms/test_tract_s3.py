"""Tractograms on S3 (a real S3-protocol server on loopback): every format read from and written to it,
a reference image read from it, a folder of tracts merged from it."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from tract_helpers import assert_same_columns, assert_same_streamlines, nibabel_file, write_raw_trk

from neurodatahub.cli import main
from neurodatahub.core import conversion
from neurodatahub.tractograms import merge_trk_to_tck, trk_to_tck


@pytest.mark.parametrize("fmt", ["trk", "tck", "trx"])
def test_each_format_round_trips_through_s3(fmt: str, s3_bucket: str, tmp_path: Path) -> None:
    source = conversion.read(nibabel_file("complex.trk"))
    remote = f"{s3_bucket}/tracts/out.{fmt}"
    conversion.write(source, remote)
    back = conversion.read(remote)
    assert_same_streamlines(back, source)
    if fmt != "tck":
        assert_same_columns(back.data_per_point, source.data_per_point)
        assert_same_columns(back.data_per_streamline, source.data_per_streamline)
    local = tmp_path / f"copy.{fmt}"
    report = conversion.convert(remote, str(local))  # remote streamed in, local written
    assert report.counts["streamlines"] == len(source.offsets)
    again = f"{s3_bucket}/tracts/again.{fmt}"
    conversion.convert(str(local), again)
    assert_same_streamlines(conversion.read(again), source)


def test_a_reference_on_s3_and_cli_with_s3(
    s3_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import s3fs

    fs = s3fs.S3FileSystem()
    fs.put(nibabel_file("standard.nii.gz"), f"{s3_bucket}/ref/t1.nii.gz")
    fs.put(nibabel_file("standard.tck"), f"{s3_bucket}/in/standard.tck")
    target = f"{s3_bucket}/out/standard.trk"
    code = main(
        ["convert", f"{s3_bucket}/in/standard.tck", target, "-O", f"reference={s3_bucket}/ref/t1.nii.gz"]
    )
    assert code == 0, capsys.readouterr().err
    assert_same_streamlines(conversion.read(target), conversion.read(nibabel_file("standard.trk")))
    code = main(["info", target, "--json"])
    assert code == 0 and '"streamlines": 120' in capsys.readouterr().out


def test_lacuna_functions_on_s3(s3_bucket: str, tmp_path: Path) -> None:
    import s3fs

    folder = tmp_path / "tracts"
    (folder / "cranial_nerve").mkdir(parents=True)
    (folder / "association").mkdir()
    write_raw_trk(folder / "association" / "AF_L.trk", 4, 3, seed=1)
    plain = folder / "association" / "UF_R.trk"
    write_raw_trk(plain, 2, 5, seed=2)
    (folder / "association" / "UF_R.trk.gz").write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    write_raw_trk(folder / "cranial_nerve" / "CNII_L.trk", 9, 3, seed=3)
    fs = s3fs.S3FileSystem()
    fs.put(str(folder), f"{s3_bucket}/tracts", recursive=True)
    merged = merge_trk_to_tck(f"{s3_bucket}/tracts", f"{s3_bucket}/merged.tck")
    assert merged == f"{s3_bucket}/merged.tck"
    model = conversion.read(merged)
    assert len(model.offsets) == 6 and len(model.positions) == 4 * 3 + 2 * 5
    single = trk_to_tck(f"{s3_bucket}/tracts/association/UF_R.trk.gz", f"{s3_bucket}/uf.tck")
    np.testing.assert_allclose(conversion.read(single).positions, model.positions[12:], atol=1e-5)
