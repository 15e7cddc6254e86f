"""`hub preview` as a user runs it: files and folders of every kind, S3 inputs, the output rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line

from neurodatahub.connectivity import common as connectivity
from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_preview_of_an_nwb_file_and_a_phy_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = hub(capsys, "preview", str(EXAMPLES / "recording.nwb"), "-o", str(tmp_path / "rec.png"))
    assert code == 0 and "wrote" in out and _is_png(tmp_path / "rec.png")
    folder = tmp_path / "sorting"
    conversion.convert(str(EXAMPLES / "recording.nwb"), str(folder), to_format="phy")
    code, _, err = hub(capsys, "preview", str(folder), "-o", str(tmp_path / "phy.svg"))
    assert code == 0, err
    assert (tmp_path / "phy.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_the_default_output_is_named_after_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "conn.tsv"
    conversion.write(connectivity.build(np.eye(3), ["a", "b", "c"]), str(source))
    monkeypatch.chdir(tmp_path)
    code, _, err = hub(capsys, "preview", str(source))
    assert code == 0, err
    assert _is_png(tmp_path / "conn.png")
    code, _, err = hub(capsys, "preview", str(source))
    assert code == ExitCode.OUTPUT and "--overwrite" in one_line(err)
    assert hub(capsys, "preview", str(source), "--overwrite")[0] == 0


def test_bad_requests_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = hub(capsys, "preview", str(tmp_path / "missing.nwb"))
    assert code == ExitCode.USAGE and "no such file" in one_line(err)
    code, _, err = hub(capsys, "preview", str(EXAMPLES / "spikes.yaml"), "-o", str(tmp_path / "x.gif"))
    assert code == ExitCode.USAGE and "png, svg, pdf" in one_line(err)
    assert not list(tmp_path.iterdir())


def test_preview_of_an_s3_input_to_an_s3_picture(s3_bucket: str, capsys: pytest.CaptureFixture) -> None:
    source = f"{s3_bucket}/spikes.json"
    conversion.convert(str(EXAMPLES / "spikes.yaml"), source)
    code, _, err = hub(capsys, "preview", source, "-o", f"{s3_bucket}/spikes.png")
    assert code == 0, err
    import s3fs

    with s3fs.S3FileSystem().open(f"{s3_bucket}/spikes.png", "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
