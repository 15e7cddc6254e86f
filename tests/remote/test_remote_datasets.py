"""Byte budgets of a remote dataset (issue 19 with the dataset validation of `hub validate PREFIX/`): each
file's detection, validation and reader-warning check share one reading() scope, so a folder of files on
S3 is downloaded once, thumbnails of the HTML report included (drawn in the same scope); and a remote
image's `hub info` reads its header only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from remote_helpers import counted_fixture  # noqa: F401
from test_remote_budgets import BLOCK, HEADERS, _mask, _spikes, _tractogram

from neurodatahub.cli import main
from neurodatahub.core import conversion


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few files of three kinds, of a few hundred kB to a few MB each."""
    folder = tmp_path_factory.mktemp("dataset") / "lab"
    (folder / "sub-01").mkdir(parents=True)
    spikes = _spikes(n_units=40, n_spikes=200_000, seed=7)
    conversion.write(spikes, str(folder / "sub-01" / "session.nwb"))
    conversion.write(spikes, str(folder / "sub-01" / "sorted.h5"))
    _tractogram(folder / "sub-01" / "tracts.trk", n_streamlines=2000)
    _mask(folder / "sub-01" / "sub-01_label-lesion_mask.nii.gz")
    return folder


def _total(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_a_remote_folder_is_downloaded_once(dataset: Path, counted: Any, tmp_path: Path) -> None:
    prefix = counted.put(dataset, "lab") + "/"
    size = _total(dataset)
    report = tmp_path / "report.json"
    arguments = ["validate", prefix, "--no-cache", "-j", "1", "--format", "json", "-o", str(report)]
    code, traffic = counted.measure(lambda: main(arguments))
    assert code == 0, report.read_text()
    files = json.loads(report.read_text())["files"]
    assert len(files) == 4 and all(entry["valid"] for entry in files), files
    assert traffic.downloaded <= 1.05 * size, f"{traffic.downloaded} bytes for {size} bytes of files"


def test_html_thumbnails_are_drawn_from_the_bytes_validation_fetched(
    dataset: Path, counted: Any, tmp_path: Path
) -> None:
    """With --format html each file's thumbnail is drawn in the scope that validated it: still once."""
    prefix = counted.put(dataset, "lab") + "/"
    size = _total(dataset)
    page, cache = tmp_path / "report.html", tmp_path / "cache"
    arguments = ["validate", prefix, "-j", "1", "--format", "html", "-o", str(page), "--cache", str(cache)]
    code, traffic = counted.measure(lambda: main(arguments))
    assert code == 0
    assert page.read_text().count("data:image/png;base64,") >= 4
    assert traffic.downloaded <= 1.05 * size, f"{traffic.downloaded} bytes for {size} bytes of files"
    # a warm run: results and thumbnails from the cache (S3's ETags are the digests), no file read
    again, warm = counted.measure(lambda: main(arguments))
    assert again == 0 and page.read_text().count("data:image/png;base64,") >= 4
    assert warm.downloaded < 0.01 * size


def test_info_of_a_remote_image_reads_its_header(
    tmp_path: Path, counted: Any, capsys: pytest.CaptureFixture
) -> None:
    local = tmp_path / "sub-01_label-lesion_mask.nii.gz"
    _mask(local)
    url = counted.put(local, local.name)
    code, traffic = counted.measure(lambda: main(["info", url, "--json"]))
    assert code == 0
    remote = json.loads(capsys.readouterr().out)
    assert traffic.downloaded <= 352 + BLOCK + 4 * HEADERS  # the header and the block it is in
    assert traffic.downloaded < 0.25 * local.stat().st_size
    assert main(["info", str(local), "--json"]) == 0
    whole = json.loads(capsys.readouterr().out)
    assert "lesion_voxels" in whole and "lesion_voxels" not in remote
    assert remote["class"] == whole["class"] == "LesionMask"
    for name in ("shape", "space", "resolution_mm"):
        assert remote[name] == whole[name], name
    assert remote["dtype"] == "uint8" and remote["voxel_sizes_mm"] == [1.5, 1.5, 1.5]
    assert np.allclose(remote["affine"], np.diag([1.5, 1.5, 1.5, 1.0]))
