"""`hub convert`, `hub info`, `hub validate` on connectivity files; bad inputs: one line and an exit code.

A failed conversion writes nothing and leaves an existing target as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from cli_helpers import hub, one_line
from conftest import DOCUMENTS

from neurodatahub.core.errors import ExitCode

DOCUMENT = DOCUMENTS / "valid" / "ConnectivityMatrix.json"  # 3 regions, symmetric, measure and atlas


def test_convert_through_every_format_and_back(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    source = str(DOCUMENT)
    for name in ("conn.csv", "conn.mat", "conn.npz", "conn.graphml", "conn.h5", "conn.parquet"):  # lossless
        code, out, err = hub(capsys, "convert", source, str(tmp_path / name))
        assert code == 0 and err == "", err
        source = str(tmp_path / name)
    code, out, _ = hub(capsys, "info", source, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["kind"] == "connectivity" and summary["format"] == "parquet"
    assert summary["regions"] == 3 and summary["sum"] == 44.0 and summary["symmetric"] is True
    assert summary["first_label"] == "LH_Vis_1" and summary["atlas"] == "Schaefer2018_100Parcels7Networks"
    assert (tmp_path / "conn.json").is_file()  # the CSV's sidecar


def test_convert_to_tsv_reports_what_is_lost_and_strict_refuses(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    target = tmp_path / "conn.tsv"
    code, _, err = hub(capsys, "convert", str(DOCUMENT), str(target), "--strict")
    assert code == ExitCode.LOSS and "measure" in one_line(err) and not target.exists()
    code, _, err = hub(capsys, "convert", str(DOCUMENT), str(target))
    assert code == 0 and {"lost: measure: a labelled TSV holds only labels and values"} <= set(
        err.splitlines()
    )
    assert target.read_text().splitlines()[0] == "\tLH_Vis_1\tLH_SomMot_1\tRH_Default_1"


def test_float_format_option_reaches_the_writer(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    source = tmp_path / "thirds.h5"
    np_matrix = np.array([[0.0, 1 / 3], [1 / 3, 0.0]])
    from neurodatahub.core import conversion
    from neurodatahub.models import ConnectivityMatrix

    conversion.write(ConnectivityMatrix(matrix=np_matrix, region_labels=["a", "b"]), str(source))
    target = tmp_path / "thirds.tsv"
    # the value is quoted: the CLI reads -O values as YAML, where a bare % starts a directive
    code, _, err = hub(capsys, "convert", str(source), str(target), "-O", 'float_format="%.3f"')
    assert code == 0 and "lost: matrix (2): values rounded to %.3f" in err
    assert target.read_text().splitlines()[1] == "a\t0.000\t0.333"
    code, _, err = hub(capsys, "convert", str(source), str(tmp_path / "x.tsv"), "-O", "float_format=abc")
    assert code == ExitCode.USAGE and "float_format" in one_line(err)
    code, _, err = hub(capsys, "convert", str(source), str(tmp_path / "x.h5"), "-O", "compression_opts=12")
    assert code == ExitCode.USAGE and "gzip level" in one_line(err) and not (tmp_path / "x.h5").exists()


def test_validate_reports_valid_and_invalid_matrices(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("0,1\n1,0\n")
    (tmp_path / "good.json").write_text(json.dumps({"region_labels": ["a", "b"], "symmetric": True}))
    bad = tmp_path / "bad.csv"
    bad.write_text("0,1\n2,0\n")
    (tmp_path / "bad.json").write_text(json.dumps({"region_labels": ["a", "b"], "symmetric": True}))
    code, out, _ = hub(capsys, "validate", str(good), str(bad), "--json")
    outcomes = {Path(item["path"]).name: item for item in json.loads(out)}
    assert code == ExitCode.INVALID
    assert outcomes["good.csv"]["valid"] and outcomes["good.csv"]["kind"] == "connectivity"
    assert not outcomes["bad.csv"]["valid"] and "declared symmetric" in outcomes["bad.csv"]["error"]


BAD_INPUTS = {
    # name: (file contents, sidecar or None, exit code, words of the message)
    "ragged.tsv": ("\ta\tb\na\t1\t2\nb\t3\n", None, ExitCode.USAGE, "line 3 has 2 cells where line 1 has 3"),
    "too-long.tsv": ("\ta\tb\na\t1\t2\nb\t3\t4\t5\n", None, ExitCode.USAGE, "line 3 has 4 cells"),
    "quoted-ragged.tsv": ('\t"a b"\tc\n"a b"\t1\t2\nc\t3\n', None, ExitCode.USAGE, "missing value at line 3"),
    "empty-cell.tsv": (
        "\ta\tb\na\t1\t\nb\t3\t4\n",
        None,
        ExitCode.USAGE,
        "missing value at line 2, column 3",
    ),
    "truncated.tsv": ("\ta\tb\tc\na\t1\t2\t3\nb\t3\t4\t5\n", None, ExitCode.INVALID, "3 labels but 2 rows"),
    "text.tsv": ("\ta\tb\na\t1\tfoo\nb\t3\t4\n", None, ExitCode.USAGE, "'foo' at line 2, column 3"),
    "rows-differ.tsv": ("\ta\tb\na\t1\t2\nc\t3\t4\n", None, ExitCode.USAGE, "labelled 'c'"),
    "infinite.tsv": ("\ta\tb\na\t1\tinf\nb\t3\t4\n", None, ExitCode.INVALID, "infinite"),
    "duplicate.tsv": ("\ta\ta\na\t1\t2\na\t3\t4\n", None, ExitCode.INVALID, "unique"),
    "not-square.csv": ("1,2,3\n4,5,6\n", None, ExitCode.INVALID, "square"),
    "ragged.csv": ("1,2\n3\n", None, ExitCode.USAGE, "line 2 has 1 cell where line 1 has 2"),
    "label-count.csv": (
        "1,2\n2,1\n",
        {"region_labels": ["a", "b", "c"]},
        ExitCode.INVALID,
        "3 region labels",
    ),
    "n-regions.csv": ("1,2\n2,1\n", {"n_regions": 3}, ExitCode.USAGE, "n_regions 3"),
    "broken-sidecar.csv": ("1,2\n2,1\n", "{not json", ExitCode.USAGE, "not JSON"),
    "edges-gap.edges.tsv": ("i\tj\tweight\n1\t1\t1\n3\t3\t1\n", None, ExitCode.USAGE, "[2] appear in no row"),
    "edges-repeat.edges.tsv": ("i\tj\tweight\n1\t1\t1\n1\t1\t2\n", None, ExitCode.USAGE, "more than one row"),
    "edges-zero.edges.tsv": ("i\tj\tweight\n0\t0\t1\n", None, ExitCode.USAGE, "1-based"),
}


@pytest.mark.filterwarnings("ignore:.*no sidecar")
@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_an_exit_code_and_leaves_the_target_alone(
    name: str, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    content, sidecar, exit_code, words = BAD_INPUTS[name]
    source = tmp_path / name
    source.write_text(content)
    if sidecar is not None:
        text = sidecar if isinstance(sidecar, str) else json.dumps(sidecar)
        (tmp_path / (name.removesuffix(".csv") + ".json")).write_text(text)
    target = tmp_path / "out.npz"
    target.write_bytes(b"the previous result")
    code, _, err = hub(capsys, "convert", str(source), str(target), "--overwrite")  # found by content
    assert code == exit_code, err
    assert words in one_line(err)
    assert target.read_bytes() == b"the previous result"
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == []


@pytest.mark.parametrize("suffix", [".h5", ".npz", ".parquet"])
def test_truncated_binary_files_are_input_errors(
    suffix: str, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    whole = tmp_path / f"whole{suffix}"
    code, _, _ = hub(capsys, "convert", str(DOCUMENT), str(whole))
    assert code == 0
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    name = {".h5": "hdf5", ".npz": "npz", ".parquet": "parquet"}[suffix]
    code, _, err = hub(capsys, "info", str(cut), "--from", name)
    assert code == ExitCode.USAGE and str(cut) in one_line(err)


def test_pickled_labels_in_an_npz_are_refused(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, matrix=np.eye(2), region_labels=np.array(["a", None], dtype=object))
    code, _, err = hub(capsys, "info", str(path))
    assert code == ExitCode.USAGE and "pickled" in one_line(err)


def test_an_existing_sidecar_is_refused_without_overwrite(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    (tmp_path / "conn.json").write_text('{"mine": true}')
    code, _, err = hub(capsys, "convert", str(DOCUMENT), str(tmp_path / "conn.csv"))
    assert code == ExitCode.OUTPUT and "conn.json exists" in one_line(err)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["conn.json"]
    assert (tmp_path / "conn.json").read_text() == '{"mine": true}'
    code, _, _ = hub(capsys, "convert", str(DOCUMENT), str(tmp_path / "conn.csv"), "--overwrite")
    assert code == 0 and json.loads((tmp_path / "conn.json").read_text())["n_regions"] == 3


def test_hdf5_kinds_are_told_apart_by_content(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "conn.h5"
    hub(capsys, "convert", str(DOCUMENT), str(path))
    with h5py.File(path) as file:
        assert "neurodatahub_format" in file.attrs
    code, out, _ = hub(capsys, "info", str(path), "--json", "--from", "hdf5")
    assert code == 0 and json.loads(out)["kind"] == "connectivity"
