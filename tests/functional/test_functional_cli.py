"""`hub functional gsp1000-to-hdf5` and `hub convert/info` on GSP folders: outputs, one-line errors, codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line
from functional_helpers import expected, make_gsp, make_run

from neurodatahub.core.errors import ExitCode
from neurodatahub.functional import load_chunk


def test_gsp1000_to_hdf5_command(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=4)
    out = tmp_path / "chunks"
    args = ["functional", "gsp1000-to-hdf5", str(gsp.root), str(gsp.mask), str(out)]
    code, stdout, err = hub(capsys, *args, "--subjects-per-chunk", "2", "--max-subjects", "3")
    assert code == 0, err
    assert "wrote 2 chunk files" in stdout
    assert sorted(path.name for path in out.iterdir()) == ["gsp1000_chunk_000.h5", "gsp1000_chunk_001.h5"]
    np.testing.assert_array_equal(
        load_chunk(str(out / "gsp1000_chunk_001.h5")).timeseries[0], expected(gsp.runs[2], gsp.mask)
    )
    code, _, err = hub(capsys, *args)
    assert code == ExitCode.OUTPUT and "--overwrite" in one_line(err)
    code, _, err = hub(capsys, *args, "--overwrite")
    assert code == 0, err
    assert load_chunk(str(out / "gsp1000_chunk_000.h5")).subject_ids == gsp.subjects


def test_command_errors_are_one_line(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=2)
    make_run(gsp.runs[1], shape=(6, 7, 4))
    out = tmp_path / "chunks"
    code, _, err = hub(capsys, "functional", "gsp1000-to-hdf5", str(gsp.root), str(gsp.mask), str(out))
    assert code == ExitCode.USAGE and str(gsp.runs[1]) in one_line(err) and not out.exists()
    code, _, err = hub(
        capsys, "functional", "gsp1000-to-hdf5", str(tmp_path / "none"), str(gsp.mask), str(out)
    )
    assert code == ExitCode.USAGE and "GSP directory not found" in one_line(err)
    code, _, err = hub(
        capsys,
        "functional",
        "gsp1000-to-hdf5",
        str(gsp.root),
        str(gsp.mask),
        str(out),
        "--subjects-per-chunk",
        "0",
    )
    assert code == ExitCode.USAGE and "subjects_per_chunk" in one_line(err)


def test_convert_a_folder_to_one_chunk(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=3)
    target = tmp_path / "gsp.h5"
    code, _, err = hub(capsys, "convert", str(gsp.root), str(target), "-O", f"mask={gsp.mask}")
    assert code == 0, err
    chunk = load_chunk(str(target))
    assert chunk.subject_ids == gsp.subjects and chunk.description == "GSP1000 functional connectome"
    for row, run in enumerate(gsp.runs):
        np.testing.assert_array_equal(chunk.timeseries[row], expected(run, gsp.mask))
    code, out, _ = hub(capsys, "info", str(target), "--json")
    assert code == 0 and json.loads(out)["subjects"] == 3
    # reader options through --read-option too, and the folder's own options
    code, _, err = hub(
        capsys,
        "convert",
        str(gsp.root),
        str(tmp_path / "two.h5"),
        "--read-option",
        f"mask={gsp.mask}",
        "-O",
        "max_subjects=2",
        "-O",
        "description=two subjects",
    )
    assert code == 0, err
    two = load_chunk(str(tmp_path / "two.h5"))
    assert two.subject_ids == gsp.subjects[:2] and two.description == "two subjects"


def test_convert_a_folder_needs_its_mask(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=1)
    code, _, err = hub(capsys, "convert", str(gsp.root), str(tmp_path / "out.h5"))
    assert code == ExitCode.USAGE and "mask=" in one_line(err) and not (tmp_path / "out.h5").exists()
    code, _, err = hub(
        capsys,
        "convert",
        str(gsp.root),
        str(tmp_path / "out.h5"),
        "-O",
        f"mask={gsp.mask}",
        "-O",
        "colour=blue",
    )
    assert code == ExitCode.USAGE and "colour" in one_line(err)


def test_help_and_formats_list_the_functional_kind(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = hub(capsys, "functional", "--help")
    assert code == 0 and "gsp1000-to-hdf5" in out
    code, out, _ = hub(capsys, "formats", "--kind", "functional", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["hdf5"]["read"] and rows["hdf5"]["write"] and rows["hdf5"]["streams"]
    assert (
        rows["gsp1000"]["directory"]
        and not rows["gsp1000"]["write"]
        and "mask" in rows["gsp1000"]["read_options"]
    )
