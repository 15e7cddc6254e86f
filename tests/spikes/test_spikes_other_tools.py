"""Spike files other tools write as they write them: spikelab's samples without a unit attribute, pynwb's
ragged columns with two index levels (made with those tools here, not with the hub)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode, InvalidDataError

RATE = 30000.0


@pytest.fixture
def spikelab_samples(tmp_path: Path) -> tuple[Path, list[np.ndarray]]:
    """spikelab's ragged export with spike_times_unit="samples": int64 times, no unit attribute."""
    from spikelab import SpikeData
    from spikelab.data_loaders.data_exporters import export_spikedata_to_hdf5

    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(2.5, 23980.0, 40 + 10 * unit)) for unit in range(3)]  # ms
    path = tmp_path / "rs.h5"
    export_spikedata_to_hdf5(
        SpikeData(trains, length=24000.0), str(path), style="ragged", spike_times_unit="samples", fs_Hz=RATE
    )
    return path, trains


def test_integer_times_with_a_rate_are_samples(
    spikelab_samples: tuple[Path, list[np.ndarray]], capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    import h5py

    path, trains = spikelab_samples
    with h5py.File(path) as file:  # what makes the case: no unit attribute on int64 times
        assert file["spike_times"].dtype == np.int64 and "unit" not in file["spike_times"].attrs
    code, _, err = hub(capsys, "convert", str(path), str(tmp_path / "out.h5"), "--fs", "30000")
    assert code == 0, err
    spikes = conversion.read(str(tmp_path / "out.h5"))
    assert spikes.time_unit == "samples" and spikes.sampling_rate == RATE
    got = [train / RATE * 1e3 for train in np.split(spikes.spike_times, spikes.spike_times_index[:-1])]
    for mine, theirs in zip(got, trains, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e3 / RATE)  # rounded to samples by spikelab


def test_a_window_error_says_which_unit_fits(
    spikelab_samples: tuple[Path, list[np.ndarray]], capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    """The same samples stored as floats cannot be told from seconds: the error names the unit that fits."""
    import h5py

    path, _ = spikelab_samples
    floats = tmp_path / "floats.h5"
    with h5py.File(path) as source, h5py.File(floats, "w") as target:
        target["spike_times"] = source["spike_times"][()].astype(np.float64)
        target["spike_times_index"] = source["spike_times_index"][()]
        target.attrs.update(dict(source.attrs))
    code, _, err = hub(capsys, "info", str(floats), "--fs", "30000")
    line = one_line(err)
    assert code == ExitCode.INVALID and "outside the recording window [0.0, 24.0] s" in line
    assert line.endswith("they fit it as samples at 30000 Hz: pass --time-unit samples")
    code, out, err = hub(capsys, "info", str(floats), "--fs", "30000", "--time-unit", "samples")
    assert code == 0 and "samples" in out, err


def _pynwb_units_with_waveforms(path: Path, spikes_per_unit: list[int], samples: int) -> list:
    """An NWB file made by pynwb whose Units table holds waveforms: unit -> electrode -> spike x samples."""
    from pynwb import NWBHDF5IO, NWBFile

    nwb = NWBFile("waveforms", "id-1", datetime(2024, 1, 1, tzinfo=UTC))
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("shank", "a shank", "CA1", device)
    for position in range(3):
        nwb.add_electrode(x=float(position), y=0.0, z=0.0, location="CA1", group=group)
    rng = np.random.default_rng(1)
    electrodes = [[0, 1], [1, 2], [0]]
    written = []
    for count, unit_electrodes in zip(spikes_per_unit, electrodes, strict=True):
        waveforms = [rng.normal(size=(count, samples)) for _ in unit_electrodes]
        nwb.add_unit(
            spike_times=np.sort(rng.uniform(0, 10, count)), electrodes=unit_electrodes, waveforms=waveforms
        )
        written.append(waveforms)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return written


def test_pynwb_two_level_waveforms_are_read_at_every_level(tmp_path: Path) -> None:
    path = tmp_path / "waveforms.nwb"
    written = _pynwb_units_with_waveforms(path, [2, 3, 1], samples=5)
    spikes = conversion.read(str(path))
    assert np.diff(spikes.spike_times_index, prepend=0).tolist() == [2, 3, 1]
    kept = spikes.metadata["nwb_units"]["waveforms"]  # unit -> electrode -> spike -> samples
    assert len(kept) == 3 and [len(unit) for unit in kept] == [2, 2, 1]
    for unit, waveforms in zip(kept, written, strict=True):
        for electrode, expected in zip(unit, waveforms, strict=True):
            np.testing.assert_array_equal(np.asarray(electrode), expected)
    assert [attribute.name for attribute in spikes.unit_attributes] == ["electrodes"]


def test_large_waveforms_are_a_declared_loss(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    path = tmp_path / "large.nwb"
    _pynwb_units_with_waveforms(path, [900, 1200, 700], samples=30)  # 3 * 30 * ... > 100,000 values
    code, out, err = hub(capsys, "info", str(path), "--json")
    assert code == 0, err
    assert "column waveforms (" in err and "through 2 index levels) is not read" in one_line(err)
    assert '"spikes": 2800' in out


def test_a_wrong_index_names_the_dataset_it_is_in(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "broken.nwb"
    _pynwb_units_with_waveforms(path, [2, 3, 1], samples=5)
    with h5py.File(path, "a") as file:
        del file["units/waveforms_index_index"]  # the per-electrode level is left alone as per-unit
    expected = r"broken\.nwb: /units/waveforms_index has 5 entries for 3 units"
    with pytest.raises(InvalidDataError, match=expected) as caught:
        conversion.read(str(path))
    assert caught.value.exit_code == ExitCode.INVALID  # data that disagrees with itself, not unreadable


def test_a_large_column_not_read_still_has_its_index_checked(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "large_broken.nwb"
    _pynwb_units_with_waveforms(path, [900, 1200, 700], samples=30)  # past RAGGED_METADATA_VALUES
    with h5py.File(path, "a") as file:
        del file["units/waveforms_index_index"]
    with pytest.raises(InvalidDataError, match=r"/units/waveforms_index has 5 entries for 3 units"):
        conversion.read(str(path))
