"""spikelab pickles: refused unless allow_pickle is given, read equal to spikelab's own objects when it is."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from spikelab.data_loaders.data_exporters import export_to_pickle
from spikelab.spikedata import SpikeData as SpikelabData
from strategies import assert_same_spikes, spike_data

from neurodatahub.cli import main
from neurodatahub.core import conversion, registry
from neurodatahub.core.errors import ExitCode, InputError, UsageError
from neurodatahub.models import SpikeData
from neurodatahub.spikes import common


class RunsCode:
    """Unpickling this creates a folder: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def to_spikelab(spikes: SpikeData) -> SpikelabData:
    """The same data as spikelab holds it: trains in ms, one attribute dict per unit."""
    attributes = common.attributes(spikes)
    records = [
        {"unit_id": int(unit_id), **{name: values[i] for name, values in attributes.items()}}
        for i, unit_id in enumerate(spikes.unit_ids)
    ]
    start, length = common.window_in(spikes, "ms")
    return SpikelabData(
        [
            common.convert_times(train, spikes.time_unit, "ms", spikes.sampling_rate)
            for train in common.trains(spikes)
        ],
        N=len(spikes.unit_ids),
        start_time=start,
        length=length,
        neuron_attributes=records,
        metadata=spikes.metadata,
    )


@pytest.fixture
def spikelab_pickle(tmp_path: Path) -> tuple[Path, SpikelabData]:
    data = SpikelabData(
        [np.array([5.0, 1.0, 2.5]), np.array([]), np.array([7.25])],
        start_time=-1.0,
        length=10.0,
        neuron_attributes=[
            {"unit_id": 12, "electrode": 3, "location": [1.0, 2.0], "quality": "good"},
            {"unit_id": 4, "electrode": 4, "location": [3.0, 4.0], "quality": "mua"},
            {"unit_id": 7, "electrode": 5, "location": [0.0, 1.0], "quality": "good", "note": "only here"},
        ],
        metadata={"fs_Hz": 20000.0, "channels": np.arange(3), "experiment": "organoid"},
        raw_data=np.arange(10.0).reshape(2, 5),
        raw_time=np.arange(5) * 0.05,
    )
    path = tmp_path / "spikes.pkl"
    export_to_pickle(data, str(path))
    return path, data


def test_a_spikelab_pickle_reads_equal_when_allowed(spikelab_pickle: tuple[Path, SpikelabData]) -> None:
    path, data = spikelab_pickle
    with pytest.warns(UserWarning, match="note"):  # missing for two units: not a column
        got = conversion.read(str(path), allow_pickle=True)
    assert got.time_unit == "ms" and got.start_time == -1.0 and got.length == 10.0
    assert got.unit_ids.tolist() == [12, 4, 7]
    for train, expected in zip(common.trains(got), data.train, strict=True):
        np.testing.assert_array_equal(train, expected)
    attributes = common.attributes(got)
    assert list(attributes) == ["electrode", "location", "quality"]
    np.testing.assert_array_equal(attributes["location"], [[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]])
    assert attributes["quality"].tolist() == ["good", "mua", "good"]
    assert got.metadata == {"fs_Hz": 20000.0, "channels": [0, 1, 2], "experiment": "organoid"}
    assert got.sampling_rate == 20000.0
    np.testing.assert_array_equal(got.raw_data.data, data.raw_data)
    np.testing.assert_array_equal(got.raw_data.time, data.raw_time)


@settings(max_examples=40, deadline=None)
@given(spikes=spike_data(units=("ms",)))
def test_spikelab_objects_read_back_as_they_were(spikes: SpikeData) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.pkl"
        export_to_pickle(to_spikelab(spikes), str(path))
        got = conversion.read(str(path), allow_pickle=True)
    assert_same_spikes(got, spikes, ignore=("sampling_rate",))


def test_without_allow_pickle_nothing_is_loaded(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(RunsCode(marker)))
    assert registry.detect_format(str(path)).name == "pickle"
    with pytest.raises(InputError, match="runs code from the file"):
        conversion.read(str(path))
    assert main(["info", str(path)]) == ExitCode.USAGE
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--allow-pickle" in lines[0]
    assert main(["convert", str(path), str(tmp_path / "out.parquet")]) == ExitCode.USAGE
    assert not marker.exists()
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["evil.pkl"]


def test_allow_pickle_must_be_a_boolean(spikelab_pickle: tuple[Path, SpikelabData]) -> None:
    with pytest.raises(UsageError, match="true or false"):
        conversion.read(str(spikelab_pickle[0]), allow_pickle="yes")


def test_the_cli_converts_a_pickle_when_asked(
    spikelab_pickle: tuple[Path, SpikelabData], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path, _ = spikelab_pickle
    target = tmp_path / "out.npz"
    code = main(["convert", str(path), str(target), "--read-option", "allow_pickle=true"])
    err = capsys.readouterr().err
    assert code == ExitCode.OK, err
    assert f"hub: warning: {path}: neuron attributes note are missing" in err  # one line, the user's file
    got = conversion.read(str(target))
    assert got.unit_ids.tolist() == [12, 4, 7] and got.raw_data is not None
    assert got.provenance[-1].parameters["from"] == "pickle"


def test_info_loads_a_pickle_only_with_the_flag(
    spikelab_pickle: tuple[Path, SpikelabData], capsys: pytest.CaptureFixture
) -> None:
    path, _ = spikelab_pickle
    assert main(["info", str(path), "--json"]) == ExitCode.USAGE
    capsys.readouterr()
    assert main(["info", str(path), "--json", "--allow-pickle"]) == ExitCode.OK
    out, err = capsys.readouterr()
    assert json.loads(out)["units"] == 3
    assert err.startswith("hub: warning: ") and "note" in err and len(err.splitlines()) == 1


def test_other_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dict.pkl"
    path.write_bytes(pickle.dumps({"train": [[1.0]]}))
    with pytest.raises(InputError, match=r"holds a builtins\.dict"):
        conversion.read(str(path), allow_pickle=True)
    path.write_bytes(b"\x80\x02cno_such_module_for_the_hub\nThing\nq\x00.")
    with pytest.raises(InputError, match="no_such_module_for_the_hub"):
        conversion.read(str(path), allow_pickle=True)
    path.write_bytes(pickle.dumps([1, 2, 3])[:-3])
    with pytest.raises(InputError, match="cannot unpickle"):
        conversion.read(str(path), allow_pickle=True)


def test_pickles_are_never_written(tmp_path: Path) -> None:
    spikes = common.from_trains([[0.5]], time_unit="s")
    with pytest.raises(UsageError, match="no writable format"):
        conversion.write(spikes, str(tmp_path / "x.pkl"))
    with pytest.raises(UsageError, match="cannot be written"):
        conversion.write(spikes, str(tmp_path / "x.out"), format="pickle")


def test_s3_read_when_allowed(spikelab_pickle: tuple[Path, SpikelabData], s3_bucket: str) -> None:
    import s3fs

    path, _ = spikelab_pickle
    url = f"{s3_bucket}/spikes.pkl"
    s3fs.S3FileSystem(endpoint_url=os.environ["AWS_ENDPOINT_URL"]).put_file(str(path), url)
    with pytest.raises(InputError, match="runs code"):
        conversion.read(url)
    with pytest.warns(UserWarning):
        got = conversion.read(url, allow_pickle=True)
    assert got.unit_ids.tolist() == [12, 4, 7]
