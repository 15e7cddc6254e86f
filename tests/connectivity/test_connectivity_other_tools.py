"""Matrices as older MRtrix releases wrote them, and what the hub says when no reader takes a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode

MATRIX = np.array([[0.0, 12.0, 3.0], [12.0, 0.0, 7.5], [3.0, 7.5, 0.0]])


def _old_tck2connectome(path: Path, matrix: np.ndarray) -> Path:
    """tck2connectome before its comma output: values separated by spaces, one after the last value too."""
    path.write_text("".join(" ".join(f"{value:g}" for value in row) + " \n" for row in matrix))
    return path


@pytest.mark.parametrize("name", ["connectome.csv", "connectome.txt"])
def test_space_delimited_matrices_read_as_mrtrix_reads_them(
    capsys: pytest.CaptureFixture, tmp_path: Path, name: str
) -> None:
    path = _old_tck2connectome(tmp_path / name, MATRIX)
    code, out, err = hub(capsys, "info", str(path), "--json")
    assert code == 0 and '"kind": "connectivity"' in out, err
    np.testing.assert_array_equal(conversion.read(str(path)).matrix, MATRIX)
    code, _, err = hub(capsys, "convert", str(path), str(tmp_path / "conn.h5"))
    assert code == 0, err
    np.testing.assert_array_equal(conversion.read(str(tmp_path / "conn.h5")).matrix, MATRIX)


def test_a_file_no_reader_takes_says_what_each_candidate_found(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    path = tmp_path / "semicolons.csv"
    path.write_text("a;b;c\n1;2;3\n")
    code, _, err = hub(capsys, "info", str(path))
    line = one_line(err)
    assert code == ExitCode.USAGE and line.startswith(f"hub: error: no format reads {path}: ")
    assert "as spikes csv: " in line and "has no unit column" in line and "-R unit_column=NAME" in line
    assert "as connectivity csv: 'a;b;c' at line 1, column 1 is not a number" in line
    assert "as regions csv: not a region table" in line
