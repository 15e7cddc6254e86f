"""Connectivity matrices on S3 (a real S3-protocol server on loopback): the CSV with its sidecar, and TSV."""

from __future__ import annotations

import json

import numpy as np
import pytest
import s3fs
from conftest import DOCUMENTS

from neurodatahub.cli import main
from neurodatahub.compat.spectralbrain import save_connectome
from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode

DOCUMENT = DOCUMENTS / "valid" / "ConnectivityMatrix.json"


def test_csv_and_its_sidecar_go_to_s3_and_come_back(s3_bucket: str, aws_env: str) -> None:
    target = f"{s3_bucket}/sub-01/conn.csv"
    report = conversion.convert(str(DOCUMENT), target)
    assert report.losses == []
    fs = s3fs.S3FileSystem(endpoint_url=aws_env)
    assert sorted(fs.ls(f"{s3_bucket}/sub-01")) == [
        f"{s3_bucket[5:]}/sub-01/conn.csv",
        f"{s3_bucket[5:]}/sub-01/conn.json",
    ]
    assert json.loads(fs.cat(f"{s3_bucket}/sub-01/conn.json"))["region_labels"][0] == "LH_Vis_1"
    back = conversion.read(target)
    original = conversion.read(str(DOCUMENT))
    assert (
        back.region_labels == original.region_labels and back.symmetric and back.measure == original.measure
    )
    assert np.array_equal(back.matrix, original.matrix)


def test_hub_info_and_convert_between_s3_urls(
    s3_bucket: str, aws_env: str, capsys: pytest.CaptureFixture
) -> None:
    assert main(["convert", str(DOCUMENT), f"{s3_bucket}/conn.h5"]) == 0
    assert main(["convert", f"{s3_bucket}/conn.h5", f"{s3_bucket}/conn.parquet"]) == 0
    capsys.readouterr()
    assert main(["info", f"{s3_bucket}/conn.parquet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "parquet" and summary["regions"] == 3 and summary["sum"] == 44.0
    assert main(["convert", str(DOCUMENT), f"{s3_bucket}/conn.h5"]) == ExitCode.OUTPUT  # exists


def test_save_connectome_to_s3_returns_the_url(s3_bucket: str, aws_env: str) -> None:
    url = f"{s3_bucket}/deep/er/conn.tsv"
    assert save_connectome(url, np.eye(2), labels=["x", "y"]) == url
    back = conversion.read(url)
    assert back.region_labels == ["x", "y"] and np.array_equal(back.matrix, np.eye(2))


@pytest.mark.parametrize(
    "name",
    [
        "conn.tsv",
        "conn.csv",
        "conn.npz",
        "conn.h5",
        "conn.parquet",
        "conn.edges.tsv",
        "conn.mat",
        "conn.graphml",
    ],
)
def test_every_format_reads_and_validates_on_s3(
    name: str, s3_bucket: str, aws_env: str, capsys: pytest.CaptureFixture
) -> None:
    url = f"{s3_bucket}/{name}"
    conversion.convert(str(DOCUMENT), url)
    original = conversion.read(str(DOCUMENT))
    back = conversion.read(url)
    assert back.region_labels == original.region_labels and np.array_equal(back.matrix, original.matrix)
    capsys.readouterr()
    assert main(["validate", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["kind"] == "connectivity"
