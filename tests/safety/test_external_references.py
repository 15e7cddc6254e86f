"""Nothing outside the input is read: HDF5 external raw storage, external links and virtual datasets, and
GIfTI ExternalFileBinary are refused (exit 2, one line) unless --allow-external, and even then only files
inside the input's own folder are read. The files are made with h5py and nibabel, as other tools make them.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from cli_helpers import hub, one_line

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode, InputError

SECRET = b"root:x:0:0:root:/root:/bin/bash\n" * 4
ALLOWED = bytes(range(len(SECRET)))  # data a file may keep beside itself (sorted: valid spike times)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file beside the input's folder: never to be read through a file of that folder."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(SECRET)
    return secret


def _ragged(path: Path, times: dict) -> Path:
    """A spikelab ragged file whose spike_times dataset is made by `times(file)`."""
    with h5py.File(path, "w") as file:
        times(file)
        file.create_dataset("spike_times_index", data=np.array([len(SECRET)]))
        file.attrs["length_ms"] = 1e6
    return path


def _external_storage(folder: Path, target: str) -> Path:
    folder.mkdir(exist_ok=True)
    return _ragged(
        folder / "external.h5",
        lambda file: file.create_dataset(
            "spike_times", shape=(len(SECRET),), dtype="u1", external=[(target, 0, len(SECRET))]
        ),
    )


def _external_link(folder: Path, target: str) -> Path:
    folder.mkdir(exist_ok=True)
    return _ragged(
        folder / "link.h5", lambda file: file.__setitem__("spike_times", h5py.ExternalLink(target, "/times"))
    )


def _virtual(folder: Path, target: str) -> Path:
    folder.mkdir(exist_ok=True)

    def times(file: h5py.File) -> None:
        layout = h5py.VirtualLayout(shape=(len(SECRET),), dtype="u1")
        layout[:] = h5py.VirtualSource(target, "times", shape=(len(SECRET),))
        file.create_virtual_dataset("spike_times", layout)

    return _ragged(folder / "virtual.h5", times)


def _times_file(path: Path, data: bytes = SECRET) -> Path:
    with h5py.File(path, "w") as file:
        file.create_dataset("times", data=np.frombuffer(data, dtype="u1"))
    return path


MAKERS = {"external storage": _external_storage, "external link": _external_link, "virtual dataset": _virtual}


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize("command", ["info", "validate", "convert"])
def test_references_outside_the_file_are_refused(
    tmp_path: Path, outside: Path, kind: str, command: str, capsys: pytest.CaptureFixture
) -> None:
    target = str(outside) if kind == "external storage" else str(_times_file(tmp_path / "times.h5"))
    source = MAKERS[kind](tmp_path / "input", target)
    args = [command, str(source)] + ([str(tmp_path / "out.tsv")] if command == "convert" else [])
    code, out, err = hub(capsys, *args)
    assert code == ExitCode.USAGE, err + out
    line = one_line(err) if command != "validate" else out.strip()
    assert "points outside the file" in line and "--allow-external" in line
    assert not (tmp_path / "out.tsv").exists()


@pytest.mark.parametrize("kind", list(MAKERS))
def test_allowed_references_are_read_only_inside_the_input_folder(
    tmp_path: Path, outside: Path, kind: str, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "input"
    folder.mkdir()
    inside = folder / "data.bin" if kind == "external storage" else _times_file(folder / "times.h5", ALLOWED)
    if kind == "external storage":
        inside.write_bytes(ALLOWED)
    source = MAKERS[kind](folder, inside.name)  # relative: resolved against the input's folder
    model = conversion.read(str(source), allow_external=True)
    assert bytes(np.asarray(model.spike_times, dtype=np.uint8)) == ALLOWED
    escaping = "../secret.bin" if kind == "external storage" else "../times.h5"
    if kind != "external storage":
        _times_file(tmp_path / "times.h5")
    refused = MAKERS[kind](tmp_path / "other", escaping)
    code, _, err = hub(capsys, "--allow-external", "info", str(refused))
    assert code == ExitCode.USAGE, err
    assert "outside the input's folder" in one_line(err)
    absolute = MAKERS[kind](
        tmp_path / "absolute", str(outside if kind == "external storage" else tmp_path / "times.h5")
    )
    with pytest.raises(InputError, match="outside the input's folder"):
        conversion.read(str(absolute), allow_external=True)


def test_the_cli_flag_holds_for_one_command_only(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "data.bin").write_bytes(ALLOWED)
    source = _external_storage(folder, "data.bin")
    assert hub(capsys, "--allow-external", "validate", str(source))[0] == ExitCode.OK
    assert hub(capsys, "validate", str(source))[0] == ExitCode.USAGE


def _gifti(path: Path, external: str) -> Path:
    """A GIfTI surface whose coordinates live in an external binary file (as nibabel's external.gii)."""
    vertices = np.zeros((3, 3), dtype="<f4")
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<GIFTI Version="1.0" NumberOfDataArrays="2">
 <DataArray Intent="NIFTI_INTENT_POINTSET" DataType="NIFTI_TYPE_FLOAT32" ArrayIndexingOrder="RowMajorOrder"
  Dimensionality="2" Dim0="3" Dim1="3" Encoding="ExternalFileBinary" Endian="LittleEndian"
  ExternalFileName="{external}" ExternalFileOffset="0"><Data></Data></DataArray>
 <DataArray Intent="NIFTI_INTENT_TRIANGLE" DataType="NIFTI_TYPE_INT32" ArrayIndexingOrder="RowMajorOrder"
  Dimensionality="2" Dim0="1" Dim1="3" Encoding="ASCII" Endian="LittleEndian" ExternalFileName=""
  ExternalFileOffset=""><Data>0 1 2</Data></DataArray>
</GIFTI>
"""
    path.write_text(text)
    (path.parent / "coordinates.dat").write_bytes(vertices.tobytes())
    return path


@pytest.mark.parametrize("external", ["/etc/passwd", "../../etc/passwd", "../coordinates.dat"])
def test_gifti_external_files_outside_are_refused(
    tmp_path: Path, external: str, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "input"
    folder.mkdir()
    source = _gifti(folder / "lh.surf.gii", external)
    for flags in ([], ["--allow-external"]):
        code, _, err = hub(capsys, *flags, "convert", str(source), str(tmp_path / "out.ply"))
        assert code == ExitCode.USAGE, err
        assert "ExternalFileBinary" in one_line(err)
    assert not (tmp_path / "out.ply").exists()


def test_gifti_external_files_inside_are_read_when_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = _gifti(tmp_path / "lh.surf.gii", "coordinates.dat")
    assert hub(capsys, "info", str(source))[0] == ExitCode.USAGE
    code, _, err = hub(capsys, "--allow-external", "convert", str(source), str(tmp_path / "out.ply"))
    assert code == ExitCode.OK, err
    assert conversion.read(str(tmp_path / "out.ply")).faces.tolist() == [[0, 1, 2]]


def _trx_folder(folder: Path, positions: Path) -> Path:
    """A TRX folder (the spec's uncompressed form) whose positions member is a symbolic link."""
    folder.mkdir(parents=True)
    header = {
        "DIMENSIONS": [10, 10, 10],
        "VOXEL_TO_RASMM": np.eye(4).tolist(),
        "NB_VERTICES": 4,
        "NB_STREAMLINES": 2,
    }
    (folder / "header.json").write_text(json.dumps(header))
    np.array([0, 2], dtype="<u4").tofile(folder / "offsets.uint32")
    (folder / "positions.3.float32").symlink_to(positions)
    return folder


def test_trx_folder_members_linked_outside_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    points = np.arange(12, dtype="<f4").reshape(4, 3)
    secret = tmp_path / "secret.float32"
    points.tofile(secret)
    escaping = _trx_folder(tmp_path / "input" / "tracks", secret)
    code, _, err = hub(capsys, "info", str(escaping))
    assert code == ExitCode.USAGE and "TRX member positions.3.float32" in one_line(err), err
    assert "points outside the file" in err
    code, _, err = hub(capsys, "--allow-external", "info", str(escaping))
    assert code == ExitCode.USAGE and "outside the input's folder" in one_line(err), err
    beside = tmp_path / "input" / "points.float32"  # in the input's own folder: read when allowed
    points.tofile(beside)
    linked = _trx_folder(tmp_path / "input" / "linked", beside)
    with pytest.raises(InputError, match="points outside the file"):
        conversion.read(str(linked))
    np.testing.assert_array_equal(conversion.read(str(linked), allow_external=True).positions, points)
