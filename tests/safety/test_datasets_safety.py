"""The safety rules on what main's dataset validation and image kinds read: a dataset's configuration and
BIDS sidecars are as untrusted as its data (YAML aliases counted, JSON too deep or too large refused as
the documents are), the run's limits reach every worker, gzip-compressed images are held to the
decompression limit, and the reports escape what files say (names and messages are anyone's text)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from cli_helpers import hub, one_line
from safety_helpers import spike_hdf5

from neurodatahub.core import budget
from neurodatahub.core.budget import BudgetError
from neurodatahub.core.errors import ExitCode
from neurodatahub.datasets.validation import validate_dataset
from neurodatahub.images import volumes

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + level)}: &{chr(98 + level)} [{', '.join([f'*{chr(97 + level)}'] * 10)}]\n"
    for level in range(9)
)  # ten to the tenth nodes once expanded, from 400 bytes


def test_a_configuration_alias_bomb_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    spike_hdf5(tmp_path / "units.h5")
    (tmp_path / ".neurodatahub.yaml").write_text(ALIAS_BOMB + "validate:\n  fail_on: error\n")
    code, out, err = hub(capsys, "validate", str(tmp_path))
    assert code == ExitCode.USAGE, err + out
    line = one_line(err)
    assert "nodes with aliases expanded" in line and "--max-memory" in line


def test_a_pyproject_whose_tool_key_is_no_table_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    spike_hdf5(tmp_path / "units.h5")
    config = tmp_path / "pyproject.toml"
    config.write_text('tool = "neurodatahub"\n')
    code, out, err = hub(capsys, "validate", "--config", str(config), str(tmp_path / "units.h5"))
    assert code == ExitCode.USAGE, err + out  # read (once an AttributeError: exit 70), found wanting
    assert "has no [tool.neurodatahub.validate] table" in one_line(err)


def _bids(root: Path, sidecar: str) -> Path:
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.11.0"}))
    anat = root / "sub-01" / "anat"
    anat.mkdir(parents=True)
    (anat / "sub-01_T1w.json").write_text(sidecar)
    return anat / "sub-01_T1w.json"


@pytest.mark.parametrize(
    "sidecar, said",
    [("[" * 100_000 + "]" * 100_000, "nested too deeply"), ('{"n": ' + "9" * 10_000 + "}", "digits")],
)
def test_hostile_bids_sidecars_are_invalid_json_not_a_crash(tmp_path: Path, sidecar: str, said: str) -> None:
    path = _bids(tmp_path / "bids", sidecar)
    report = validate_dataset([str(tmp_path / "bids")], cache=False, jobs=1)
    problems = [problem for problem in report.problems() if problem.file == str(path)]
    assert [problem.code for problem in problems] == ["NDH301"], problems
    assert said in problems[0].message
    assert report.exit_code == ExitCode.INVALID


def test_a_sidecar_over_the_budget_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = _bids(tmp_path / "bids", json.dumps({"Pad": "x" * 200_000}))
    report = validate_dataset([str(tmp_path / "bids")], cache=False, jobs=1, max_memory="1M")
    problems = [problem for problem in report.problems() if problem.file == str(path)]
    assert [problem.code for problem in problems] == ["NDH002"], problems
    assert "memory budget of 1 MB" in problems[0].message


def test_the_run_s_budget_goes_with_each_file(tmp_path: Path) -> None:
    """The budget travels in each file's settings, not in this thread's context: files are read after
    validate_dataset left its limits (in Dask threads or processes on larger runs) and still obey it."""
    for index in range(4):
        spike_hdf5(tmp_path / f"units-{index}.h5", per_unit=4000)  # 128 kB of times each
    limited = validate_dataset([str(tmp_path)], cache=False, jobs=2, max_memory="64k")
    assert limited.exit_code == ExitCode.USAGE
    assert all("memory budget" in (result.error or "") for result in limited.files), limited.files
    assert validate_dataset([str(tmp_path)], cache=False, jobs=2).exit_code == ExitCode.OK


def _gzip_of_zeros(path: Path, header: bytes, size: int) -> Path:
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(header)
        block = bytes(16 << 20)
        for start in range(0, size, len(block)):
            out.write(block[: min(len(block), size - start)])
    return path


def test_a_gzip_bomb_image_is_refused_as_it_inflates(tmp_path: Path) -> None:
    """300 MB of zeros in 0.3 MB (1000 times; a second to make): refused past the floor, whether read,
    read into a buffer or sought through."""
    path = _gzip_of_zeros(tmp_path / "bomb.nii.gz", b"", 300 << 20)
    with volumes.decompressed(str(path)) as handle, pytest.raises(BudgetError, match="decompression bomb"):
        handle.read()
    with volumes.decompressed(str(path)) as handle, pytest.raises(BudgetError, match="decompression bomb"):
        handle.seek(290 << 20)
    with volumes.decompressed(str(path)) as handle:
        buffer = bytearray(1 << 20)
        with pytest.raises(BudgetError, match="decompression bomb"):
            while handle.readinto(buffer):
                pass


def test_ordinary_gzip_images_read_whole(tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 255, 3 << 20, dtype=np.uint8).tobytes()
    path = tmp_path / "ordinary.nii.gz"
    path.write_bytes(gzip.compress(data, compresslevel=1))
    with volumes.decompressed(str(path)) as handle:
        assert handle.read(10) == data[:10]
        handle.seek(0)
        assert handle.read() == data
    with volumes.decompressed(str(path)) as handle:
        assert handle.seek(2 << 20) == 2 << 20 and handle.read(5) == data[2 << 20 : (2 << 20) + 5]
        assert handle.seek(1 << 20) == 1 << 20 and handle.read(5) == data[1 << 20 : (1 << 20) + 5]
        handle.seek(0)  # back past zlib-ng's first buffer: its own rewind fails there
        assert handle.read() == data


def test_an_mgz_bomb_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from nibabel.freesurfer.mghformat import MGHHeader

    header = MGHHeader()
    header.set_data_dtype(np.uint8)
    header.set_data_shape((512, 512, 1200))
    path = _gzip_of_zeros(tmp_path / "bomb.mgz", header.binaryblock, 512 * 512 * 1200)
    assert budget.max_memory() > 512 * 512 * 1200  # the size fits the budget: the ratio refuses it
    code, out, err = hub(capsys, "convert", str(path), str(tmp_path / "out.nii"))
    assert code == ExitCode.USAGE, err + out
    assert "decompression bomb" in one_line(err)
    assert not (tmp_path / "out.nii").exists()


def test_the_reports_escape_what_file_names_say(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    evil = tmp_path / "units\x1b[2J\x07.h5"
    evil.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)  # a cut HDF5 file: an error naming it
    code, out, err = hub(capsys, "validate", str(evil))
    assert code == ExitCode.USAGE, err + out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[2J\\x07" in out
    for name in ("junit", "github"):
        code, out, err = hub(capsys, "validate", "--no-cache", "--format", name, str(evil))
        assert "\x1b" not in out and "\x07" not in out, name
    code, out, _ = hub(capsys, "validate", "--no-cache", "--format", "junit", str(evil))
    ET.fromstring(out.encode())  # XML 1.0 holds no ESC or BEL: escaped, the report still parses


def test_the_html_report_shows_markup_in_names_as_text(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    evil = tmp_path / "x<img src=x onerror=alert(1)>.h5"
    evil.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    code, out, err = hub(capsys, "validate", "--no-cache", "--format", "html", str(evil))
    assert code == ExitCode.USAGE, err
    assert "<img src=x" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
