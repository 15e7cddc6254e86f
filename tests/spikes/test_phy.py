"""KiloSort / Phy folders: round trips, the peers' folders and ours in the peers, hostile and broken input."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import DOCUMENTS
from hypothesis import HealthCheck, given, settings, strategies as st
from strategies import assert_same_spikes, losses_named, spike_data

from neurodatahub.cli import main
from neurodatahub.core import conversion as api, registry, storage
from neurodatahub.core.errors import ExitCode, InputError, OutputError, UsageError
from neurodatahub.models import SpikeData
from neurodatahub.spikes import common, params as params_py
from neurodatahub.spikes.formats import phy

FS = 30000.0
SPIKES_DOCUMENT = DOCUMENTS / "valid" / "SpikeData.yaml"


def sorted_by_id(model: SpikeData) -> SpikeData:
    """The same units in ascending id order, as a Phy folder gives them back."""
    order = np.argsort(model.unit_ids, kind="stable")
    trains = common.trains(model)
    return common.from_trains(
        [trains[i] for i in order],
        unit_ids=np.asarray(model.unit_ids)[order],
        time_unit=model.time_unit,
        start_time=model.start_time,
        length=model.length,
        sampling_rate=model.sampling_rate,
        unit_attributes={name: values[order] for name, values in common.attributes(model).items()},
        metadata=model.metadata,
    )


def curated(time_unit: str = "samples") -> SpikeData:
    """Four units in no particular id order, one without spikes, with Phy-like labels and metrics."""
    samples = {9: [10, 400, 401, 90000], 2: [5, 7, 60000], 40: [], 5: [3, 800]}
    trains = [
        common.convert_times(np.array(t, dtype=float), "samples", time_unit, FS) for t in samples.values()
    ]
    return common.from_trains(
        trains,
        unit_ids=list(samples),
        time_unit=time_unit,
        start_time=0.0,
        length=common.convert_scalar(90001.0, "samples", time_unit, FS),
        sampling_rate=FS,
        unit_attributes={
            "group": np.array(["good", "noise", "mua", "good"]),
            "ContamPct": np.array([0.5, 12.25, np.nan, 3.0]),
            "electrode": np.array([4, 1, 30, 7]),
        },
    )


def write_files(folder: Path, files: dict[str, object]) -> Path:
    """A folder by hand: arrays as .npy, text as is."""
    folder.mkdir()
    for name, content in files.items():
        if isinstance(content, str):
            (folder / name).write_text(content)
        else:
            np.save(folder / name, content)
    return folder


def minimal(folder: Path, **files: object) -> Path:
    base: dict[str, object] = {
        "spike_times.npy": np.array([30, 10, 20, 40], dtype=np.int64),
        "spike_clusters.npy": np.array([1, 0, 1, 3], dtype=np.int64),
        "params.py": "sample_rate = 30000.0\n",
    }
    base.update({name.replace("__", "."): content for name, content in files.items()})
    return write_files(folder, {name: content for name, content in base.items() if content is not None})


def hub(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) <= 1 and "Traceback" not in err, err
    return code, err


# ---------------------------------------------------------------------------------------------- registry


def test_the_format_is_registered_and_detected(tmp_path: Path) -> None:
    spec = registry.get_format("phy")
    assert spec.directory and spec.kind == "spikes" and spec.model == "SpikeData"
    assert all(ext.startswith(".") for ext in spec.extensions)
    folder = minimal(tmp_path / "anything")
    assert registry.detect_format(str(folder)).name == "phy"
    templates_only = minimal(tmp_path / "ks", spike_clusters__npy=None, spike_templates__npy=np.zeros(4, int))
    assert registry.detect_format(str(templates_only)).name == "phy"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "spike_times.npy").write_bytes(b"")
    with pytest.raises(InputError, match="cannot tell the format"):
        registry.detect_format(str(tmp_path / "other"))
    assert registry.target_format("out.phy", "spikes").name == "phy"


# ------------------------------------------------------------------------------------------- round trip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=spike_data(), unit=st.sampled_from(["samples", "samples", "s", "ms"]))
def test_round_trip_keeps_everything_but_the_declared_losses(model: SpikeData, unit: str) -> None:
    rate = model.sampling_rate or FS
    with tempfile.TemporaryDirectory() as tmp:
        target = str(Path(tmp) / "sorting.phy")
        written = phy.times_out(model, unit, rate)
        if unit == "samples" and written.size and written.min() < 0:
            with pytest.raises(UsageError, match="before the recording start"):
                api.write(model, target, time_unit=unit, sampling_rate=rate)
            assert os.listdir(tmp) == []
            return
        losses = api.write(model, target, time_unit=unit, sampling_rate=rate)
        got = api.read(target)
    lost = losses_named(losses)
    expected = sorted_by_id(model) if "unit_ids" in lost else model
    assert ("unit_ids" in lost) == bool(np.any(np.diff(model.unit_ids) < 0))
    assert ("time_unit" in lost) == (model.time_unit != unit) and got.time_unit == unit
    assert ("metadata" in lost) == bool(model.metadata)
    metadata = dict(got.metadata)
    assert metadata.pop("phy_params")["sample_rate"] == rate  # params.py is always written
    got = got.model_copy(update={"metadata": metadata or None})
    ignore = {"window"} if lost & {"start_time", "length"} else set()
    ignore |= {"sampling_rate", "metadata"} & lost
    if any(name.startswith("unit_attributes") for name in lost):
        ignore.add("unit_attributes")
    atol = 0.5 / rate + 1e-9 if "spike_times" in lost else 1e-9
    assert_same_spikes(got, expected, ignore=tuple(ignore), atol_s=atol)
    got_window, expected_window = common.window_in(got, "s", rate), common.window_in(expected, "s", rate)
    for name, got_value, expected_value in zip(
        ("start_time", "length"), got_window, expected_window, strict=True
    ):
        assert (name in lost) or abs(got_value - expected_value) <= 1e-9


def test_a_hub_folder_round_trips_losslessly(tmp_path: Path) -> None:
    """Data read from a Phy folder goes back without loss: params, channels, labels, empty units."""
    folder = minimal(
        tmp_path / "in",
        cluster_group__tsv="cluster_id\tgroup\n0\tgood\n1\tnoise\n3\tmua\n7\tgood\n",
        channel_map__npy=np.array([0, 1, 3], dtype=np.int32),
        channel_positions__npy=np.array([[0.0, 0.0], [0.0, 20.0], [16.0, 40.0]]),
    )
    (folder / "params.py").write_text(
        "dat_path = ['a.bin', 'b.bin']\nn_channels_dat = 3\ndtype = 'int16'\noffset = 0\n"
        "sample_rate = 30000.0\nhp_filtered = True\n"
    )
    model = api.read(str(folder))
    assert model.unit_ids.tolist() == [0, 1, 3, 7] and model.spike_times_index.tolist() == [1, 3, 4, 4]
    assert api.write(model, str(tmp_path / "out.phy")) == []
    again = api.read(str(tmp_path / "out.phy"))
    assert_same_spikes(again, model)
    assert np.load(tmp_path / "out.phy" / "channel_map.npy").tolist() == [0, 1, 3]


def test_samples_written_in_time_order_with_unit_ids_as_clusters(tmp_path: Path) -> None:
    model = curated()
    losses = api.write(model, str(tmp_path / "c.phy"))
    assert losses_named(losses) == {"unit_ids"}  # ids 9, 2, 40, 5 come back sorted
    times = np.load(tmp_path / "c.phy" / "spike_times.npy")
    clusters = np.load(tmp_path / "c.phy" / "spike_clusters.npy")
    assert times.dtype == np.int64 and clusters.dtype == np.int64
    assert times.tolist() == [3, 5, 7, 10, 400, 401, 800, 60000, 90000]
    assert clusters.tolist() == [5, 2, 2, 9, 9, 9, 5, 2, 9]
    assert params_py.parse((tmp_path / "c.phy" / "params.py").read_bytes())["sample_rate"] == FS
    got = api.read(str(tmp_path / "c.phy"))
    assert_same_spikes(got, sorted_by_id(model), ignore=("metadata",))


# ------------------------------------------------------------------------------------------------ peers


@pytest.mark.filterwarnings("ignore:Cluster IDs are not sequential")  # spikelab's own, about its folder
def test_spikelab_exports_read_equal_in_the_hub(tmp_path: Path) -> None:
    from spikelab import SpikeData as LabSpikeData
    from spikelab.data_loaders import (
        export_spikedata_to_kilosort as lab_export,
        load_spikedata_from_kilosort as lab_load,
    )

    rng = np.random.default_rng(3)
    trains_ms = [np.sort(rng.uniform(0, 2000, count)) for count in (30, 0, 12, 55)]
    lab = LabSpikeData(trains_ms, length=2000.0, neuron_attributes=[{"electrode": e} for e in (3, 1, 7, 2)])
    lab_export(lab, str(tmp_path / "lab"), fs_Hz=FS)
    with pytest.raises(InputError, match="sampling_rate"):  # spikelab writes no params.py
        api.read(str(tmp_path / "lab"))
    got = api.read(str(tmp_path / "lab"), sampling_rate=FS)
    assert got.unit_ids.tolist() == [0, 2, 3]  # spikelab writes nothing for its empty unit
    for unit_id, train in zip(got.unit_ids, common.trains(got), strict=True):
        np.testing.assert_array_equal(train, np.rint(trains_ms[unit_id] * FS / 1000))
    reloaded = lab_load(str(tmp_path / "lab"), fs_Hz=FS)
    for train, lab_train in zip(common.trains(got), reloaded.train, strict=True):
        np.testing.assert_allclose(common.convert_times(train, "samples", "ms", FS), lab_train, rtol=1e-12)
    assert got.metadata["phy_channels"] == {"channel_map": [3, 1, 7, 2]}

    lab_export(lab, str(tmp_path / "lab_s"), fs_Hz=FS, time_unit="s")
    in_seconds = api.read(str(tmp_path / "lab_s"), time_unit="s")
    assert in_seconds.time_unit == "s" and in_seconds.sampling_rate is None
    for unit_id, train in zip(in_seconds.unit_ids, common.trains(in_seconds), strict=True):
        np.testing.assert_allclose(train, trains_ms[unit_id] / 1000, rtol=1e-12)
    with pytest.raises(InputError, match="time_unit"):  # floats are not sample indices
        api.read(str(tmp_path / "lab_s"), sampling_rate=FS)


def test_hub_folders_read_equal_in_spikeinterface(tmp_path: Path) -> None:
    from spikeinterface.extractors import read_phy

    model = curated()
    api.write(model, str(tmp_path / "c.phy"))
    sorting = read_phy(str(tmp_path / "c.phy"))
    expected = sorted_by_id(model)
    assert sorting.get_sampling_frequency() == FS
    assert sorting.unit_ids.tolist() == expected.unit_ids.tolist()  # the unit without spikes too
    for unit_id, train in zip(expected.unit_ids, common.trains(expected), strict=True):
        np.testing.assert_array_equal(sorting.get_unit_spike_train(unit_id), train)
    assert sorting.get_property("quality").tolist() == common.attributes(expected)["group"].tolist()
    np.testing.assert_array_equal(sorting.get_property("ContamPct"), common.attributes(expected)["ContamPct"])
    without_noise = read_phy(str(tmp_path / "c.phy"), exclude_cluster_groups=["noise"])
    hub_without_noise = api.read(str(tmp_path / "c.phy"), drop_groups="noise")
    assert without_noise.unit_ids.tolist() == hub_without_noise.unit_ids.tolist() == [5, 9, 40]


def test_hub_folders_read_equal_in_spikelab(tmp_path: Path) -> None:
    from spikelab.data_loaders import load_spikedata_from_kilosort as lab_load

    model = curated()
    api.write(model, str(tmp_path / "c.phy"))
    expected = sorted_by_id(model)
    for options in ({}, {"cluster_info_tsv": "cluster_info.tsv"}, {"cluster_info_tsv": "cluster_group.tsv"}):
        lab = lab_load(str(tmp_path / "c.phy"), fs_Hz=FS, **options)
        ours = phy.load_spikedata_from_kilosort(str(tmp_path / "c.phy"), fs_Hz=FS, **options)
        assert ours.unit_ids.tolist() == lab.metadata["cluster_ids"]
        assert ours.time_unit == "ms" and ours.start_time == 0.0
        for unit_id, lab_train, train in zip(ours.unit_ids, lab.train, common.trains(ours), strict=True):
            index = expected.unit_ids.tolist().index(unit_id)
            samples = common.trains(expected)[index]
            np.testing.assert_allclose(lab_train, samples / FS * 1000, rtol=1e-12)
            np.testing.assert_allclose(train, lab_train, rtol=1e-12)
    # spikelab drops the empty unit always, noise and unsorted clusters when it reads a table
    assert lab_load(str(tmp_path / "c.phy"), fs_Hz=FS).metadata["cluster_ids"] == [2, 5, 9]
    assert lab_load(str(tmp_path / "c.phy"), fs_Hz=FS, cluster_info_tsv="cluster_info.tsv").metadata[
        "cluster_ids"
    ] == [5, 9]
    noisy = phy.load_spikedata_from_kilosort(
        str(tmp_path / "c.phy"), fs_Hz=FS, cluster_info_tsv="cluster_info.tsv", include_noise=True
    )
    assert noisy.unit_ids.tolist() == [2, 5, 9]


def test_the_spikelab_compatible_export_reads_in_spikelab(tmp_path: Path) -> None:
    from spikelab.data_loaders import load_spikedata_from_kilosort as lab_load

    model = curated(time_unit="s")
    (tmp_path / "ks").mkdir()
    (tmp_path / "ks" / "recording.dat").write_bytes(b"raw")  # like spikelab, other files are left alone
    with pytest.warns(UserWarning, match=r"does not hold everything \(unit_ids: replaced.*time_unit"):
        paths = phy.export_spikedata_to_kilosort(
            model, str(tmp_path / "ks"), fs_Hz=FS, cluster_ids=[90, 20, 400, 50]
        )
    assert paths == (str(tmp_path / "ks" / "spike_times.npy"), str(tmp_path / "ks" / "spike_clusters.npy"))
    assert (tmp_path / "ks" / "recording.dat").read_bytes() == b"raw"
    lab = lab_load(str(tmp_path / "ks"), fs_Hz=FS)
    assert lab.metadata["cluster_ids"] == [20, 50, 90]
    expected = {90: [10, 400, 401, 90000], 20: [5, 7, 60000], 50: [3, 800]}
    for unit_id, train in zip(lab.metadata["cluster_ids"], lab.train, strict=True):
        np.testing.assert_allclose(train, np.array(expected[unit_id]) / FS * 1000, rtol=1e-12)
    with pytest.warns(UserWarning, match="time_unit"):
        default_ids = phy.export_spikedata_to_kilosort(model, str(tmp_path / "ks2"), fs_Hz=FS, time_unit="ms")
    assert Path(default_ids[0]).is_file()
    lab_ms = lab_load(str(tmp_path / "ks2"), fs_Hz=FS, time_unit="ms")
    assert lab_ms.metadata["cluster_ids"] == [0, 1, 3]  # spikelab numbers units 0..N-1 by default
    with pytest.raises(UsageError, match="entries for 4 units"):
        phy.export_spikedata_to_kilosort(model, str(tmp_path / "ks3"), fs_Hz=FS, cluster_ids=[1, 2])
    assert not (tmp_path / "ks3").exists()
    exact = common.from_trains([[1.0, 5.0], [2.0]], time_unit="samples", sampling_rate=FS, length=6.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing lost, nothing to say
        phy.export_spikedata_to_kilosort(exact, str(tmp_path / "ks4"), fs_Hz=FS)


def test_spikeinterface_phy_exports_read_equal_in_the_hub(tmp_path: Path) -> None:
    import spikeinterface.core as si
    from spikeinterface.exporters import export_to_phy

    recording, sorting = si.generate_ground_truth_recording(
        durations=[2.0], num_channels=4, num_units=5, seed=0
    )
    analyzer = si.create_sorting_analyzer(sorting, recording, sparse=False)
    analyzer.compute(["random_spikes", "templates"], verbose=False)
    export_to_phy(
        analyzer,
        tmp_path / "si",
        compute_pc_features=False,
        compute_amplitudes=False,
        copy_binary=False,
        verbose=False,
    )
    got = api.read(str(tmp_path / "si"))
    assert got.sampling_rate == sorting.get_sampling_frequency()
    assert got.unit_ids.tolist() == list(range(len(sorting.unit_ids)))
    for index, unit_id in enumerate(sorting.unit_ids):
        np.testing.assert_array_equal(common.trains(got)[index], sorting.get_unit_spike_train(unit_id))
    attributes = common.attributes(got)
    assert "group" not in attributes  # every cluster is 'unsorted': no curation to report
    assert attributes["si_unit_id"].tolist() == list(range(5))
    assert got.metadata["phy_params"]["hp_filtered"] is True
    assert got.metadata["phy_channels"]["channel_map"] == [0, 1, 2, 3]
    assert len(got.metadata["phy_channels"]["channel_positions"]) == 4
    assert api.write(got, str(tmp_path / "copy.phy")) == []
    for name in ("channel_map.npy", "channel_positions.npy"):
        np.testing.assert_array_equal(np.load(tmp_path / "copy.phy" / name), np.load(tmp_path / "si" / name))


# --------------------------------------------------------------------------------------------- variants


def test_uint64_column_spike_times_are_read(tmp_path: Path) -> None:
    folder = minimal(tmp_path / "f", spike_times__npy=np.array([[30], [10], [20], [40]], dtype=np.uint64))
    (folder / "spike_clusters.npy").unlink()
    np.save(folder / "spike_clusters.npy", np.array([[1], [0], [1], [3]], dtype=np.uint32))
    got = api.read(str(folder))
    assert got.unit_ids.tolist() == [0, 1, 3] and got.spike_times.tolist() == [10, 20, 30, 40]
    assert got.time_unit == "samples" and got.start_time == 0.0 and got.length == 41.0


def test_spike_templates_stand_in_for_missing_clusters(tmp_path: Path) -> None:
    folder = minimal(tmp_path / "ks", spike_clusters__npy=None, spike_templates__npy=np.array([2, 2, 0, 2]))
    got = api.read(str(folder))
    assert got.unit_ids.tolist() == [0, 2] and got.spike_times_index.tolist() == [1, 4]
    assert got.metadata["phy_clusters_from"] == "spike_templates.npy"


def test_cluster_tables_merge_on_cluster_id(tmp_path: Path) -> None:
    folder = minimal(
        tmp_path / "t",
        cluster_group__tsv="cluster_id\tgroup\n0\tgood\n1\tnoise\n",
        cluster_KSLabel__tsv="cluster_id\tKSLabel\n0\tgood\n1\tmua\n3\tgood\n12\tmua\n",
        cluster_ContamPct__tsv="cluster_id\tContamPct\n0\t1.5\n3\t100.0\n",
        cluster_info__tsv="cluster_id\tch\tgroup\tn_spikes\n0\t5\tmua\t1\n1\t6\t\t2\n3\t9\tNA\t1\n",
        cluster_notes__tsv="note\nno id column: skipped, as the peers do\n",
    )
    got = api.read(str(folder))
    assert got.unit_ids.tolist() == [0, 1, 3, 12]  # 12 is only in a table: a real cluster without spikes
    assert got.spike_times_index.tolist() == [1, 3, 4, 4]
    attributes = common.attributes(got)
    assert [column.name for column in got.unit_attributes] == [
        "ch",
        "group",
        "n_spikes",
        "ContamPct",
        "KSLabel",
    ]
    assert attributes["group"].tolist() == ["good", "noise", "NA", ""]  # cluster_group.tsv wins over info
    assert attributes["KSLabel"].tolist() == ["good", "mua", "good", "mua"]
    np.testing.assert_array_equal(attributes["ContamPct"], [1.5, np.nan, 100.0, np.nan])
    np.testing.assert_array_equal(attributes["ch"], [5, 6, 9, np.nan])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, [0, 1, 3, 7]),
        ({"keep_groups": "good,MUA"}, [0, 3, 7]),
        ({"keep_groups": ["good"]}, [0, 7]),
        ({"drop_groups": "noise"}, [0, 3, 7]),
        ({"drop_groups": ["noise", "mua"]}, [0, 7]),
        ({"keep_groups": "unsorted"}, []),
    ],
)
def test_group_filters(tmp_path: Path, options: dict, expected: list[int]) -> None:
    folder = minimal(
        tmp_path / "g", cluster_group__tsv="cluster_id\tgroup\n0\tgood\n1\tnoise\n3\tmua\n7\tGood\n"
    )
    got = api.read(str(folder), **options)
    assert got.unit_ids.tolist() == expected
    assert got.length == 41.0  # the recording's window, whatever clusters are kept
    kept = np.isin([1, 0, 1, 3], expected)
    assert len(got.spike_times) == int(np.count_nonzero(kept))


def test_group_filters_fall_back_to_kilosort_labels(tmp_path: Path) -> None:
    folder = minimal(tmp_path / "k", cluster_KSLabel__tsv="cluster_id\tKSLabel\n0\tgood\n1\tmua\n")
    assert api.read(str(folder), keep_groups="good").unit_ids.tolist() == [0]
    assert api.read(str(folder), keep_groups="unsorted").unit_ids.tolist() == [3]  # no label at all
    with pytest.raises(UsageError, match="keep_groups"):
        api.read(str(folder), keep_groups=3)
    with pytest.raises(UsageError, match="names no label"):
        api.read(str(folder), drop_groups=" , ")


def test_other_file_names_are_options(tmp_path: Path) -> None:
    folder = minimal(
        tmp_path / "named",
        spike_times__npy=None,
        spike_clusters__npy=None,
        times__npy=np.array([5, 1]),
        units__npy=np.array([2, 2]),
    )
    got = api.read(str(folder), format="phy", spike_times_file="times.npy", spike_clusters_file="units.npy")
    assert got.unit_ids.tolist() == [2] and got.spike_times.tolist() == [1, 5]
    with pytest.raises(InputError, match=r"no spike_times\.npy"):
        api.read(str(folder), format="phy")
    with pytest.raises(InputError, match="no such folder"):
        api.read(str(tmp_path / "missing"), format="phy")


def test_group_filters_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = minimal(tmp_path / "g", cluster_group__tsv="cluster_id\tgroup\n0\tgood\n1\tnoise\n")
    target = tmp_path / "out.json"
    code, err = hub(capsys, "convert", str(folder), str(target), "--read-option", "drop_groups=noise")
    assert code == 0, err
    assert api.read(str(target)).unit_ids.tolist() == [0, 3]


# ------------------------------------------------------------------------------------- hostile and broken


HOSTILE_PARAMS = [
    'import os; os.system("touch {marker}")\nsample_rate = 30000.0\n',
    "sample_rate = __import__('os').mkdir('{marker}')\n",
    "sample_rate = 30000.0\nexec(\"open('{marker}', 'w')\")\n",
    "sample_rate = 30000.0\ndtype = f\"{{open('{marker}', 'w')}}\"\n",
    "sample_rate = [open('{marker}', 'w')]\n",
    "import numpy as np\nsample_rate = 30000.0\n",
    "sample_rate = 30000.0\ndtype = np.int16\n",
]


@pytest.mark.parametrize("source", HOSTILE_PARAMS)
def test_params_py_is_never_executed(tmp_path: Path, capsys: pytest.CaptureFixture, source: str) -> None:
    marker = tmp_path / "pwned"
    folder = minimal(tmp_path / "evil", params__py=source.format(marker=marker))
    line = next(number for number, text in enumerate(source.splitlines(), 1) if "sample_rate = 3" not in text)
    with pytest.raises(InputError, match=f"params.py line {line}: only literal assignments"):
        api.read(str(folder))
    code, err = hub(capsys, "info", str(folder))
    assert code == ExitCode.USAGE and "only literal assignments" in err
    assert not marker.exists()


def test_pickled_arrays_are_never_loaded(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple:
            return (os.mkdir, (str(marker),))

    folder = minimal(tmp_path / "evil")
    np.save(folder / "spike_clusters.npy", np.array([Payload()] * 4, dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match=r"spike_clusters.npy holds pickled Python objects"):
        api.read(str(folder))
    assert hub(capsys, "info", str(folder))[0] == ExitCode.USAGE
    assert not marker.exists()


def test_params_py_literals_are_read_as_python_reads_them() -> None:
    source = b'"""KiloSort output."""\ndat_path = r"C:\\data\\rec.bin"\nn_channels_dat = 385\noffset = -0\n'
    source += (
        b"sample_rate = 3e4\nhp_filtered = False\nshape = (1, -2.5)\na = b = None\nsample_rate = 2.5e4\n"
    )
    assert params_py.parse(source) == {
        "dat_path": "C:\\data\\rec.bin",
        "n_channels_dat": 385,
        "offset": 0,
        "sample_rate": 25000.0,
        "hp_filtered": False,
        "shape": [1, -2.5],
        "a": None,
        "b": None,
    }
    for bad in (
        b"x = y\n",
        b"x += 1\n",
        b"x.y = 1\n",
        b"x = 10 ** 100\n",
        b"def f(): pass\n",
        b"x = {1, 2}\n",
    ):
        with pytest.raises(InputError, match="line 1: only literal assignments"):
            params_py.parse(bad)
    with pytest.raises(InputError, match="line 2: invalid Python syntax"):
        params_py.parse(b"x = 1\nx = = 2\n")
    with pytest.raises(InputError, match="sample_rate must be a positive number"):
        params_py.check({"sample_rate": "30000"})
    with pytest.raises(InputError, match="too large"):
        params_py.parse(b"x = 1\n" * 200_000)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"spike_clusters__npy": np.array([0, 1, 1])}, "has 4 spikes but spike_clusters.npy has 3"),
        ({"spike_times__npy": np.array([1.0, np.nan, 3.0, 4.0])}, "spike 1 is nan"),
        ({"spike_times__npy": np.array([1, -5, 3, 4])}, "negative sample index -5"),
        ({"spike_times__npy": np.array([1.0, 2.5, 3.0, 4.0])}, "not a sample index"),
        ({"spike_times__npy": np.array(["a", "b", "c", "d"])}, "must be numbers"),
        ({"spike_times__npy": np.zeros((4, 2), dtype=int)}, "shape"),
        ({"spike_clusters__npy": np.array([0.0, 1.5, 1.0, 2.0])}, "not an integer id"),
        ({"params__py": None}, "no params.py with a sample_rate"),
        ({"params__py": "sample_rate = -1\n"}, "positive number"),
        (
            {"cluster_group__tsv": "cluster_id\tgroup\n0\tgood\n0\tnoise\n"},
            "cluster 0 is listed more than once",
        ),
        ({"cluster_group__tsv": ""}, "empty file"),
        ({"spike_clusters__npy": None}, "neither spike_clusters.npy nor spike_templates.npy"),
    ],
)
def test_broken_folders_are_clear_input_errors(tmp_path: Path, files: dict, message: str) -> None:
    folder = minimal(tmp_path / "broken", **files)
    with pytest.raises(InputError, match=message):
        api.read(str(folder), format="phy")


def test_a_truncated_npy_file_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = minimal(tmp_path / "cut", spike_times__npy=np.arange(1000, dtype=np.int64))
    whole = (folder / "spike_times.npy").read_bytes()
    (folder / "spike_times.npy").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match=r"spike_times\.npy: not a readable \.npy array"):
        api.read(str(folder))
    code, err = hub(capsys, "info", str(folder))
    assert code == ExitCode.USAGE and "spike_times.npy" in err


# ------------------------------------------------------------------------------------------------ writing


def test_seconds_without_a_recording_become_a_folder_read_phy_opens(tmp_path: Path) -> None:
    """What an NWB Units table gives: times in seconds and a sampling rate, no raw data."""
    from spikeinterface.extractors import read_phy

    model = common.from_trains(
        [[0.1, 0.25, 1.0], [0.5], [2.0, 2.000033]],
        unit_ids=[0, 1, 2],
        time_unit="s",
        sampling_rate=FS,
        start_time=0.0,
        length=3.0,
    )
    losses = api.write(model, str(tmp_path / "nwb.phy"))
    assert losses_named(losses) == {"time_unit", "length", "spike_times"}  # 2.000033 s is off the grid
    sorting = read_phy(str(tmp_path / "nwb.phy"))
    for unit_id, train in zip(model.unit_ids, common.trains(model), strict=True):
        np.testing.assert_array_equal(sorting.get_unit_spike_train(unit_id), np.rint(train * FS))


def test_a_model_document_converts_to_a_folder_read_phy_opens(tmp_path: Path) -> None:
    from spikeinterface.extractors import read_phy

    report = api.convert(str(SPIKES_DOCUMENT), str(tmp_path / "doc.phy"), options={"sampling_rate": 30000.0})
    assert report.target.format == "phy"
    assert {"provenance", "metadata", "length", "time_unit"} <= {loss.field for loss in report.losses}
    model = api.read(str(SPIKES_DOCUMENT))
    sorting = read_phy(str(tmp_path / "doc.phy"))
    assert sorting.unit_ids.tolist() == [0, 3, 7]
    for unit_id, train in zip(model.unit_ids, common.trains(model), strict=True):
        np.testing.assert_array_equal(sorting.get_unit_spike_train(unit_id), np.rint(train * FS))
    assert sorting.get_property("location").tolist() == ["CA1", "CA1", "DG"]


def test_write_options_and_refusals(tmp_path: Path) -> None:
    model = curated()
    in_seconds = curated(time_unit="s").model_copy(update={"sampling_rate": None})
    with pytest.raises(UsageError, match="needs a sample rate"):
        api.write(in_seconds, str(tmp_path / "a.phy"))
    with pytest.raises(UsageError, match="would resample"):
        api.write(model, str(tmp_path / "b.phy"), sampling_rate=20000.0)
    with pytest.raises(UsageError, match="time_unit must be one of"):
        api.write(model, str(tmp_path / "c.phy"), time_unit="minutes")
    early = common.from_trains(
        [[-3.0, 5.0]], time_unit="samples", sampling_rate=FS, start_time=-3.0, length=9.0
    )
    with pytest.raises(UsageError, match="before the recording start"):
        api.write(early, str(tmp_path / "d.phy"))
    assert sorted(os.listdir(tmp_path)) == []
    losses = api.write(in_seconds, str(tmp_path / "e.phy"), sampling_rate=FS, time_unit="ms")
    assert {"sampling_rate", "time_unit", "unit_ids"} <= losses_named(losses)
    assert params_py.parse((tmp_path / "e.phy" / "params.py").read_bytes())["spike_times_unit"] == "ms"
    assert api.read(str(tmp_path / "e.phy")).time_unit == "ms"


def test_attributes_a_table_cannot_hold_are_declared(tmp_path: Path) -> None:
    model = common.from_trains(
        [[1.0], [2.0]],
        time_unit="samples",
        sampling_rate=FS,
        length=3.0,
        unit_attributes={
            "position": np.array([[1.0, 2.0], [3.0, 4.0]]),
            "code": np.array(["007", "12"]),
            "group": np.array(["unsorted", "unsorted"]),
            "cluster_id": np.array([5, 6]),
        },
    )
    losses = {loss.field: loss.reason for loss in api.write(model, str(tmp_path / "a.phy"))}
    assert set(losses) == {f"unit_attributes.{name}" for name in ("position", "code", "group", "cluster_id")}
    got = common.attributes(api.read(str(tmp_path / "a.phy")))
    assert set(got) == {"code"} and got["code"].tolist() == [7, 12]  # TSV cells have no type


def test_negative_unit_ids_fail_cleanly_or_are_renumbered(tmp_path: Path) -> None:
    model = common.from_trains(
        [[1.0], [2.0]], unit_ids=[-1, 4], time_unit="samples", sampling_rate=FS, length=3.0
    )
    with pytest.raises(UsageError, match="renumber_clusters"):
        api.write(model, str(tmp_path / "n.phy"))
    assert os.listdir(tmp_path) == []
    losses = api.write(model, str(tmp_path / "n.phy"), renumber_clusters=True)
    assert losses_named(losses) == {"unit_ids"}
    assert api.read(str(tmp_path / "n.phy")).unit_ids.tolist() == [0, 1]


def test_an_existing_folder_is_kept_unless_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "keep.phy"
    api.write(curated(), str(target))
    before = {path.name: path.read_bytes() for path in target.iterdir()}
    with pytest.raises(OutputError, match="exists"):
        api.write(curated(time_unit="s"), str(target), sampling_rate=FS)
    assert {path.name: path.read_bytes() for path in target.iterdir()} == before
    api.write(curated(time_unit="s"), str(target), overwrite=True)
    assert api.read(str(target)).unit_ids.tolist() == [2, 5, 9, 40]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keep.phy"]


def test_s3_round_trip(s3_bucket: str) -> None:
    url = f"{s3_bucket}/sorting"
    model = curated()
    losses = api.write(model, url, format="phy")
    assert losses_named(losses) == {"unit_ids"}
    assert storage.is_dir(url) and "params.py" in storage.list_names(url)
    got = api.read(url)
    assert_same_spikes(got, sorted_by_id(model), ignore=("metadata",))
    ours = phy.load_spikedata_from_kilosort(url, fs_Hz=FS)
    assert ours.unit_ids.tolist() == [2, 5, 9]
    with pytest.warns(UserWarning, match="unit_ids"):
        paths = phy.export_spikedata_to_kilosort(model, f"{s3_bucket}/exported", fs_Hz=FS)
    assert paths == (f"{s3_bucket}/exported/spike_times.npy", f"{s3_bucket}/exported/spike_clusters.npy")
    assert api.read(f"{s3_bucket}/exported").unit_ids.tolist() == [0, 1, 2, 3]


def test_params_the_folder_cannot_hold_are_declared_not_written(tmp_path: Path) -> None:
    model = curated().model_copy(
        update={
            "metadata": {
                "phy_params": {"dtype": 5, "dat_path": "rec.dat", "gain": float("nan"), "sample_rate": 1.0},
                "phy_channels": {"channel_map": [0, 1], "probe": "np1"},
            }
        }
    )
    losses = {loss.field: loss.reason for loss in api.write(model, str(tmp_path / "p.phy"))}
    assert "dtype" in losses["metadata.phy_params"] and "gain" in losses["metadata.phy_params"]
    assert "metadata.phy_channels" in losses and "metadata" not in losses
    got = api.read(str(tmp_path / "p.phy"))
    assert got.metadata == {
        "phy_params": {"dat_path": "rec.dat", "sample_rate": FS},
        "phy_channels": {"channel_map": [0, 1]},
    }
