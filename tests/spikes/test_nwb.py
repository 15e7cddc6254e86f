"""NWB Units: real files from other tools, files pynwb writes, ours checked by pynwb and nwbinspector."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np
import pynwb
import pytest
from hypothesis import HealthCheck, given, settings
from nwbinspector import inspect_nwbfile
from spikelab.data_loaders import data_exporters as spikelab_export, data_loaders as spikelab_load
from spikelab.spikedata import SpikeData as SpikelabSpikeData
from strategies import assert_same_spikes, losses_named, spike_data

from neurodatahub.cli import main
from neurodatahub.core import conversion as api, registry
from neurodatahub.core.errors import ExitCode, UsageError
from neurodatahub.spikes import common

REAL_FILES = {
    "A8604-211122.nwb": (3, 21354),
    "sub-4_ses-4_ecephys+image.nwb": (35, 214278),
    "test_Units.nwb": (2, 6),
}
PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def pynwb_units(path: Path, units_path: str | None = None) -> tuple[list[int], list[np.ndarray]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
            nwbfile = io.read()
            table = _table(nwbfile, units_path)
            return list(table.id[:]), [
                np.asarray(table.get_unit_spike_times(i)) for i in range(len(table.id))
            ]


def _table(nwbfile, units_path: str | None):
    if units_path is None:
        return nwbfile.units if nwbfile.units is not None else next(iter(nwbfile.acquisition.values()))
    parts = units_path.strip("/").split("/")
    if parts[0] == "processing":
        return nwbfile.processing[parts[1]][parts[2]]
    return nwbfile.acquisition[parts[1]] if parts[0] == "acquisition" else nwbfile.units


def critical_issues(path: Path) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        messages = list(inspect_nwbfile(nwbfile_path=str(path)))
    return [f"{m.check_function_name}: {m.message}" for m in messages if m.importance.name == "CRITICAL"]


def assert_valid_nwb(path: Path, allowed: tuple[str, ...] = ()) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pynwb.validate(path=str(path)) == []
    assert [issue for issue in critical_issues(path) if not issue.startswith(allowed)] == []


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_read_like_pynwb_reads_them(shared_data: Path, name: str) -> None:
    path = shared_data / "nwb" / name
    spikes = api.read(str(path))
    ids, trains = pynwb_units(path)
    assert (len(spikes.unit_ids), len(spikes.spike_times)) == REAL_FILES[name]
    assert spikes.unit_ids.tolist() == ids
    for got, expected in zip(common.trains(spikes), trains, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_real_file_columns_are_resolved(shared_data: Path) -> None:
    human = api.read(str(shared_data / "nwb" / "sub-4_ses-4_ecephys+image.nwb"))
    attributes = common.attributes(human)
    assert {"electrode", "electrode_x", "electrode_location"} <= attributes.keys()
    with h5py.File(shared_data / "nwb" / "sub-4_ses-4_ecephys+image.nwb") as file:
        rows = file["units/electrodes"][()]
        np.testing.assert_array_equal(
            attributes["electrode"], file["general/extracellular_ephys/electrodes/id"][()][rows]
        )
    mouse = api.read(str(shared_data / "nwb" / "A8604-211122.nwb"))
    assert set(common.attributes(mouse)["electrode_group"]) <= {
        "group0_psb",
        "group1_psb",
        "group0",
        "group1",
    } or all(isinstance(name, str) and name for name in common.attributes(mouse)["electrode_group"])
    assert mouse.metadata["nwb"]["identifier"] == "A8604-211122"
    old = api.read(str(shared_data / "nwb" / "test_Units.nwb"))
    assert old.metadata["nwb"]["units_path"] == "/acquisition/UnitsTest"
    assert len(old.metadata["nwb_units"]["obs_intervals"]) == 2  # kept, one list of intervals per unit


WRITABLE = sorted(spec.name for spec in registry.all_formats() if spec.kind == "spikes" and spec.write)
# Phy folders and SpikeInterface sortings store samples: they need a rate
NEEDS = {name: {"sampling_rate": 30000.0} for name in ("phy", "si-folder", "si-zarr")}
SUFFIX = {"phy": ".phy", "hdf5": ".h5", "arrow": ".arrow", "si-folder": ".si", "si-zarr": ".zarr"}


def ignored_for(losses: list) -> tuple[str, ...]:
    """The comparisons a conversion's declared losses excuse (metadata always: each format keeps its own)."""
    fields = {loss.field.split(".")[0] for loss in losses}
    ignore = {"metadata", "sampling_rate"}
    ignore |= {"unit_attributes"} & fields
    ignore |= {"window"} if fields & {"start_time", "length", "window"} else set()
    return tuple(ignore)


@pytest.mark.parametrize("name", sorted(REAL_FILES))
@pytest.mark.parametrize("target_format", WRITABLE)
def test_real_files_convert_to_every_format_and_back(
    shared_data: Path, tmp_path: Path, name: str, target_format: str
) -> None:
    source = shared_data / "nwb" / name
    original = api.read(str(source))
    target = tmp_path / f"out{SUFFIX.get(target_format, '.' + target_format)}"
    report = api.convert(
        str(source), str(target), to_format=target_format, options=NEEDS.get(target_format, {})
    )
    back = api.read(str(target))
    rounded = "spike_times" in losses_named(report.losses)
    assert_same_spikes(
        back, original, ignore=ignored_for(report.losses), atol_s=0.5 / 30000 + 1e-9 if rounded else 1e-9
    )
    again = tmp_path / "again.nwb"
    api.convert(str(target), str(again))
    assert_same_spikes(
        api.read(str(again)), original, ignore=ignored_for(report.losses), atol_s=1e-4 if rounded else 1e-9
    )
    # test_Units.nwb's own spike times are whole seconds, which the inspector takes for samples
    assert_valid_nwb(again, allowed=("check_spike_times_not_in_samples",) if name == "test_Units.nwb" else ())


def test_files_we_write_pass_pynwb_and_nwbinspector(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0.0, 100.0, n)) for n in (40, 0, 12)]
    spikes = common.from_trains(
        trains,
        unit_ids=[4, 9, 12],
        time_unit="s",
        start_time=0.0,
        length=100.0,
        sampling_rate=30000.0,
        unit_attributes={
            "location": np.array(["CA1", "CA3", "DG"]),
            "quality": np.array(["good", "mua", "good"]),
            "depth": np.array([120.0, 340.0, 560.0]),
        },
        metadata={
            "nwb": {
                "session_start_time": "2024-05-01T10:00:00+02:00",
                "subject": {"subject_id": "M12", "species": "Mus musculus", "sex": "F", "age": "P60D"},
            }
        },
    )
    path = tmp_path / "ours.nwb"
    assert api.write(spikes, str(path)) == []
    assert_valid_nwb(path)
    ids, got = pynwb_units(path)
    assert ids == [4, 9, 12]
    for got_train, train in zip(got, trains, strict=True):
        np.testing.assert_array_equal(got_train, train)
    with h5py.File(path) as file:
        index = file["units/spike_times_index"]
        assert index.dtype.kind == "u" and index[()].tolist() == [40, 40, 52]
        assert file["units/spike_times"].attrs["resolution"] == pytest.approx(1 / 30000)
        assert all(
            "object_id" in file[name].attrs for name in ("/", "units", "units/spike_times", "units/id")
        )
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        assert nwbfile.session_start_time == datetime.fromisoformat("2024-05-01T10:00:00+02:00")
        assert nwbfile.subject.subject_id == "M12"
        assert list(nwbfile.units["quality"][:]) == ["good", "mua", "good"]
    assert_same_spikes(api.read(str(path)), spikes)


def test_unknown_session_fields_are_reported_never_silent(tmp_path: Path) -> None:
    spikes = common.from_trains([np.array([0.5, 1.5])], time_unit="s", length=2.0)
    losses = api.write(spikes, str(tmp_path / "bare.nwb"))
    assert losses_named(losses) == {"metadata.session_start_time", "metadata.subject"}
    assert_valid_nwb(tmp_path / "bare.nwb")
    with pytest.raises(Exception, match="session_start_time"):
        api.write(spikes, str(tmp_path / "strict.nwb"), strict=True)
    assert not (tmp_path / "strict.nwb").exists()


@PROPERTY
@given(spikes=spike_data())
def test_hub_round_trip(tmp_path_factory: pytest.TempPathFactory, spikes) -> None:
    path = tmp_path_factory.mktemp("nwb") / "x.nwb"
    losses = api.write(spikes, str(path))
    assert losses_named(losses) <= {"metadata.session_start_time", "metadata.subject"}
    assert_same_spikes(api.read(str(path)), spikes)


def write_with_pynwb(path: Path, where: str = "units", second_table: bool = False) -> list[np.ndarray]:
    """A file as pynwb writes it: electrodes table, region column, obs_intervals, custom columns."""
    nwbfile = pynwb.NWBFile("pynwb-made", "id-1", datetime(2023, 1, 2, tzinfo=UTC))
    device = nwbfile.create_device("probe")
    group = nwbfile.create_electrode_group("shank0", "a shank", "CA1", device)
    for i in range(4):
        nwbfile.add_electrode(
            x=float(i), y=2.0 * i, z=0.0, location="CA1", group=group, filtering="none", imp=1.0
        )
    trains = [np.array([0.1, 0.4, 2.5]), np.array([1.0]), np.array([0.3, 0.9])]
    table = pynwb.misc.Units(
        name="units" if where == "units" else "sorted_units",
        description="sorted",
        electrode_table=nwbfile.electrodes,
    )
    table.add_column("quality", "curation label")
    for i, train in enumerate(trains):
        table.add_unit(
            spike_times=train,
            electrodes=[i],
            obs_intervals=[[0.0, 3.0]],
            quality=["good", "mua", "good"][i],
            id=10 + i,
        )
    if where == "units":
        nwbfile.units = table
    else:
        nwbfile.create_processing_module("ecephys", "sorting").add(table)
    if second_table:
        extra = pynwb.misc.Units(name="other_units", description="second sorting")
        extra.add_unit(spike_times=[0.5], id=1)
        nwbfile.create_processing_module("other", "another sorting").add(extra)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return trains


def test_pynwb_files_with_regions_and_intervals(tmp_path: Path) -> None:
    path = tmp_path / "pynwb.nwb"
    trains = write_with_pynwb(path)
    spikes = api.read(str(path))
    assert spikes.unit_ids.tolist() == [10, 11, 12]
    for got, expected in zip(common.trains(spikes), trains, strict=True):
        np.testing.assert_array_equal(got, expected)
    attributes = common.attributes(spikes)
    assert attributes["quality"].tolist() == ["good", "mua", "good"]
    assert attributes["electrodes"].tolist() == ["0", "1", "2"]  # ragged region: electrode ids per unit
    assert common.window_in(spikes, "s") == (0.0, 3.0)  # the shared observation interval


def test_units_found_by_type_and_chosen_by_path(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "processing.nwb"
    write_with_pynwb(path, where="processing")
    assert api.read(str(path)).metadata["nwb"]["units_path"] == "/processing/ecephys/sorted_units"
    several = tmp_path / "several.nwb"
    write_with_pynwb(several, where="processing", second_table=True)
    with pytest.raises(UsageError, match="several Units tables"):
        api.read(str(several))
    chosen = api.read(str(several), units_path="/processing/other/other_units")
    assert chosen.unit_ids.tolist() == [1]
    assert main(["info", str(several), "--units-path", "/processing/ecephys/sorted_units", "--json"]) == 0
    assert '"units": 3' in capsys.readouterr().out


def test_spikelab_nwb_both_ways(tmp_path: Path) -> None:
    trains = [np.array([1.0, 5.0, 9.5]), np.array([]), np.array([2.0])]
    source = SpikelabSpikeData(trains, start_time=0.0, length=20.0)
    theirs = tmp_path / "spikelab.nwb"
    spikelab_export.export_spikedata_to_nwb(source, str(theirs))
    spikes = api.read(str(theirs))
    assert [
        t.tolist() for t in common.split_by_units(common.times_in(spikes, "ms"), spikes.spike_times_index)
    ] == [t.tolist() for t in trains]
    assert common.window_in(spikes, "ms") == (0.0, 20.0)
    ours = tmp_path / "ours.nwb"
    api.write(spikes, str(ours))
    loaded = spikelab_load.load_spikedata_from_nwb(str(ours), prefer_pynwb=True)
    for got, expected in zip(loaded.train, trains, strict=True):
        np.testing.assert_allclose(got, expected)


def test_headline_command(tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture) -> None:
    source = shared_data / "nwb" / "A8604-211122.nwb"
    target = tmp_path / "out.h5"
    assert (
        main(["convert", str(source), str(target), "--style", "ragged", "--report", str(tmp_path / "r.json")])
        == 0
    )
    loaded = spikelab_load.load_spikedata_from_hdf5(
        str(target), spike_times_dataset="spike_times", spike_times_index_dataset="spike_times_index"
    )
    _, trains = pynwb_units(source)
    for got, expected in zip(loaded.train, trains, strict=True):
        np.testing.assert_allclose(got, expected * 1e3)
    assert '"units": 3' in (tmp_path / "r.json").read_text()


def test_s3_round_trip(s3_bucket: str, shared_data: Path) -> None:
    url = f"{s3_bucket}/nwb/session.nwb"
    spikes = api.read(str(shared_data / "nwb" / "A8604-211122.nwb"))
    api.write(spikes, url)
    assert_same_spikes(api.read(url), spikes)
    remote_real = f"{s3_bucket}/nwb/real.nwb"
    api.convert(str(shared_data / "nwb" / "test_Units.nwb"), remote_real)
    assert len(api.read(remote_real).unit_ids) == 2


def test_truncated_nwb_is_a_clear_error(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture
) -> None:
    broken = tmp_path / "broken.nwb"
    broken.write_bytes((shared_data / "nwb" / "A8604-211122.nwb").read_bytes()[:4000])
    assert main(["convert", str(broken), str(tmp_path / "out.h5")]) == ExitCode.USAGE
    assert "HDF5" in capsys.readouterr().err
    assert not (tmp_path / "out.h5").exists()
