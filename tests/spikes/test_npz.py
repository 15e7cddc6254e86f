"""NPZ archives: lossless round trips, numpy reading them alone, foreign layouts, and no unpickling ever."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DOCUMENTS
from hypothesis import given, settings, strategies as st
from strategies import losses_named, spike_data
from test_tables import assert_only_declared_losses, round_trip

from neurodatahub.cli import main
from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode, InputError, UsageError
from neurodatahub.models import SpikeData
from neurodatahub.spikes import common


class RunsCode:
    """Unpickling this creates a file: proof that code from an archive ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def _spikes(**fields: Any) -> SpikeData:
    trains = fields.pop("trains", [np.array([0.5, 1.25]), np.array([]), np.array([2.0])])
    return common.from_trains(trains, **{"time_unit": "s", "start_time": -1.0, "length": 4.0, **fields})


@settings(max_examples=60, deadline=None)
@given(spikes=spike_data(), unit=st.sampled_from([None, *common.TIME_UNITS]), compress=st.booleans())
def test_round_trip_in_any_unit(spikes: SpikeData, unit: str | None, compress: bool) -> None:
    options: dict[str, Any] = {"compress": compress}
    if unit is not None:
        options["time_unit"] = unit
    if unit == "samples" and spikes.sampling_rate is None:
        options["sampling_rate"] = 32000.0
        spikes = spikes.model_copy(update={"sampling_rate": 32000.0})
    with tempfile.TemporaryDirectory() as folder:
        got, losses = round_trip(spikes, Path(folder) / "spikes.npz", "npz", **options)
    assert got.time_unit == (unit or spikes.time_unit)
    assert losses_named(losses) <= {"spike_times", "start_time", "length"}
    if unit in (None, spikes.time_unit):
        assert losses == []


def test_a_huge_unit_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    spikes = _spikes(
        trains=[np.array([]), np.sort(rng.uniform(-1, 3, 2_000_000))],
        unit_attributes={"x": np.array([1.0, 2.0])},
    )
    round_trip(spikes, tmp_path / "huge.npz", "npz")


def test_everything_survives_including_raw_data(tmp_path: Path) -> None:
    document = conversion.read(str(DOCUMENTS / "valid" / "SpikeData.yaml"))  # provenance, described attribute
    xy = {"name": "xy", "values": np.arange(6.0).reshape(3, 2), "unit": "um"}
    raw = {"data": np.arange(6.0).reshape(2, 3), "time": np.array([0.0, 0.5, 1.0]), "unit": "uV"}
    model = SpikeData.model_validate(
        {**dict(document), "unit_attributes": [*document.unit_attributes, xy], "raw_data": raw}
    )
    got, losses = round_trip(model, tmp_path / "all.npz", "npz")
    assert losses == []
    assert got.model_dump_json() == model.model_dump_json()
    got, _ = round_trip(model, tmp_path / "ms.npz", "npz", time_unit="ms")
    np.testing.assert_allclose(got.raw_data.time, [0.0, 500.0, 1000.0])


def test_numpy_alone_reads_the_layout(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    spikes = _spikes(unit_ids=[5, 6, 9], unit_attributes={"area": np.array(["CA1", "DG", "CA3"])})
    conversion.write(spikes, str(path))
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(
            [
                "spike_times",
                "spike_times_index",
                "unit_ids",
                "start_time",
                "length",
                "time_unit",
                "sampling_rate",
                "attr__area",
            ]
        )
        np.testing.assert_array_equal(archive["spike_times"], [0.5, 1.25, 2.0])
        np.testing.assert_array_equal(archive["spike_times_index"], [2, 2, 3])
        assert archive["spike_times_index"].dtype == np.int64 and archive["unit_ids"].tolist() == [5, 6, 9]
        assert archive["time_unit"].item() == "s" and np.isnan(archive["sampling_rate"])
        assert archive["start_time"].item() == -1.0 and archive["length"].item() == 4.0
        assert archive["attr__area"].dtype.kind == "U"


def test_compression_is_optional(tmp_path: Path) -> None:
    spikes = _spikes(trains=[np.linspace(0, 2, 100_000)], start_time=0.0, length=2.0)
    conversion.write(spikes, str(tmp_path / "plain.npz"))
    conversion.write(spikes, str(tmp_path / "small.npz"), compress=True)
    assert (tmp_path / "small.npz").stat().st_size < (tmp_path / "plain.npz").stat().st_size
    with pytest.raises(UsageError, match="compress"):
        conversion.write(spikes, str(tmp_path / "bad.npz"), compress="yes")


def test_a_minimal_foreign_archive(tmp_path: Path) -> None:
    """Only the ragged pair, offsets with a leading 0 and times in ms given as a read option."""
    path = tmp_path / "other.npz"
    np.savez(
        path,
        spike_times=np.array([3.0, 1.0, 2.0]),
        spike_times_index=np.array([0, 1, 3]),
        unit_ids=np.array([10, 20]),
    )
    got = conversion.read(str(path), time_unit="ms")
    assert got.time_unit == "ms" and got.unit_ids.tolist() == [10, 20]
    assert [train.tolist() for train in common.trains(got)] == [[3.0], [1.0, 2.0]]
    with pytest.raises(UsageError, match="sampling rate"):
        conversion.read(str(path), time_unit="samples")


def test_unsupported_attributes_are_declared(tmp_path: Path) -> None:
    spikes = _spikes(unit_attributes={"when": np.array(["2020-01-01"] * 3, dtype="datetime64[D]")})
    got, losses = round_trip(spikes, tmp_path / "x.npz", "npz")
    assert [loss.reason for loss in losses] == ["column 'when' holds datetime64[D] values"]
    assert not got.unit_attributes


def test_an_object_array_is_refused_without_running_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.npz"
    np.savez(path, spike_times=np.array([RunsCode(marker)], dtype=object), spike_times_index=np.array([1]))
    with pytest.raises(InputError, match="pickled Python objects"):
        conversion.read(str(path))
    assert main(["info", str(path)]) == ExitCode.USAGE
    assert "run code" in capsys.readouterr().err
    assert not marker.exists()


def test_spikelab_sorted_archives_are_refused_with_a_reason(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "sorted.npz"
    np.savez(path, units=np.array([{"unit_id": 0}, RunsCode(marker)], dtype=object), fs=np.float64(20000))
    with pytest.raises(InputError, match="spikelab sorted NPZ"):
        conversion.read(str(path))
    assert not marker.exists()


def test_a_truncated_archive_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "cut.npz"
    conversion.write(_spikes(), str(path))
    path.write_bytes(path.read_bytes()[:-200])
    assert main(["info", str(path)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable NPZ" in err and "Traceback" not in err


def test_wrong_arrays_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    np.savez(path, something=np.arange(3))
    with pytest.raises(InputError, match="no spike_times"):
        conversion.read(str(path), kind="spikes")
    # any arrays make spectral descriptors: the error says what the spike reader found and where to go
    with pytest.raises(
        UsageError, match=r"no spike_times.* reads as spectral data; say so with kind='spectral'$"
    ):
        conversion.read(str(path))
    np.savez(path, spike_times=np.array(["a"]), spike_times_index=np.array([1]))
    with pytest.raises(InputError, match="1-D array of numbers"):
        conversion.read(str(path))
    np.save(tmp_path / "single.npy", np.arange(3))
    with pytest.raises(InputError, match=r"single \.npy"):
        conversion.read(str(tmp_path / "single.npy"), format="npz")


def test_s3_write_and_read(s3_bucket: str) -> None:
    spikes = _spikes(sampling_rate=30000.0, metadata={"session": "a"})
    url = f"{s3_bucket}/x.npz"
    assert conversion.write(spikes, url, time_unit="samples") == []
    got = conversion.read(url)
    assert got.time_unit == "samples"
    assert_only_declared_losses(got, spikes, [])
