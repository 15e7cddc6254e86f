"""Generic HDF5 spike files: hub round trips, spikelab 0.1.2 both ways, bad input, S3."""

from __future__ import annotations

import inspect
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from spikelab.data_loaders import data_exporters as spikelab_export, data_loaders as spikelab_load
from spikelab.spikedata import SpikeData as SpikelabSpikeData
from strategies import assert_same_spikes, losses_named, spike_data

from neurodatahub.cli import main
from neurodatahub.core import conversion as api
from neurodatahub.core.errors import ExitCode
from neurodatahub.spikes import common

STYLES = ["ragged", "group", "paired"]
PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def trains_ms(spikes) -> list[np.ndarray]:
    return [
        np.asarray(train) for train in np.split(common.times_in(spikes, "ms"), spikes.spike_times_index[:-1])
    ]


def example(n_units: int = 4, empty_first: bool = False) -> object:
    rng = np.random.default_rng(7)
    counts = [0 if (empty_first and unit == 0) else 5 + unit for unit in range(n_units)]
    trains = [np.sort(rng.uniform(0, 2000, count)) for count in counts]
    return common.from_trains(
        trains,
        unit_ids=np.arange(100, 100 + n_units),
        time_unit="ms",
        start_time=0.0,
        length=2000.0,
        sampling_rate=30000.0,
        unit_attributes={
            "electrode": np.arange(n_units),
            "location": np.array(["CA1", "DG"] * (n_units // 2)),
        },
        metadata={"session_description": "example"},
    )


@PROPERTY
@given(spikes=spike_data())
@pytest.mark.parametrize("style", STYLES)
def test_hub_round_trip_is_lossless(tmp_path_factory: pytest.TempPathFactory, style: str, spikes) -> None:
    path = tmp_path_factory.mktemp("h5") / "spikes.h5"
    assert api.write(spikes, str(path), style=style) == []
    assert_same_spikes(api.read(str(path)), spikes)


@PROPERTY
@given(spikes=spike_data(units=("s", "ms")))
def test_samples_round_to_the_grid_as_declared(tmp_path_factory: pytest.TempPathFactory, spikes) -> None:
    path = tmp_path_factory.mktemp("h5") / "spikes.h5"
    losses = api.write(spikes, str(path), time_unit="samples", sampling_rate=30000.0)
    back = api.read(str(path))
    if losses:
        assert losses_named(losses) == {"spike_times"}
        assert_same_spikes(back, spikes, ignore=("window", "sampling_rate"), atol_s=0.5 / 30000 + 1e-12)
    else:
        assert_same_spikes(back, spikes, ignore=("sampling_rate",), atol_s=1e-9)


def test_raster_counts_and_declared_loss(tmp_path: Path) -> None:
    spikes = example()
    path = tmp_path / "raster.h5"
    losses = api.write(spikes, str(path), style="raster", bin_size_ms=5.0)
    assert losses_named(losses) == {"spike_times"}
    back = api.read(str(path))
    np.testing.assert_array_equal(back.spike_times_index, spikes.spike_times_index)
    assert_same_spikes(back, spikes, ignore=("window",), atol_s=5e-3)
    with h5py.File(path) as file:
        assert file["raster"].dtype == np.uint8 and file["raster"].attrs["bin_size_ms"] == 5.0  # smallest
        assert file["raster"].shape == (4, 400)


def spikelab_data(trains: list[np.ndarray], start: float = 0.0, length: float = 2000.0) -> SpikelabSpikeData:
    return SpikelabSpikeData(
        [np.asarray(train, dtype=float) for train in trains], start_time=start, length=length
    )


SPIKELAB_OPTIONS = [
    ("ragged", {}, {}),
    ("ragged", {"spike_times_unit": "ms"}, {"time_unit": "ms"}),
    (
        "ragged",
        {"spike_times_unit": "samples", "fs_Hz": 20000.0},
        {"time_unit": "samples", "sampling_rate": 20000.0},
    ),
    (
        "ragged",
        {"spike_times_dataset": "st", "spike_times_index_dataset": "sti"},
        {"spike_times_dataset": "st", "spike_times_index_dataset": "sti"},
    ),
    ("group", {}, {}),
    (
        "group",
        {"group_per_unit": "trains", "group_time_unit": "ms"},
        {"group_per_unit": "trains", "time_unit": "ms"},
    ),
    ("paired", {}, {}),
    (
        "paired",
        {"times_unit": "s", "idces_dataset": "u", "times_dataset": "t"},
        {"time_unit": "s", "idces_dataset": "u", "times_dataset": "t"},
    ),
    ("raster", {"raster_bin_size_ms": 2.0}, {}),
]


@pytest.mark.parametrize(("style", "export_options", "read_options"), SPIKELAB_OPTIONS)
def test_files_spikelab_writes_read_equal(
    tmp_path: Path, style: str, export_options: dict, read_options: dict
) -> None:
    rng = np.random.default_rng(3)
    trains = [np.sort(rng.uniform(0, 2000, count)) for count in (6, 0, 9, 3)]
    trains = [np.rint(train * 20) / 20 for train in trains]  # on the 20 kHz grid, so samples are exact
    path = tmp_path / "spikelab.h5"
    spikelab_export.export_spikedata_to_hdf5(
        spikelab_data(trains, start=-10.0, length=2010.0), str(path), style=style, **export_options
    )
    got = api.read(str(path), style=style, **read_options)
    expected_counts = [len(train) for train in trains]
    if style == "paired":
        expected_counts = expected_counts[: max(i for i, c in enumerate(expected_counts) if c) + 1]
    assert [len(train) for train in trains_ms(got)] == expected_counts
    tolerance = 2.0 if style == "raster" else 1e-9
    for got_train, train in zip(trains_ms(got), trains, strict=False):
        np.testing.assert_allclose(got_train, train, atol=tolerance)
    assert common.window_in(got, "ms")[0] == pytest.approx(-10.0)


def test_spikelab_raw_data_datasets_are_read(tmp_path: Path) -> None:
    data = spikelab_data([np.array([1.0, 2.0])], length=10.0)
    data.raw_data = np.arange(20, dtype=float).reshape(2, 10)
    data.raw_time = np.arange(10, dtype=float)
    path = tmp_path / "raw.h5"
    spikelab_export.export_spikedata_to_hdf5(data, str(path), raw_dataset="raw", raw_time_dataset="raw_t")
    got = api.read(str(path), raw_dataset="raw", raw_time_dataset="raw_t", raw_time_unit="ms")
    np.testing.assert_array_equal(got.raw_data.data, data.raw_data)
    np.testing.assert_allclose(common.convert_times(got.raw_data.time, got.time_unit, "ms"), data.raw_time)


@pytest.mark.parametrize("style", ["ragged", "group", "paired", "raster"])
@pytest.mark.parametrize("empty_first", [False, True])
def test_files_the_hub_writes_read_equal_in_spikelab(tmp_path: Path, style: str, empty_first: bool) -> None:
    spikes = example(empty_first=empty_first)
    path = tmp_path / "hub.h5"
    options = {"bin_size_ms": 1.0} if style == "raster" else {}
    api.write(spikes, str(path), style=style, **options)
    loader_args = {
        "ragged": {"spike_times_dataset": "spike_times", "spike_times_index_dataset": "spike_times_index"},
        "group": {"group_per_unit": "units"},
        "paired": {"idces_dataset": "idces", "times_dataset": "times", "times_unit": "ms"},
        "raster": {"raster_dataset": "raster", "raster_bin_size_ms": 1.0},
    }[style]
    loaded = spikelab_load.load_spikedata_from_hdf5(str(path), **loader_args)
    assert loaded.start_time == 0.0 and loaded.length == pytest.approx(2000.0)
    tolerance = 1.0 if style == "raster" else 1e-9
    for got, expected in zip(loaded.train, trains_ms(spikes), strict=False):
        np.testing.assert_allclose(got, expected, atol=tolerance)
    assert len(spikes.unit_ids) == loaded.N
    assert api.read(str(path)).unit_ids.tolist() == spikes.unit_ids.tolist()  # and the hub keeps its extras


def test_compat_functions_match_spikelab_signatures() -> None:
    """Same parameters, order and defaults; the hub's may add storage_options at the end."""
    from neurodatahub.spikes import spikelab as compat

    for name in compat.__all__:
        ours = dict(inspect.signature(getattr(compat, name)).parameters)
        ours.pop("storage_options", None)
        theirs = inspect.signature(
            getattr(spikelab_export if name.startswith("export") else spikelab_load, name)
        ).parameters
        assert list(ours) == list(theirs), name
        assert [p.default for p in ours.values()] == [p.default for p in theirs.values()], name


def test_compat_export_and_load(tmp_path: Path) -> None:
    from neurodatahub.spikes import spikelab as compat

    spikes = example()
    path = str(tmp_path / "c.h5")
    compat.export_spikedata_to_hdf5(spikes, path, style="paired")
    back = compat.load_spikedata_from_hdf5(
        path, idces_dataset="idces", times_dataset="times", length_ms=2500.0
    )
    assert common.window_in(back, "ms")[1] == pytest.approx(2500.0)
    assert [len(t) for t in trains_ms(back)] == [len(t) for t in trains_ms(spikes)]
    compat.export_spikedata_to_hdf5(spikes, path, style="ragged")  # replaces, as spikelab does
    assert compat.load_spikedata_from_hdf5(path).unit_ids.tolist() == spikes.unit_ids.tolist()


def test_samples_without_rate_fail_before_the_output_is_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source, target = tmp_path / "in.h5", tmp_path / "out.h5"
    spikes = example().model_copy(update={"sampling_rate": None})
    api.write(spikes, str(source))
    target.write_bytes(b"precious")
    code = main(["convert", str(source), str(target), "--time-unit", "samples", "--overwrite"])
    assert code == ExitCode.USAGE and "sampling rate" in capsys.readouterr().err
    assert target.read_bytes() == b"precious"


@pytest.mark.parametrize(
    ("damage", "code", "message"),
    [
        ("truncate", ExitCode.USAGE, "HDF5"),
        ("nan", ExitCode.INVALID, "finite"),
        ("unsorted", ExitCode.INVALID, "not sorted"),
        ("index_past_end", ExitCode.INVALID, "spike_times_index"),  # data that disagrees: invalid
    ],
)
def test_bad_files_give_one_line_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture, damage: str, code: int, message: str
) -> None:
    source = tmp_path / "bad.h5"
    api.write(example(), str(source))
    if damage == "truncate":
        source.write_bytes(source.read_bytes()[:1500])
    else:
        with h5py.File(source, "r+") as file:
            times = file["spike_times"]
            if damage == "nan":
                times[2] = np.nan
            elif damage == "unsorted":
                times[1], times[2] = times[2], times[1] - 0.5
            else:
                index = file["spike_times_index"][()]
                index[-1] += 5
                del file["spike_times_index"]
                file["spike_times_index"] = index
    got = main(["convert", str(source), str(tmp_path / "out.nwb")])
    err = capsys.readouterr().err
    assert got == code and message in err and len(err.strip().splitlines()) == 1
    assert "bad.h5" in err  # every message names its file
    assert not (tmp_path / "out.nwb").exists()
    assert [path.name for path in tmp_path.iterdir()] == ["bad.h5"]


def test_s3_round_trip(s3_bucket: str) -> None:
    spikes = example()
    url = f"{s3_bucket}/spikes/session.h5"
    api.write(spikes, url, style="group")
    assert_same_spikes(api.read(url), spikes)
    with pytest.raises(Exception, match="exists"):
        api.write(spikes, url)


def test_compat_kilosort_export_adds_files_and_keeps_the_recording(tmp_path: Path) -> None:
    from neurodatahub.spikes import spikelab as compat

    folder = tmp_path / "kilosort"
    folder.mkdir()
    (folder / "recording.dat").write_bytes(b"raw samples")
    compat.export_spikedata_to_kilosort(example(), str(folder), fs_Hz=30000.0)
    assert (folder / "recording.dat").read_bytes() == b"raw samples"
    back = compat.load_spikedata_from_kilosort(str(folder), fs_Hz=30000.0)
    assert len(back.spike_times) == len(example().spike_times)
