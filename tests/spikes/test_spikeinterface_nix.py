"""SpikeInterface sorting folders (NumPy and Zarr) and NIX spike trains: round trips with exactly the declared
losses, the peers (spikeinterface.load, neo's NixIO) reading ours and writing files we read, S3, bad input."""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line
from hypothesis import given, settings
from strategies import assert_same_spikes, losses_named, spike_data

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode
from neurodatahub.models import SpikeData
from neurodatahub.spikes import common

NAMES = {"si-folder": "sorting.si", "si-zarr": "sorting.zarr", "nix": "spikes.nix"}


def model() -> SpikeData:
    return common.from_trains(
        [np.array([0.001, 0.5, 0.75]), np.array([0.25]), np.array([])],
        time_unit="s", sampling_rate=30000.0, unit_ids=np.array([3, 8, 11]), start_time=0.0, length=0.75,
        unit_attributes={"quality": np.array(["good", "mua", "noise"]), "depth": np.array([1.5, 2.0, 3.0])},
        metadata={"session": "a", "probe": {"channels": 32}},
    )  # fmt: skip


def sampled(spikes: SpikeData) -> bool:
    return spikes.time_unit == "samples" or bool(spikes.sampling_rate)


@pytest.mark.parametrize("name", ["si-folder", "si-zarr"])
@settings(max_examples=25, deadline=None)
@given(spikes=spike_data())
def test_sortings_round_trip_with_their_declared_losses(name: str, spikes: SpikeData) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = str(Path(folder) / NAMES[name])
        if not spikes.sampling_rate:
            with pytest.raises(Exception, match="sampling rate"):
                conversion.write(spikes, target, format=name)
            return
        samples = common.times_in(spikes, "samples")
        if samples.size and samples.min() < 0:
            with pytest.raises(Exception, match="before time 0"):
                conversion.write(spikes, target, format=name)
            return
        losses = conversion.write(spikes, target, format=name)
        back = conversion.read(target)
    lost = losses_named(losses)
    assert back.time_unit == "samples" and back.sampling_rate == spikes.sampling_rate
    assert ("time_unit" in lost) == (spikes.time_unit != "samples")
    on_grid = spikes.time_unit == "samples" or "spike_times" not in lost
    assert_same_spikes(
        back, spikes, ignore=("window",) if "start_time" in lost else (),
        atol_s=1e-12 if on_grid else 0.5 / spikes.sampling_rate + 1e-12,
    )  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(spikes=spike_data())
def test_nix_round_trips_with_its_declared_losses(spikes: SpikeData) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = str(Path(folder) / "spikes.nix")
        if not len(spikes.unit_ids):
            with pytest.raises(Exception, match="no spike trains"):
                conversion.write(spikes, target)
            return
        losses = conversion.write(spikes, target)
        back = conversion.read(target)
    assert losses_named(losses) == ({"time_unit"} if spikes.time_unit == "samples" else set())
    assert back.time_unit == ("s" if spikes.time_unit == "samples" else spikes.time_unit)
    assert_same_spikes(back, spikes, atol_s=1e-12)


def test_spikeinterface_loads_our_folders_equal(tmp_path: Path) -> None:
    import spikeinterface as si

    spikes = model()
    for name, file_name in (("si-folder", "sorting.si"), ("si-zarr", "sorting.zarr")):
        conversion.write(spikes, str(tmp_path / file_name), format=name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sorting = si.load(tmp_path / file_name)
        assert (
            type(sorting).__name__
            == {"si-folder": "NumpyFolderSorting", "si-zarr": "ZarrSortingExtractor"}[name]
        )
        assert sorting.get_sampling_frequency() == 30000.0 and list(sorting.unit_ids) == [3, 8, 11]
        assert list(sorting.get_unit_spike_train(3)) == [30, 15000, 22500]
        assert list(sorting.get_unit_spike_train(11)) == []
        assert list(sorting.get_property("quality")) == ["good", "mua", "noise"]
        assert sorting.get_annotation("probe") == {"channels": 32}


def test_folders_spikeinterface_saves_read_equal(tmp_path: Path) -> None:
    import spikeinterface.core as si

    trains = {1: np.array([10, 50, 90]), 7: np.array([5, 200]), 9: np.array([], dtype=np.int64)}
    sorting = si.NumpySorting.from_unit_dict([trains], sampling_frequency=32000.0)
    sorting.set_property("firing", np.array([1.5, 2.5, 0.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sorting.save(folder=tmp_path / "numpy", format="numpy_folder")
        sorting.save(folder=tmp_path / "store.zarr", format="zarr")
    for folder in (tmp_path / "numpy", tmp_path / "store.zarr"):
        back = conversion.read(str(folder))
        assert back.unit_ids.tolist() == [1, 7, 9] and back.sampling_rate == 32000.0
        assert [train.tolist() for train in common.trains(back)] == [[10, 50, 90], [5, 200], []]
        assert common.attributes(back)["firing"].tolist() == [1.5, 2.5, 0.0]


def test_multi_segment_sortings_need_a_segment(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import spikeinterface.core as si

    sorting = si.NumpySorting.from_unit_dict(
        [{0: np.array([1, 2])}, {0: np.array([3, 40])}], sampling_frequency=1000.0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sorting.save(folder=tmp_path / "two", format="numpy_folder")
    code, _, err = hub(capsys, "convert", str(tmp_path / "two"), str(tmp_path / "out.parquet"))
    assert code == ExitCode.USAGE and "2 segments; choose one with -R segment=N" in one_line(err)
    assert (
        hub(capsys, "convert", str(tmp_path / "two"), str(tmp_path / "out.parquet"), "-R", "segment=1")[0]
        == 0
    )
    assert conversion.read(str(tmp_path / "out.parquet")).spike_times.tolist() == [3, 40]


def test_neo_reads_our_nix_and_we_read_what_neo_writes(tmp_path: Path) -> None:
    import neo
    import quantities as pq
    from neo.io import NixIO

    conversion.write(model(), str(tmp_path / "ours.nix"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        io = NixIO(str(tmp_path / "ours.nix"), mode="ro")
        block = io.read_block()
        io.close()
    trains = block.segments[0].spiketrains
    assert [train.name for train in trains] == ["unit 3", "unit 8", "unit 11"]
    assert np.array_equal(trains[0].rescale("s").magnitude, [0.001, 0.5, 0.75])
    assert trains[1].annotations["quality"] == "mua" and float(trains[2].t_stop.rescale("s")) == 0.75
    theirs = neo.Block(name="recording")
    segment = neo.Segment()
    segment.spiketrains += [
        neo.SpikeTrain([5.0, 12.5] * pq.ms, t_start=0 * pq.ms, t_stop=20 * pq.ms, channel=4),
        neo.SpikeTrain([1.0] * pq.ms, t_start=0 * pq.ms, t_stop=20 * pq.ms, channel=9),
    ]
    segment.analogsignals.append(neo.AnalogSignal(np.zeros((10, 1)), units="mV", sampling_rate=1 * pq.kHz))
    theirs.segments.append(segment)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        io = NixIO(str(tmp_path / "neo.nix"), mode="ow")
        io.write_block(theirs)
        io.close()
    back = conversion.read(str(tmp_path / "neo.nix"))
    assert back.time_unit == "ms" and back.unit_ids.tolist() == [0, 1] and back.length == 20.0
    assert [train.tolist() for train in common.trains(back)] == [[5.0, 12.5], [1.0]]
    assert common.attributes(back)["channel"].tolist() == [4, 9]
    assert back.metadata == {"nix_not_read": ["analogsignals"]}


@pytest.mark.parametrize("name", list(NAMES))
def test_each_format_on_s3(name: str, s3_bucket: str, aws_env: str) -> None:
    url = f"{s3_bucket}/deep/{NAMES[name]}"
    conversion.write(model(), url, format=name)
    back = conversion.read(url)
    assert_same_spikes(
        back, model(), ignore=("window", "sampling_rate") if name != "nix" else (), atol_s=1e-12
    )


def test_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    conversion.write(model(), str(tmp_path / "good.si"))
    broken = tmp_path / "broken.si"
    shutil.copytree(tmp_path / "good.si", broken)
    (broken / "spikes.npy").write_bytes((broken / "spikes.npy").read_bytes()[:100])
    noinfo = tmp_path / "noinfo.si"
    shutil.copytree(tmp_path / "good.si", noinfo)
    (noinfo / "numpysorting_info.json").write_text(json.dumps({"unit_ids": [1]}))
    fake_nix = tmp_path / "fake.nix"
    fake_nix.write_bytes(b"not hdf5 at all")
    for source, extra, fragment in [
        (broken, (), "damaged SpikeInterface sorting folder"),
        (noinfo, (), "damaged SpikeInterface sorting folder"),
        (fake_nix, ("--from", "nix"), "not a readable NIX file"),
    ]:
        code, _, err = hub(capsys, "convert", str(source), str(tmp_path / "out.parquet"), *extra)
        assert code == ExitCode.USAGE and fragment in one_line(err), err
    seconds = common.from_trains([np.array([0.5])], time_unit="s")  # no sampling rate
    with pytest.raises(Exception, match="sampling rate"):
        conversion.write(seconds, str(tmp_path / "x.si"))
    assert not (tmp_path / "out.parquet").exists() and not (tmp_path / "x.si").exists()
