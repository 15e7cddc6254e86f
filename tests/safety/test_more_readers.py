"""The safety rules on the readers main added after the core checks: MAT-files (v5 and v7.3), NIX,
SpikeInterface sorting folders and MGH overlays check what they declare against the memory budget, and
refuse references outside the input, before reading (exit 2, one line). The files are made with the
tools that make them (scipy.io, h5py, nibabel, the hub's writers) and then made to lie."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest
from cli_helpers import hub, one_line

from neurodatahub.core import conversion
from neurodatahub.core.codecs import matlab
from neurodatahub.core.errors import ExitCode
from neurodatahub.spikes import common


def _refused(capsys: pytest.CaptureFixture, *args: str) -> str:
    code, out, err = hub(capsys, "--max-memory", "1G", *args)
    assert code == ExitCode.USAGE, err + out
    return one_line(err)


def test_a_v5_mat_file_declaring_a_huge_matrix_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from scipy.io import savemat

    path = tmp_path / "conn.mat"
    savemat(path, {"W": np.eye(2)}, format="5", do_compression=False)
    raw = path.read_bytes()
    dims = struct.pack("<iiii", 5, 8, 2, 2)  # the miINT32 dimensions element of W
    assert raw.count(dims) == 1
    path.write_bytes(raw.replace(dims, struct.pack("<iiii", 5, 8, 100_000, 100_000)))
    line = _refused(capsys, "convert", str(path), str(tmp_path / "out.tsv"))
    assert "variable W" in line and "80 GB" in line and "--max-memory" in line
    assert not (tmp_path / "out.tsv").exists()


def test_a_v73_mat_file_declaring_a_huge_matrix_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "conn.mat"
    with h5py.File(path, "w", userblock_size=matlab.USERBLOCK) as file:  # chunks never written: ~2 kB
        dataset = file.create_dataset("W", shape=(100_000, 100_000), dtype="f8", chunks=(1000, 1000))
        dataset.attrs["MATLAB_class"] = np.bytes_("double")
    with open(path, "r+b") as handle:
        handle.write(matlab.header("7.3"))
    assert path.stat().st_size < 10_000
    line = _refused(capsys, "convert", str(path), str(tmp_path / "out.tsv"))
    assert "/W" in line and "80 GB" in line


def test_a_v73_mat_file_pointing_outside_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "conn.mat"
    with h5py.File(path, "w", userblock_size=matlab.USERBLOCK) as file:
        dataset = file.create_dataset("W", shape=(2, 2), dtype="u1", external=[("/etc/hostname", 0, 4)])
        dataset.attrs["MATLAB_class"] = np.bytes_("uint8")
    with open(path, "r+b") as handle:
        handle.write(matlab.header("7.3"))
    line = _refused(capsys, "convert", str(path), str(tmp_path / "out.tsv"))
    assert "/etc/hostname" in line and "--allow-external" in line


def _sorting() -> object:
    return common.from_trains(
        [np.array([0.001, 0.5]), np.array([0.25])], time_unit="s", sampling_rate=30000.0, length=1.0
    )


def test_a_nix_file_with_an_external_link_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "spikes.nix"
    conversion.write(_sorting(), str(path))
    with h5py.File(path, "a") as file:
        file["metadata"]["elsewhere"] = h5py.ExternalLink("/etc/hostname", "/x")
    for chosen in ((), ("--from", "nix")):  # detected, or named (no detection opens it first)
        line = _refused(capsys, "convert", str(path), str(tmp_path / "out.parquet"), *chosen)
        assert "external link" in line and "/etc/hostname" in line
    assert not (tmp_path / "out.parquet").exists()


def _npy_header(shape: tuple[int, ...], descr: object) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def test_a_sorting_folder_declaring_billions_of_spikes_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = tmp_path / "good.si"
    conversion.write(_sorting(), str(good))
    spikes = np.load(good / "spikes.npy")
    bomb = tmp_path / "bomb.si"
    shutil.copytree(good, bomb)
    descr = np.lib.format.dtype_to_descr(spikes.dtype)
    (bomb / "spikes.npy").write_bytes(_npy_header((1_000_000_000,), descr))
    line = _refused(capsys, "convert", str(bomb), str(tmp_path / "out.parquet"))
    assert "spikes.npy" in line and "24 GB" in line and "--max-memory" in line
    pickled = tmp_path / "pickled.si"
    shutil.copytree(good, pickled)
    (pickled / "properties").mkdir(exist_ok=True)
    (pickled / "properties" / "quality.npy").write_bytes(_npy_header((2,), "|O") + b"\x80\x04N.")
    line = _refused(capsys, "convert", str(pickled), str(tmp_path / "out.parquet"))
    assert "pickled" in line
    assert json.loads((good / "numpysorting_info.json").read_text())  # the seed itself was valid
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("name", ["lh.thickness.mgh", "lh.thickness.mgz"])
def test_an_mgh_overlay_declaring_a_billion_vertices_is_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import gzip

    import nibabel as nib

    raw = bytearray(nib.MGHImage(np.zeros((4, 1, 1), np.float32), np.eye(4)).to_bytes())
    raw[4:8] = (1_000_000_000).to_bytes(4, "big")  # the width: vertices
    path = tmp_path / name
    path.write_bytes(gzip.compress(bytes(raw)) if name.endswith(".mgz") else bytes(raw))
    line = _refused(capsys, "info", str(path))
    assert "MGH data" in line and "4 GB" in line


def test_a_graphml_of_many_nodes_is_refused_before_its_matrix(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "nodes.graphml"
    nodes = "".join(f'<node id="n{index}"/>' for index in range(20_000))  # 380 kB: a 3.2 GB matrix
    path.write_text(
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        f'<graph edgedefault="undirected">{nodes}<edge source="n0" target="n1"/></graph></graphml>'
    )
    line = _refused(capsys, "convert", str(path), str(tmp_path / "out.tsv"))
    assert "20000 nodes" in line and "3.2 GB" in line
    assert not (tmp_path / "out.tsv").exists()


def test_a_graphml_entity_bomb_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    entities = '<!ENTITY e0 "xxxxxxxxxx">' + "".join(
        f'<!ENTITY e{level} "{f"&e{level - 1};" * 10}">' for level in range(1, 10)
    )
    path = tmp_path / "laughs.graphml"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE graphml [{entities}]>'
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">'
        '<node id="&e9;"/></graph></graphml>'
    )
    line = _refused(capsys, "convert", str(path), str(tmp_path / "out.tsv"), "--from", "graphml")
    assert "not a readable GraphML file" in line


def test_a_zarr_sorting_declaring_billions_or_pickles_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = tmp_path / "good.zarr"
    conversion.write(_sorting(), str(good), format="si-zarr")
    bomb = tmp_path / "bomb.zarr"
    shutil.copytree(good, bomb)
    declaration = bomb / "spikes" / "sample_index" / ".zarray"
    zarray = json.loads(declaration.read_text())
    declaration.write_text(json.dumps({**zarray, "shape": [4_000_000_000]}))  # its chunks absent: fill values
    line = _refused(capsys, "convert", str(bomb), str(tmp_path / "out.parquet"))
    assert "sample_index" in line and "32 GB" in line and "--max-memory" in line
    pickled = tmp_path / "pickled.zarr"
    shutil.copytree(good, pickled)
    declaration = pickled / "unit_ids" / ".zarray"
    declaration.write_text(json.dumps({**json.loads(declaration.read_text()), "filters": [{"id": "pickle"}]}))
    line = _refused(capsys, "convert", str(pickled), str(tmp_path / "out.parquet"))
    assert "unit_ids holds pickled Python objects" in line
    assert not (tmp_path / "out.parquet").exists()


def test_a_manifest_alias_bomb_or_damaged_manifest_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join([*lines, "entries: [{source: x.h5, target: y.parquet, extra: *i}]"]) + "\n")
    line = _refused(capsys, "convert", "--manifest", str(bomb))
    assert "aliases expanded" in line and "--max-memory" in line
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"source,target\n\xff\xfe,x\n")
    assert "not UTF-8 text" in _refused(capsys, "convert", "--manifest", str(binary))
    huge = tmp_path / "huge.csv"
    huge.write_text('source,target\n"' + "x" * 200_000 + '",y.parquet\n')
    assert "not a readable manifest" in _refused(capsys, "convert", "--manifest", str(huge))


def test_a_parcel_table_with_a_hostile_sidecar_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    table = tmp_path / "sub-01_atlas-demo_parcelstats.tsv"
    table.write_text("region\tvalue\nleft\t0.5\n", encoding="utf-8")
    sidecar = tmp_path / "sub-01_atlas-demo_parcelstats.json"
    sidecar.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")  # nested past any parser's stack
    assert "nested too deeply" in _refused(capsys, "info", str(table), "--kind", "parcels")
    sidecar.write_text('{"Description": ' + "7" * 10_000 + "}", encoding="utf-8")  # a 10,000-digit number
    assert "digits" in _refused(capsys, "info", str(table), "--kind", "parcels")
    sidecar.write_text('{"Description": "' + "x" * 4_000_000 + '"}', encoding="utf-8")
    line = _refused(capsys, "--max-memory", "16M", "info", str(table), "--kind", "parcels")
    assert "--max-memory" in line and sidecar.name in line
