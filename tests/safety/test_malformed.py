"""Malformed input is exit 1 or 2, never 70: the inputs that made the hub report an internal error, each
made here from a valid file the way an attacker or a buggy tool would damage it. And the library's
warnings are one `warning:` line, a NaN affine is said to be one, random .npy bytes are not "pickled".
"""

from __future__ import annotations

import gzip
import json
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np
import pytest
from cli_helpers import hub, one_line

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode

SCRATCH = "scratch/neurodatahub"


@pytest.fixture(scope="module")
def pynwb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NWB file as pynwb writes it: a Units table whose electrodes column is a region of electrodes."""
    import pynwb

    nwbfile = pynwb.NWBFile("made by pynwb", "id-1", datetime(2024, 1, 2, tzinfo=UTC))
    device = nwbfile.create_device("probe")
    group = nwbfile.create_electrode_group("shank0", "a shank", "CA1", device)
    for index in range(3):
        nwbfile.add_electrode(
            x=float(index), y=0.0, z=0.0, location="CA1", group=group, filtering="none", imp=1.0
        )
    for index, train in enumerate(([0.1, 0.5], [0.2], [0.3, 0.9])):
        nwbfile.add_unit(spike_times=train, electrodes=[index], id=10 + index)
    path = tmp_path_factory.mktemp("nwb") / "units.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


@pytest.fixture(scope="module")
def hub_nwb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NWB file the hub wrote (it carries the hub's scratch record)."""
    from neurodatahub.spikes import common

    path = tmp_path_factory.mktemp("hubnwb") / "hub.nwb"
    conversion.write(common.from_trains([[0.1, 0.5], [0.2]], time_unit="s", length=1.0), str(path))
    return path


@pytest.fixture(scope="module")
def hub_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spike HDF5 file the hub wrote: spikelab's ragged layout and the hub's own group."""
    from neurodatahub.spikes import common

    path = tmp_path_factory.mktemp("hubh5") / "hub.h5"
    conversion.write(
        common.from_trains([[0.1, 0.5], [0.2]], time_unit="s", length=1.0, metadata={"lab": "x"}), str(path)
    )
    return path


def _damaged(source: Path, tmp_path: Path, damage: Callable[[h5py.File], None]) -> Path:
    path = tmp_path / source.name
    path.write_bytes(source.read_bytes())
    with h5py.File(path, "r+") as file:
        damage(file)
    return path


def _replace(file: h5py.File, name: str, data: object) -> None:
    del file[name]
    file[name] = data


NWB_DAMAGE = {
    "bad scratch JSON": lambda file: _replace(file, SCRATCH, "{not json"),
    "scratch JSON that is a list": lambda file: _replace(file, SCRATCH, "[1, 2]"),
    "strings as times": lambda file: _replace(file, "units/spike_times", np.array([b"a", b"b", b"c", b"d"])),
    "an index past the times": lambda file: _replace(file, "units/spike_times_index", np.array([1, 2, 99])),
}
PYNWB_DAMAGE = {
    "a region index out of range": lambda file: file["units/electrodes"].__setitem__(2, 7),
    "a negative region index": lambda file: file["units/electrodes"].__setitem__(1, -5),
    "a group where spike times belong": lambda file: (
        file.__delitem__("units/spike_times"),
        file.create_group("units/spike_times"),
    ),
}
H5_DAMAGE = {
    "hub group with bad JSON": lambda file: file["neurodatahub"].attrs.__setitem__("metadata_json", "{oops"),
    "text start_time": lambda file: file.attrs.__setitem__("start_time", "yesterday"),
    "a subgroup where a dataset belongs": lambda file: (
        file.__delitem__("spike_times_index"),
        file.create_group("spike_times_index"),
    ),
    "the hub group as a dataset": lambda file: (
        file.__delitem__("neurodatahub"),
        file.create_dataset("neurodatahub", data=1),
    ),
    "a hub attribute of text": lambda file: file["neurodatahub"].attrs.__setitem__("sampling_rate", "fast"),
    "unit attribute order naming nothing": lambda file: (
        file["neurodatahub"].create_group("unit_attributes").attrs.__setitem__("order", '["ghost"]')
    ),
}


def _exit_1_or_2(capsys: pytest.CaptureFixture, path: Path, tmp_path: Path) -> None:
    """validate and convert: exit 1 or 2, one line (validate: its report), no traceback; info as well,
    unless the damage lies where its header-only summary does not look (then it succeeds)."""
    for args in (["info", str(path)], ["convert", str(path), str(tmp_path / "out.parquet")]):
        code, out, err = hub(capsys, *args)
        if code == ExitCode.OK and args[0] == "info":
            continue
        assert code in (ExitCode.INVALID, ExitCode.USAGE), (args, err, out)
        assert "internal error" not in one_line(err)
    code, out, err = hub(capsys, "validate", str(path))
    assert code in (ExitCode.INVALID, ExitCode.USAGE) and "Traceback" not in err + out, err + out
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("damage", list(NWB_DAMAGE))
def test_damaged_hub_nwb_files(
    hub_nwb: Path, tmp_path: Path, damage: str, capsys: pytest.CaptureFixture
) -> None:
    _exit_1_or_2(capsys, _damaged(hub_nwb, tmp_path, NWB_DAMAGE[damage]), tmp_path)


@pytest.mark.parametrize("damage", list(PYNWB_DAMAGE))
def test_damaged_pynwb_files(
    pynwb_file: Path, tmp_path: Path, damage: str, capsys: pytest.CaptureFixture
) -> None:
    _exit_1_or_2(capsys, _damaged(pynwb_file, tmp_path, PYNWB_DAMAGE[damage]), tmp_path)


@pytest.mark.parametrize("damage", list(H5_DAMAGE))
def test_damaged_spike_hdf5_files(
    hub_h5: Path, tmp_path: Path, damage: str, capsys: pytest.CaptureFixture
) -> None:
    _exit_1_or_2(capsys, _damaged(hub_h5, tmp_path, H5_DAMAGE[damage]), tmp_path)


def test_a_raster_of_strings(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "raster.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("raster", data=np.array([[b"1", b"x"], [b"0", b"2"]]))
        file["raster"].attrs["bin_size_ms"] = 1.0
    _exit_1_or_2(capsys, path, tmp_path)


def _tck(path: Path, header: str, data: bytes = b"") -> Path:
    text = f"mrtrix tracks\n{header}END\n".encode()
    path.write_bytes(text + data)
    return path


@pytest.mark.parametrize(
    "header",
    [
        "count: 1\ndatatype: Float32LE\nfile: . 99999999999999999999999999\n",
        "count: 1\ndatatype: Float32LE\nfile: . 1000000\n",
        "count: 1\ndatatype: Float32LE\nfile: /etc/passwd 0\n",
        "count: 1\ndatatype: Int8\nfile: . 80\n",
        "reference_dimensions: 1 2\nreference_voxel_to_rasmm: x\nfile: . 90\n",
    ],
)
def test_damaged_tck_headers(tmp_path: Path, header: str, capsys: pytest.CaptureFixture) -> None:
    path = _tck(tmp_path / "bad.tck", header, np.array([[0, 0, 0], [np.inf] * 3], "<f4").tobytes())
    code, _, err = hub(capsys, "info", str(path))
    assert code == ExitCode.USAGE, err
    one_line(err)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", '{"spike_times": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        ("digits.json", '{"spike_times": [' + "1" * 10_000 + "]}"),
        ("deep.yaml", "spike_times: " + "[" * 5_000 + "]" * 5_000 + "\n"),
        ("digits.yaml", "spike_times: [" + "1" * 10_000 + "]\n"),
        ("self.yaml", "spike_times: &a [*a]\n"),
    ],
)
def test_documents_nested_too_deep_or_with_huge_numbers(
    tmp_path: Path, name: str, text: str, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / name
    path.write_text(text)
    code, _, err = hub(capsys, "info", str(path))
    assert code == ExitCode.USAGE, err
    assert "internal error" not in one_line(err)


def test_random_npy_bytes_are_not_called_pickled(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "sorting"
    folder.mkdir()
    np.save(folder / "spike_times.npy", np.arange(5, dtype=np.int64))
    (folder / "spike_clusters.npy").write_bytes(np.random.default_rng(0).bytes(200))
    (folder / "params.py").write_text("sample_rate = 30000.0\n")
    code, _, err = hub(capsys, "info", str(folder))
    assert code == ExitCode.USAGE, err
    line = one_line(err)
    assert "not a NumPy .npy array" in line and "pickle" not in line


def test_a_nan_affine_is_reported_as_such(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import nibabel as nib

    image = nib.Nifti1Image(np.ones((4, 4, 4), np.uint8), np.eye(4))
    image.header.set_sform(np.eye(4), code=1)
    raw = bytearray(image.to_bytes())
    raw[280:284] = struct.pack("<f", float("nan"))  # srow_x[0]
    path = tmp_path / "sub-01_space-MNI152NLin6Asym_label-lesion_mask.nii.gz"
    path.write_bytes(gzip.compress(bytes(raw)))
    code, out, _ = hub(capsys, "validate", str(path))
    assert code == ExitCode.INVALID
    assert "affine: holds NaN or infinite values" in out and "resolution" not in out


def test_nibabel_warnings_are_one_warning_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import nibabel as nib

    image = nib.Nifti1Image(np.ones((4, 4, 4), np.uint8), np.eye(4))
    raw = bytearray(image.to_bytes())
    raw[80:92] = struct.pack("<3f", 0, 0, 0)  # pixdim[1..3] = 0: nibabel logs a line and fixes it
    path = tmp_path / "sub-02_label-lesion_mask.nii.gz"
    path.write_bytes(gzip.compress(bytes(raw)))
    code, _, err = hub(capsys, "info", str(path), "--json")
    assert code == ExitCode.OK, err
    assert one_line(err) == "hub: warning: pixdim[1,2,3] should be non-zero; setting 0 dims to 1"


def test_python_warnings_are_one_warning_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from neurodatahub.core.terminal import one_line_warnings

    with one_line_warnings():
        import warnings

        warnings.warn("a library's\nwarning spread over\n  lines", RuntimeWarning, stacklevel=1)
        warnings.warn("a library's\nwarning spread over\n  lines", RuntimeWarning, stacklevel=1)
    assert capsys.readouterr().err == "hub: warning: a library's warning spread over lines\n"


def test_scratch_records_of_other_types_are_refused(hub_nwb: Path, tmp_path: Path) -> None:
    path = _damaged(hub_nwb, tmp_path, lambda file: _replace(file, SCRATCH, json.dumps("text")))
    with pytest.raises(Exception, match="not the hub's record"):
        conversion.read(str(path))


def test_a_library_message_of_several_lines_is_one_error_line() -> None:
    from neurodatahub.core.terminal import printable_line

    message = "x.parquet: not a readable Parquet file (Couldn't deserialize thrift: No more data to read.\n)"
    assert printable_line(message) == (
        "x.parquet: not a readable Parquet file (Couldn't deserialize thrift: No more data to read. )"
    )
    assert printable_line("name\x1b[31m\n  next") == "name\\x1b[31m next"
