"""Long tables of spikes (Parquet, Arrow, TSV, CSV): round trips that lose exactly what the writer
declares, pandas reading what the hub writes, foreign tables, damaged input and S3."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import DOCUMENTS
from hypothesis import given, settings, strategies as st
from strategies import assert_same_spikes, losses_named, spike_data

from neurodatahub.cli import main
from neurodatahub.core import conversion, registry
from neurodatahub.core.errors import ExitCode, InputError, InvalidDataError, LossError, UsageError
from neurodatahub.models import SpikeData
from neurodatahub.spikes import common

TABLE_FORMATS = ("parquet", "arrow", "tsv", "csv")
HUB_TABLES = ("parquet", "arrow")
TEXT_TABLES = ("tsv", "csv")
SPIKES_DOCUMENT = DOCUMENTS / "valid" / "SpikeData.yaml"
# declared loss -> what assert_same_spikes must then leave alone (the window is checked field by field)
IGNORED = {
    "sampling_rate": "sampling_rate",
    "metadata": "metadata",
    "unit_attributes": "unit_attributes",
}


def without_empty_units(spikes: SpikeData) -> SpikeData:
    """What a table of spikes can hold: the units that have spikes (and their attributes)."""
    counts = np.diff(np.asarray(spikes.spike_times_index), prepend=0)
    keep = counts > 0
    attributes = {name: values[keep] for name, values in common.attributes(spikes).items()}
    return common.build(
        spike_times=spikes.spike_times,
        spike_times_index=np.cumsum(counts[keep]),
        unit_ids=np.asarray(spikes.unit_ids)[keep],
        time_unit=spikes.time_unit,
        start_time=spikes.start_time,
        length=spikes.length,
        sampling_rate=spikes.sampling_rate,
        unit_attributes=attributes if keep.any() else None,
        metadata=spikes.metadata,
    )


def _attributes_differ(got: SpikeData, expected: SpikeData) -> bool:
    got_columns, expected_columns = common.attributes(got), common.attributes(expected)
    if got_columns.keys() != expected_columns.keys():
        return True
    return any(
        got_columns[name].dtype.kind != values.dtype.kind or not np.array_equal(got_columns[name], values)
        for name, values in expected_columns.items()
    )


def _window_s(spikes: SpikeData, rate: float | None) -> tuple[float, float]:
    return common.window_in(spikes, "s", rate)


def assert_only_declared_losses(got: SpikeData, model: SpikeData, losses: list[Any]) -> None:
    """`got` equals `model` except in the fields the losses name, and each of those really differs."""
    declared = losses_named(losses)
    expected = without_empty_units(model) if "unit_ids" in declared else model
    rate = got.sampling_rate or model.sampling_rate
    atol = 0.5 / rate + 1e-12 if "spike_times" in declared else 1e-9
    ignore = tuple(IGNORED[field] for field in declared if field in IGNORED)
    assert_same_spikes(got, expected, ignore=("window", *ignore), atol_s=atol)
    for field, got_value, value in zip(
        ("start_time", "length"), _window_s(got, rate), _window_s(model, rate), strict=True
    ):
        assert field in declared or abs(got_value - value) <= max(1e-9, 1e-12 * abs(value)), field
    if "provenance" not in declared:
        assert got.provenance == model.provenance
    if "raw_data" not in declared:
        assert (got.raw_data is None) == (model.raw_data is None)
    differs = {
        "unit_ids": lambda: len(got.unit_ids) != len(model.unit_ids),
        "spike_times": lambda: (
            not np.allclose(
                common.times_in(got, "s", rate), common.times_in(model, "s", rate), rtol=0, atol=1e-9
            )
        ),
        "start_time": lambda: _window_s(got, rate)[0] != _window_s(model, rate)[0],
        "length": lambda: _window_s(got, rate)[1] != _window_s(model, rate)[1],
        "sampling_rate": lambda: got.sampling_rate != model.sampling_rate,
        "metadata": lambda: (got.metadata or {}) != (model.metadata or {}),
        "provenance": lambda: got.provenance != model.provenance,
        "raw_data": lambda: got.raw_data is None,
        "unit_attributes": lambda: _attributes_differ(got, expected),
    }
    for field in declared:
        assert differs[field](), f"declared loss of {field} but it reads back the same: {losses}"


def round_trip(model: SpikeData, path: Path, name: str, **options: Any) -> tuple[SpikeData, list[Any]]:
    """Write through the convert path (with its reopen check), read back with the format detected."""
    losses = conversion.write(model, str(path), format=name, **options)
    got = conversion.read(str(path))
    assert registry.detect_format(str(path)).name == name
    assert_only_declared_losses(got, model, losses)
    return got, losses


def _spikes(**fields: Any) -> SpikeData:
    defaults = {"time_unit": "s", "start_time": 0.0, "length": 2.0}  # what a text table infers
    trains = fields.pop("trains", [np.array([0.5, 1.25]), np.array([2.0])])
    return common.from_trains(trains, **{**defaults, **fields})


# ---- round trips ----


@pytest.mark.parametrize("name", TABLE_FORMATS)
@settings(max_examples=40, deadline=None)
@given(spikes=spike_data())
def test_round_trip_loses_exactly_what_is_declared(name: str, spikes: SpikeData) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _, losses = round_trip(spikes, Path(folder) / f"spikes.{name}", name)
    if name in HUB_TABLES:
        assert losses == []


@pytest.mark.parametrize("name", HUB_TABLES)
@settings(max_examples=40, deadline=None)
@given(spikes=spike_data(), unit=st.sampled_from(common.TIME_UNITS))
def test_hub_tables_write_any_time_unit(name: str, spikes: SpikeData, unit: str) -> None:
    options: dict[str, Any] = {"time_unit": unit}
    if unit == "samples" and spikes.sampling_rate is None:
        options["sampling_rate"] = 30000.0
        spikes = spikes.model_copy(update={"sampling_rate": 30000.0})
    with tempfile.TemporaryDirectory() as folder:
        got, losses = round_trip(spikes, Path(folder) / f"spikes.{name}", name, **options)
    assert got.time_unit == unit
    assert losses_named(losses) <= {"spike_times", "start_time", "length"}


@pytest.mark.parametrize("name", TEXT_TABLES)
@settings(max_examples=20, deadline=None)
@given(spikes=spike_data(), unit=st.sampled_from(["s", "ms"]))
def test_text_tables_write_seconds_or_milliseconds(name: str, spikes: SpikeData, unit: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        got, _ = round_trip(spikes, Path(folder) / f"spikes.{name}", name, time_unit=unit)
    assert got.time_unit == unit


@pytest.mark.parametrize("name", TABLE_FORMATS)
def test_a_huge_unit_round_trips(name: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    trains = [np.sort(rng.uniform(0, 3600, 1_500_000)), np.array([]), np.sort(rng.uniform(0, 3600, 5000))]
    spikes = _spikes(
        trains=trains,
        unit_ids=[4, 1, 9],
        length=3600.0,
        sampling_rate=30000.0,
        unit_attributes={"electrode": np.array([3, 5, 8]), "area": np.array(["CA1", "DG", "CA3"])},
    )
    round_trip(spikes, tmp_path / f"huge.{name}", name)


def test_everything_the_model_holds_survives_parquet_and_arrow(tmp_path: Path) -> None:
    model = conversion.read(str(SPIKES_DOCUMENT))  # provenance, metadata, an attribute description
    for name in HUB_TABLES:
        got, losses = round_trip(model, tmp_path / f"doc.{name}", name)
        assert losses == []
        assert got.model_dump_json() == model.model_dump_json()


def test_two_dimensional_attributes_survive_parquet_but_not_tsv(tmp_path: Path) -> None:
    spikes = _spikes(unit_attributes={"location": np.array([[1.0, 2.0], [3.0, 4.0]])})
    got, losses = round_trip(spikes, tmp_path / "x.parquet", "parquet")
    assert losses == [] and got.unit_attributes[0].values.shape == (2, 2)
    got, losses = round_trip(spikes, tmp_path / "x.tsv", "tsv")
    assert [loss.reason for loss in losses] == ["column 'location' has several values per unit"]
    assert not got.unit_attributes


def test_text_that_reads_back_as_numbers_is_a_declared_loss(tmp_path: Path) -> None:
    spikes = _spikes(unit_attributes={"code": np.array(["007", "12"]), "area": np.array(["CA1", "DG"])})
    got, losses = round_trip(spikes, tmp_path / "x.tsv", "tsv")
    assert [loss.reason for loss in losses] == [
        "column 'code' reads back as int64 values (text has no types)"
    ]
    np.testing.assert_array_equal(common.attributes(got)["code"], [7, 12])
    np.testing.assert_array_equal(common.attributes(got)["area"], ["CA1", "DG"])


def test_text_with_delimiters_quotes_and_line_breaks_round_trips(tmp_path: Path) -> None:
    awkward = np.array(['a\tb, "c"', "line\nbreak"])
    spikes = _spikes(unit_attributes={"note": awkward, "with space": np.array([1.5, 2.5])})
    for name in TEXT_TABLES:
        got, losses = round_trip(spikes, tmp_path / f"x.{name}", name)
        assert losses == []
        np.testing.assert_array_equal(common.attributes(got)["note"], awkward)


def test_attributes_named_like_the_time_column_are_dropped_and_declared(tmp_path: Path) -> None:
    spikes = _spikes(unit_attributes={"time": np.array([1.0, 2.0])})
    _, losses = round_trip(spikes, tmp_path / "x.csv", "csv")
    assert [loss.reason for loss in losses] == ["column 'time' is named like a unit or time column"]


def test_text_tables_refuse_samples_before_writing(tmp_path: Path) -> None:
    target = tmp_path / "x.tsv"
    spikes = _spikes(sampling_rate=30000.0)
    with pytest.raises(UsageError, match="sampling rate"):
        conversion.write(spikes, str(target), time_unit="samples")
    assert not target.exists()
    in_samples = _spikes(
        trains=[np.array([15.0, 300.0])], time_unit="samples", length=600.0, sampling_rate=30000.0
    )
    got, losses = round_trip(in_samples, target, "tsv")  # samples are written as seconds by default
    assert got.time_unit == "s" and "sampling_rate" in losses_named(losses)


def test_strict_refuses_a_lossy_table_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x.tsv"
    with pytest.raises(LossError, match="metadata"):
        conversion.write(conversion.read(str(SPIKES_DOCUMENT)), str(target), strict=True)
    assert list(tmp_path.iterdir()) == []


def test_a_bad_time_unit_is_refused_before_writing(tmp_path: Path) -> None:
    target = tmp_path / "x.parquet"
    with pytest.raises(UsageError, match="sampling rate"):
        conversion.write(_spikes(), str(target), time_unit="samples")
    with pytest.raises(UsageError, match="one of"):
        conversion.write(_spikes(), str(target), time_unit="minutes")
    assert not target.exists()


# ---- peers read what the hub writes ----


def test_pandas_reads_the_long_tables(tmp_path: Path) -> None:
    spikes = _spikes(unit_ids=[7, 3], unit_attributes={"area": np.array(["CA1", "DG"])})
    expected = pd.DataFrame({"unit_id": [7, 7, 3], "time_s": [0.5, 1.25, 2.0]})
    readers = {
        "parquet": pd.read_parquet,
        "arrow": pd.read_feather,
        "tsv": lambda path: pd.read_csv(path, sep="\t"),
        "csv": pd.read_csv,
    }
    for name, read in readers.items():
        path = tmp_path / f"x.{name}"
        conversion.write(spikes, str(path), format=name)
        frame = read(path)
        columns = ["unit_id", "time_s"] if name in HUB_TABLES else ["unit_id", "time_s", "area"]
        assert list(frame.columns) == columns
        pd.testing.assert_frame_equal(frame[["unit_id", "time_s"]], expected)
        if name in TEXT_TABLES:
            assert frame["area"].tolist() == ["CA1", "CA1", "DG"]


def test_samples_are_integers_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    conversion.write(_spikes(sampling_rate=20000.0), str(path), time_unit="samples")
    frame = pd.read_parquet(path)
    assert list(frame.columns) == ["unit_id", "time_samples"]
    assert frame["time_samples"].dtype == np.int64
    assert frame["time_samples"].tolist() == [10000, 25000, 40000]


# ---- foreign tables ----


def test_a_foreign_table_sorted_by_time(tmp_path: Path) -> None:
    """pandas output: units in time order, a per-unit column, a per-spike column, times in ms."""
    frame = pd.DataFrame(
        {
            "spike_time": [5.0, 1.0, 3.0, 2.0, 9.5],
            "cluster_id": [2, 10, 2, 10, 1],
            "group": pd.Categorical(["good", "mua", "good", "mua", "noise"]),
            "amplitude": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    path = tmp_path / "foreign.parquet"
    frame.to_parquet(path)
    with pytest.warns(UserWarning, match="amplitude"):
        got = conversion.read(str(path), time_unit="ms")
    np.testing.assert_array_equal(got.unit_ids, [1, 2, 10])
    assert [train.tolist() for train in common.trains(got)] == [[9.5], [3.0, 5.0], [1.0, 2.0]]
    assert got.time_unit == "ms" and got.start_time == 0.0 and got.length == 9.5
    np.testing.assert_array_equal(common.attributes(got)["group"], ["noise", "good", "mua"])
    assert list(common.attributes(got)) == ["group"]


def test_named_columns_and_read_options(tmp_path: Path) -> None:
    path = tmp_path / "foreign.csv"
    path.write_text("neuron_label,when,sample\n4,0.5,15000\n4,0.25,7500\n8,1.0,30000\n")
    columns = {"unit_column": "neuron_label", "time_column": "sample"}
    with pytest.warns(UserWarning, match="when"):  # varies within a unit: no unit attribute
        got = conversion.read(str(path), **columns, time_unit="samples", sampling_rate=30000)
    assert got.time_unit == "samples" and got.sampling_rate == 30000.0
    assert [train.tolist() for train in common.trains(got)] == [[7500.0, 15000.0], [30000.0]]
    with pytest.raises(UsageError, match="sampling rate"):
        conversion.read(str(path), **columns, time_unit="samples")
    with pytest.raises(InputError, match="unit column"):
        conversion.read(str(path), format="csv")
    with pytest.raises(InputError, match="no column 'nope'"):
        conversion.read(str(path), unit_column="nope")


def test_a_time_unit_that_contradicts_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    conversion.write(_spikes(), str(path))
    with pytest.raises(UsageError, match="records its times in s"):
        conversion.read(str(path), time_unit="ms")


def test_text_content_is_detected_without_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "spikes.txt"
    path.write_text("unit\tt\n1\t0.5\n")
    assert registry.detect_format(str(path)).name == "tsv"
    path.write_text("unit,t\n1,0.5\n")
    assert registry.detect_format(str(path)).name == "csv"


# ---- damaged and invalid input ----


def _hub(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return code, lines[0]


@pytest.mark.parametrize("name", HUB_TABLES)
def test_a_truncated_file_is_a_clear_error(name: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / f"x.{name}"
    conversion.write(_spikes(), str(path))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    code, line = _hub(capsys, "info", str(path))
    assert code == ExitCode.USAGE and "not a readable" in line


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("unit_id\ttime_s\n1\t0.5\n1\tNaN\n", "row 2"),
        ("unit_id\ttime_s\n1\t0.5\n1\t\n", "row 2"),
        ("unit_id\ttime_s\n1\t0.5\n1\tsoon\n", "not spike times"),
        ("unit_id\ttime_s\n1.5\t0.5\n", "not integer unit ids"),
    ],
)
def test_invalid_values_fail_validation_and_write_nothing(
    text: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text(text)
    target = tmp_path / "out.parquet"
    code, line = _hub(capsys, "convert", str(bad), str(target))
    assert code == ExitCode.INVALID and problem in line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.tsv"]
    with pytest.raises(InvalidDataError):
        conversion.read(str(bad))


def test_conversion_prints_each_loss(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["convert", str(SPIKES_DOCUMENT), str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert code == ExitCode.OK
    assert "lost: unit_ids" in err and "lost: metadata" in err and "lost: provenance" in err


# ---- object storage ----


@pytest.mark.parametrize("name", TABLE_FORMATS)
def test_s3_write_and_read(name: str, s3_bucket: str) -> None:
    spikes = _spikes(
        unit_ids=[3, 1], unit_attributes={"area": np.array(["CA1", "DG"])}, sampling_rate=30000.0
    )
    url = f"{s3_bucket}/x.{name}"
    losses = conversion.write(spikes, url)
    got = conversion.read(url)
    assert_only_declared_losses(got, spikes, losses)
