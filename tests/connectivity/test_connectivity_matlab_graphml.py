"""MATLAB and GraphML connectomes against their peers: scipy.io, h5py, mat73 and hdf5storage (v7.3 as MATLAB
writes it), networkx; BCT's and CONN's variable names; `hub info` listing several matrices; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import networkx as nx
import numpy as np
import pytest
import scipy.io as sio
from cli_helpers import hub, one_line

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode
from neurodatahub.models import ConnectivityMatrix

LABELS = ["L_Frontal", "R_Frontal", "Thalamus é"]
WEIGHTS = np.array([[0.0, 2.5, 0.0], [2.5, 1.0, 7.25], [0.0, 7.25, 0.0]])


def cellstr(labels: list[str]) -> np.ndarray:
    """A 1 x N cell array of char, as scipy and hdf5storage write MATLAB cells."""
    cell = np.empty((1, len(labels)), dtype=object)
    for index, label in enumerate(labels):
        cell[0, index] = label
    return cell


def model(**fields: object) -> ConnectivityMatrix:
    return ConnectivityMatrix(matrix=WEIGHTS, region_labels=LABELS, measure="streamline count", **fields)


# ---- MATLAB ----


def test_scipy_reads_our_v5_file_as_matlab_would_load_it(tmp_path: Path) -> None:
    conversion.write(model(symmetric=True, metadata={"subject": "01"}), str(tmp_path / "conn.mat"))
    loaded = sio.loadmat(tmp_path / "conn.mat", simplify_cells=True)
    assert np.array_equal(loaded["W"], WEIGHTS)
    assert list(loaded["region_labels"]) == LABELS and loaded["measure"] == "streamline count"
    assert loaded["symmetric"] is True or loaded["symmetric"] == 1
    assert json.loads(loaded["metadata_json"]) == {"subject": "01"}


def test_h5py_and_mat73_read_our_v73_file(tmp_path: Path) -> None:
    import mat73

    target = tmp_path / "conn.mat"
    conversion.write(model(), str(target), version="7.3", variable="CIJ")
    assert target.read_bytes().startswith(b"MATLAB 7.3 MAT-file")
    with h5py.File(target, "r") as file:  # MATLAB's layout: transposed, MATLAB_class, cells by reference
        assert file["CIJ"].attrs["MATLAB_class"] == b"double"
        assert np.array_equal(file["CIJ"][()].T, WEIGHTS)
        assert file["region_labels"].attrs["MATLAB_class"] == b"cell"
    loaded = mat73.loadmat(str(target))
    assert np.array_equal(loaded["CIJ"], WEIGHTS) and loaded["region_labels"] == LABELS


def test_v73_written_by_hdf5storage_as_matlab_writes_it_reads_equal(tmp_path: Path) -> None:
    import hdf5storage

    target = tmp_path / "resultsROI_Condition001.mat"  # CONN's ROI-to-ROI results: Z and names
    hdf5storage.savemat(
        str(target), {"Z": WEIGHTS, "names": cellstr(LABELS), "xyz": np.ones((3, 2))}, format="7.3",
        matlab_compatible=True,
    )  # fmt: skip
    back = conversion.read(str(target))
    assert back.region_labels == LABELS and np.array_equal(back.matrix, WEIGHTS)
    back_single = conversion.read(str(target), variable="Z")
    assert np.array_equal(back_single.matrix, WEIGHTS)


def test_bct_variable_names_and_foreign_v5_files(tmp_path: Path) -> None:
    target = tmp_path / "bct.mat"
    sio.savemat(target, {"CIJ": (WEIGHTS > 0).astype(np.uint8), "names": cellstr(LABELS)})  # BCT's binary CIJ
    back = conversion.read(str(target))
    assert back.region_labels == LABELS and np.array_equal(back.matrix, (WEIGHTS > 0).astype(float))
    sio.savemat(tmp_path / "bare.mat", {"connectivity": WEIGHTS.astype(np.float32)})
    bare = conversion.read(str(tmp_path / "bare.mat"))
    assert bare.region_labels == ["1", "2", "3"] and bare.matrix.dtype == np.float32


def test_several_matrices_are_listed_by_info_and_chosen_with_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    target = tmp_path / "group.mat"
    sio.savemat(target, {"fa": WEIGHTS, "md": WEIGHTS * 2, "names": cellstr(LABELS)})
    code, _, err = hub(capsys, "convert", str(target), str(tmp_path / "out.tsv"))
    assert code == ExitCode.USAGE
    assert "several matrices: fa (3x3 double), md (3x3 double); choose one with -R variable=NAME" in one_line(
        err
    )
    code, out, _ = hub(capsys, "info", str(target), "--json")
    listed = json.loads(out)["matrices"]
    assert code == 0 and [item["variable"] for item in listed] == ["fa", "md"]
    assert hub(capsys, "convert", str(target), str(tmp_path / "md.tsv"), "-R", "variable=md")[0] == 0
    assert np.array_equal(conversion.read(str(tmp_path / "md.tsv")).matrix, WEIGHTS * 2)
    code, out, _ = hub(capsys, "info", str(target), "-R", "variable=fa", "--json")
    assert code == 0 and json.loads(out)["regions"] == 3


def test_mat_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    conversion.write(model(), str(tmp_path / "good.mat"))
    cut = tmp_path / "cut.mat"
    cut.write_bytes((tmp_path / "good.mat").read_bytes()[:300])
    series = tmp_path / "series.mat"
    sio.savemat(series, {"Z": np.zeros((3, 3, 4))})
    text = tmp_path / "conn.mat"
    text.write_bytes(b"\x00\x01\xff not a matrix at all")
    for path, fragment in [
        (cut, "not a readable MAT-file"),
        (series, "holds no square matrix"),
        (text, "not a readable MAT-file"),
    ]:
        code, _, err = hub(capsys, "convert", str(path), str(tmp_path / "out.tsv"))
        assert code == ExitCode.USAGE and fragment in one_line(err), err
    code, _, err = hub(capsys, "convert", str(series), str(tmp_path / "out.tsv"), "-R", "variable=Z")
    assert code == ExitCode.USAGE and "3x3x4 double" in err and "one matrix per subject" in err
    code, _, err = hub(
        capsys, "convert", str(tmp_path / "good.mat"), str(tmp_path / "o.mat"), "-O", "version=6"
    )
    assert code == ExitCode.USAGE and "option version must be 5 or 7.3, got 6" in one_line(err)
    assert not (tmp_path / "out.tsv").exists() and not (tmp_path / "o.mat").exists()


# ---- GraphML ----


def test_networkx_reads_our_graphml_equal_and_undirected_for_symmetric(tmp_path: Path) -> None:
    coordinates = [[-40.0, 20.0, 30.5], [40.0, 20.0, 30.5], [0.0, -10.0, 5.0]]
    conversion.write(model(metadata={"region_coordinates": coordinates}), str(tmp_path / "conn.graphml"))
    graph = nx.read_graphml(tmp_path / "conn.graphml")
    assert not graph.is_directed() and graph.number_of_edges() == 3  # 2 pairs and one self-loop
    assert [graph.nodes[node]["label"] for node in graph] == LABELS
    assert [[graph.nodes[node][axis] for axis in "xyz"] for node in graph] == coordinates
    assert np.array_equal(nx.to_numpy_array(graph, weight="weight"), WEIGHTS)


def test_asymmetric_matrix_is_a_directed_graph(tmp_path: Path) -> None:
    directed = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 3.0], [2.0, 0.0, 0.0]])
    conversion.write(ConnectivityMatrix(matrix=directed, region_labels=LABELS), str(tmp_path / "d.graphml"))
    graph = nx.read_graphml(tmp_path / "d.graphml")
    assert graph.is_directed() and sorted(graph.edges) == [("0", "1"), ("1", "2"), ("2", "0")]
    assert np.array_equal(conversion.read(str(tmp_path / "d.graphml")).matrix, directed)


def test_graphs_networkx_writes_read_equal(tmp_path: Path) -> None:
    graph = nx.Graph()  # as Connectome Mapper writes them: dn_name, dn_position_*, several edge measures
    for index, label in enumerate(LABELS):
        graph.add_node(str(index + 1), dn_name=label, dn_position_x=float(index), dn_position_y=1.0,
                       dn_position_z=2.0, dn_hemisphere="left")  # fmt: skip
    graph.add_edge("1", "2", number_of_fibers=25, fiber_length_mean=41.5)
    graph.add_edge("2", "3", number_of_fibers=3, fiber_length_mean=80.0)
    nx.write_graphml(graph, tmp_path / "cmp.graphml")
    with pytest.raises(Exception, match="several measures"):
        conversion.read(str(tmp_path / "cmp.graphml"))
    back = conversion.read(str(tmp_path / "cmp.graphml"), weight="number_of_fibers")
    assert back.region_labels == LABELS and back.symmetric is True
    assert np.array_equal(back.matrix, [[0, 25, 0], [25, 0, 3], [0, 3, 0]])
    assert back.metadata["region_coordinates"][1] == [1.0, 1.0, 2.0]
    assert back.metadata["node_attributes"]["dn_hemisphere"] == ["left"] * 3


def test_graphml_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    conversion.write(model(), str(tmp_path / "good.graphml"))
    cut = tmp_path / "cut.graphml"
    cut.write_bytes((tmp_path / "good.graphml").read_bytes()[:600])
    multi = nx.MultiGraph([("a", "b"), ("a", "b")])
    nx.write_graphml(multi, tmp_path / "multi.graphml")
    for path, fragment in [(cut, "not a readable GraphML"), (tmp_path / "multi.graphml", "parallel edges")]:
        code, _, err = hub(capsys, "convert", str(path), str(tmp_path / "out.tsv"))
        assert code == ExitCode.USAGE and fragment in one_line(err), err
    assert not (tmp_path / "out.tsv").exists()
