"""The peers are the oracles: spectralbrain writes matrices we read; pandas, numpy, h5py, pyarrow read ours.

spectralbrain 0.1.0 runs for real here; its older connectome writer (header only with labels, %.6f) is
reproduced from the peer notes of docs/kinds/connectivity.md, as is qsiparc's sidecar.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from connectivity_helpers import FILE_NAMES, write_read
from hypothesis import given, settings, strategies as st
from spectralbrain.io import export as sb

from neurodatahub.compat.spectralbrain import save_connectome
from neurodatahub.core import conversion
from neurodatahub.models import ConnectivityMatrix

logging.getLogger("spectralbrain").setLevel(logging.WARNING)

# labels pandas reads back as the same text by default (no numbers, no NA spellings, no quoting needed)
word = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-", min_size=1, max_size=8
).filter(
    lambda text: text.lower() not in {"na", "nan", "null", "none", "n", "true", "false", "inf", "infinity"}
)
finite = st.floats(-1e12, 1e12) | st.sampled_from([0.0, 1e-8, -3.5])


@st.composite
def matrices(draw: st.DrawFn) -> tuple[np.ndarray, list[str]]:
    n = draw(st.integers(1, 5))
    values = np.array(draw(st.lists(finite, min_size=n * n, max_size=n * n))).reshape(n, n)
    return values, draw(st.lists(word, min_size=n, max_size=n, unique=True))


@settings(max_examples=40, deadline=None)
@given(data=matrices(), labelled=st.booleans())
def test_spectralbrain_connectome_tsv_reads_equal_and_ours_is_byte_identical(
    data: tuple[np.ndarray, list[str]], labelled: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    matrix, labels = data
    folder = tmp_path_factory.mktemp("sb")
    theirs, ours = folder / "theirs.tsv", folder / "ours.tsv"
    sb.save_connectome(theirs, matrix, labels=labels if labelled else None)
    returned = save_connectome(ours, matrix, labels=labels if labelled else None)
    assert returned == ours
    assert ours.read_bytes() == theirs.read_bytes()
    back = conversion.read(str(theirs))
    assert back.region_labels == (labels if labelled else [str(i) for i in range(len(matrix))])
    expected = np.array([[float(f"{value:.10g}") for value in row] for row in matrix.tolist()])
    assert np.array_equal(back.matrix, expected)


@settings(max_examples=40, deadline=None)
@given(data=matrices())
def test_pandas_reads_our_tsv_to_equal_values_and_labels(
    data: tuple[np.ndarray, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    matrix, labels = data
    target = tmp_path_factory.mktemp("pd") / "conn.tsv"
    conversion.write(ConnectivityMatrix(matrix=matrix, region_labels=labels), str(target), float_format="%r")
    frame = pd.read_csv(target, sep="\t", index_col=0)
    assert list(frame.index) == labels and list(frame.columns) == labels
    assert np.array_equal(frame.to_numpy(), matrix)


def test_pandas_reads_default_labels_and_nan(tmp_path: Path) -> None:
    matrix = np.array([[1.0, np.nan], [np.nan, 1e-8]])
    save_connectome(tmp_path / "c.tsv", matrix)
    frame = pd.read_csv(tmp_path / "c.tsv", sep="\t", index_col=0)
    assert list(frame.index) == [0, 1] and list(frame.columns) == ["0", "1"]
    assert np.array_equal(frame.to_numpy(), matrix, equal_nan=True)


def _older_spectralbrain(path: Path, matrix: np.ndarray, labels: list[str] | None) -> None:
    """Older spectralbrain (docs/kinds/connectivity.md): header only with labels, rows `label<TAB>%.6f...`."""
    header = "\t".join(["", *labels]) + "\n" if labels is not None else ""
    rows = [
        (labels[i] if labels else str(i)) + "\t" + "\t".join(f"{value:.6f}" for value in row)
        for i, row in enumerate(matrix)
    ]
    path.write_text(header + "".join(row + "\n" for row in rows))


@pytest.mark.parametrize("labels", [None, ["V1", "V2", "MT"]])
def test_older_spectralbrain_variant_reads(tmp_path: Path, labels: list[str] | None) -> None:
    matrix = np.array([[0.0, 0.1234567, 2.0], [0.1234567, 0.0, -1.5], [2.0, -1.5, 0.0]])
    path = tmp_path / "old.tsv"
    _older_spectralbrain(path, matrix, labels)
    back = conversion.read(str(path))
    assert back.region_labels == (labels or ["0", "1", "2"])
    assert np.array_equal(back.matrix, np.round(matrix, 6))


def test_bare_numeric_and_bids_style_tsv_read(tmp_path: Path) -> None:
    bare = tmp_path / "bare.tsv"
    np.savetxt(bare, np.array([[1.0, 2.0], [2.0, 1.0]]), delimiter="\t")
    assert conversion.read(str(bare)).region_labels == ["0", "1"]
    named = tmp_path / "named.tsv"
    named.write_text("region\tL\tR\nL\t1\tn/a\nR\tn/a\t1\n")  # the hub's BIDS export writes this
    back = conversion.read(str(named))
    assert back.region_labels == ["L", "R"] and np.isnan(back.matrix[0, 1])


def test_qsiparc_sidecar_is_read_whole_and_written_back_the_same(tmp_path: Path) -> None:
    """qsiparc's extra keys become metadata and come back as top-level keys."""
    matrix = np.array([[0, 4, 1], [4, 0, 2], [1, 2, 0]], dtype=float)
    csv = tmp_path / "sub-01_atlas-Toy_desc-radius2_count_connmatrix.csv"
    np.savetxt(csv, matrix, delimiter=",", fmt="%g")  # tck2connectome: headerless, comma-separated
    sidecar = {
        "atlas_name": "Toy",
        "measure": "radius2_count",
        "n_regions": 3,
        "region_labels": ["LH_A", "LH_B", "RH_A"],
        "symmetric": True,
        "source_tck": "/data/sub-01.tck",
        "source_dseg": "/data/dseg.nii.gz",
        "sift_weights": None,
        "tck2connectome_cmd": ["tck2connectome", "a.tck", "dseg.nii.gz", "out.csv", "-symmetric"],
    }
    csv.with_suffix(".json").write_text(json.dumps(sidecar, indent=2))
    back = conversion.read(str(csv))
    assert back.region_labels == sidecar["region_labels"] and back.atlas == "Toy" and back.symmetric
    assert back.measure == "radius2_count" and back.metadata["sift_weights"] is None
    copy = tmp_path / "copy.csv"
    assert conversion.write(back, str(copy)) == []
    assert json.loads(copy.with_suffix(".json").read_text()) == sidecar
    assert np.array_equal(np.loadtxt(copy, delimiter=","), matrix)  # how qsiparc reads the matrix


def test_a_bare_tck2connectome_csv_gets_mrtrix_node_labels_and_a_warning(tmp_path: Path) -> None:
    csv = tmp_path / "bare.csv"
    csv.write_text("0,3,1\n3,0,0\n1,0,0\n")
    with pytest.warns(UserWarning, match="no sidecar"):
        back = conversion.read(str(csv))
    assert back.region_labels == ["1", "2", "3"] and back.measure is None and back.symmetric is None


def test_numpy_h5py_and_pyarrow_read_our_binary_files(tmp_path: Path) -> None:
    matrix = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, np.nan], [0.0, np.nan, 1.0]], dtype=np.float32)
    model = ConnectivityMatrix(
        matrix=matrix, region_labels=["a", "b", "c"], measure="r", symmetric=True, metadata={"tr": 0.8}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("npz", "hdf5", "parquet"):
            write_read(model, tmp_path, name)
    with np.load(tmp_path / FILE_NAMES["npz"], allow_pickle=False) as archive:
        assert (
            np.array_equal(archive["matrix"], matrix, equal_nan=True)
            and archive["matrix"].dtype == np.float32
        )
        assert (
            archive["region_labels"].tolist() == ["a", "b", "c"]
            and archive["region_labels"].dtype.kind == "U"
        )
        assert json.loads(str(archive["metadata_json"])) == {"tr": 0.8} and bool(archive["symmetric"])
    with h5py.File(tmp_path / FILE_NAMES["hdf5"]) as file:
        assert file.attrs["neurodatahub_format"] == "ConnectivityMatrix"
        assert file["matrix"].compression == "gzip" and file["matrix"].compression_opts == 4
        assert file["region_labels"].asstr()[()].tolist() == ["a", "b", "c"]
        assert file.attrs["measure"] == "r" and bool(file.attrs["symmetric"])
    edges = pq.read_table(tmp_path / FILE_NAMES["parquet"]).to_pandas()
    assert list(edges.columns) == ["i", "j", "region_i", "region_j", "weight"]
    assert edges[["i", "j"]].values.tolist() == [
        [1, 1],
        [1, 2],
        [2, 2],
        [2, 3],
        [3, 3],
    ]  # 0 at (1, 3) left out
    assert edges["weight"].dtype == np.float32


def test_save_connectome_refuses_what_spectralbrain_refuses_and_more(tmp_path: Path) -> None:
    target = tmp_path / "conn.tsv"
    target.write_text("the previous matrix")
    with pytest.raises(ValueError, match="3 region labels for a 2 x 2 matrix"):
        save_connectome(target, np.eye(2), labels=["a", "b", "c"])  # spectralbrain: ValueError too
    with pytest.raises(ValueError, match="square"):
        save_connectome(target, np.ones((2, 3)))  # spectralbrain writes this without labels
    assert target.read_text() == "the previous matrix"
    save_connectome(target, np.array([[1, 2], [3, 4]]), float_format="%.6f")  # integers are fine
    assert target.read_text() == "\t0\t1\n0\t1.000000\t2.000000\n1\t3.000000\t4.000000\n"


def test_mrtrix_comment_lines_are_kept_and_written_back(tmp_path: Path) -> None:
    """MRtrix's save_matrix writes "# key: value" lines above the values; np.loadtxt skips them."""
    csv = tmp_path / "tck2connectome.csv"
    header = ["mrtrix_version: 3.0.4", "command_history: tck2connectome in.tck nodes.mif out.csv -symmetric"]
    csv.write_text("".join(f"# {line}\n" for line in header) + "0,2.5\n2.5,0\n")
    with pytest.warns(UserWarning, match="no sidecar"):
        back = conversion.read(str(csv))
    assert back.metadata == {"mrtrix_header": header} and back.matrix[0, 1] == 2.5
    copy = tmp_path / "copy.csv"
    assert conversion.write(back, str(copy)) == []
    assert copy.read_text().splitlines()[:2] == [f"# {line}" for line in header]
    assert "mrtrix_header" not in json.loads(copy.with_suffix(".json").read_text())
    assert np.array_equal(np.loadtxt(copy, delimiter=","), back.matrix)
