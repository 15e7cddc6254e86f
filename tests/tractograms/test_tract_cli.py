"""`hub convert`, `hub info`, `hub validate` and `hub formats` on TRK, TCK and TRX, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tract_helpers import nibabel_file

from neurodatahub.cli import main
from neurodatahub.core import conversion


def hub(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"trk": tmp_path / "a.trk", "tck": tmp_path / "a.tck", "trx": tmp_path / "a.trx"}
    source = conversion.read(nibabel_file("complex.trk"))
    for path in paths.values():
        conversion.write(source, str(path))
    return paths


def test_info_says_the_same_for_every_format(files: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    summaries = {}
    for fmt, path in files.items():
        code, out, _ = hub(capsys, "info", str(path), "--json")
        assert code == 0
        summaries[fmt] = json.loads(out)
        assert summaries[fmt]["kind"] == "tractogram" and summaries[fmt]["format"] == fmt
    for summary in summaries.values():
        assert summary["streamlines"] == 3 and summary["points"] == 8
        assert summary["reference_shape"] == [1, 1, 1] and summary["voxel_sizes_mm"] == [1.0, 1.0, 1.0]
    assert summaries["trk"]["data_per_point"] == summaries["trx"]["data_per_point"] == ["colors", "fa"]
    assert summaries["tck"]["data_per_point"] == []
    code, out, _ = hub(capsys, "info", str(files["trx"]))
    assert code == 0 and "streamlines" in out


def test_validate_every_format(files: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    code, out, _ = hub(capsys, "validate", *map(str, files.values()))
    assert code == 0
    assert out.count("ok ") == 3 and "Tractogram" in out


@pytest.mark.parametrize("target", ["trk", "tck", "trx"])
def test_convert_from_every_format_with_a_report(
    target: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for source, path in files.items():
        out_path = tmp_path / f"from_{source}.{target}"
        report = tmp_path / f"{source}-{target}.json"
        code, _, err = hub(capsys, "convert", str(path), str(out_path), "--report", str(report))
        assert code == 0, err
        document = json.loads(report.read_text())
        assert document["kind"] == "tractogram" and document["counts"]["streamlines"] == 3
        assert document["target"]["format"] == target and document["target"]["checksum"]
        dropped = {loss["field"] for loss in document.get("losses", [])}
        assert dropped == (
            {"data_per_point", "data_per_streamline"} if target == "tck" and source != "tck" else set()
        )


def test_formats_lists_the_tractogram_formats(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = hub(capsys, "formats", "--kind", "tractogram", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert code == 0 and set(rows) == {"trk", "tck", "trx", "trx-folder"}
    assert all(row["streams"] and row["read"] and row["write"] for row in rows.values())
    assert "reference" in rows["trk"]["write_options"] and "reference" in rows["tck"]["read_options"]


def test_the_installed_command_runs(tmp_path: Path) -> None:
    target = tmp_path / "out.trx"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "neurodatahub.cli",
            "convert",
            nibabel_file("standard.tck"),
            str(target),
            "-O",
            f"reference={nibabel_file('standard.nii.gz')}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert target.stat().st_size > 360 * 12
