"""Spike trains as long tables, one row per spike: Parquet, Arrow IPC (Feather v2), TSV and CSV.

Every data tool reads a long table (pandas, polars, R, DuckDB, a spreadsheet), so these are the formats to
hand spikes to people. Columns: `unit_id` (int64), then `time_s`, `time_ms` or `time_samples`; rows go
unit by unit (in unit order), each unit's spikes in time order.

Parquet and Arrow also carry what a table of spikes cannot show (the unit list, so units without spikes
survive; the recording window; the sampling rate; unit attributes; metadata; provenance) as JSON under
the key `neurodatahub` of the file's key-value metadata: hub to hub they are lossless, while a plain
`pandas.read_parquet` still sees only the long table. TSV and CSV repeat unit attributes on every spike
row of their unit and cannot store the rest; their writer declares exactly what it drops.

Foreign long tables read too: the unit column is the first of unit_id, unit, cluster_id, cluster, neuron;
the time column the first of time_s, time_ms, time_samples, spike_time, time, t (or the columns the
read options name). Other columns that are constant within each unit become unit attributes.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from neurodatahub.core import storage, words
from neurodatahub.core.codecs import parquet
from neurodatahub.core.errors import InputError, InvalidDataError, UsageError
from neurodatahub.core.options import Options, Positive
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.spikes import common

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

HUB_KEY = b"neurodatahub"
LAYOUT_VERSION = 1
UNIT_COLUMNS = ("unit_id", "unit", "cluster_id", "cluster", "neuron")
TIME_COLUMNS = ("time_s", "time_ms", "time_samples", "spike_time", "time", "t")
UNIT_OF_COLUMN = {"time_s": "s", "time_ms": "ms", "time_samples": "samples"}
STORABLE_KINDS = "biufU"  # booleans, integers, floats and text: what JSON, NPZ and text tables all hold
TEXT_UNITS = ("s", "ms")


class ReadOptions(common.TimeOptions):
    time_unit: common.TimeUnit | None = Field(
        None, description="unit of the time column when neither its name nor the file says (default s)"
    )
    sampling_rate: Positive | None = Field(
        None, description="sampling rate in Hz, for times in samples when the file does not record it"
    )
    unit_column: str | None = Field(
        None, description="name of the unit id column (default: first of " + ", ".join(UNIT_COLUMNS) + ")"
    )
    time_column: str | None = Field(
        None, description="name of the spike time column (default: first of " + ", ".join(TIME_COLUMNS) + ")"
    )


class WriteOptions(common.TimeOptions):
    """The unit of the time column (default: the data's own) and the rate samples need."""


class TextWriteOptions(Options):
    time_unit: common.TimeUnit | None = Field(
        None, description="s or ms (default: the data's unit; seconds for samples, which need a rate)"
    )


# ---- shared with the other spike formats (npz) ----


def target_unit(spikes: SpikeData, time_unit: str | None, sampling_rate: Any) -> tuple[str, float | None]:
    """The unit and rate to write; checked before anything is written."""
    unit = time_unit or spikes.time_unit
    rate = spikes.sampling_rate
    if sampling_rate is not None:
        given = positive_rate(sampling_rate, "sampling_rate")
        if rate is not None and given != rate:
            passed = words.option("sampling_rate", words.Placeholder(f"{given:g}"))
            raise UsageError(f"the data were sampled at {rate:g} Hz; {passed} would misplace every spike")
        rate = given
    common.check_time_unit(unit, rate)
    return unit, rate


def positive_rate(value: Any, what: str) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be a number of Hz, got {value!r}") from None
    if not rate > 0 or not np.isfinite(rate):
        raise UsageError(f"{what} must be a positive number of Hz, got {value!r}")
    return rate


def file_times(spikes: SpikeData, unit: str, rate: float | None) -> np.ndarray:
    """Times as files store them: float64 s or ms, int64 samples (float64 if sample times have fractions)."""
    times = np.asarray(spikes.spike_times, dtype=np.float64)
    if unit == "samples" and spikes.time_unit == "samples":
        return times.astype(np.int64) if np.array_equal(times, np.rint(times)) else times
    return common.convert_times(times, spikes.time_unit, unit, rate)


def scale_times(values: Any, source: str, target: str, rate: float | None) -> np.ndarray:
    """Times in another unit without rounding (raw-data clocks need not fall on the spike grid)."""
    values = np.asarray(values, dtype=np.float64)
    if source == target:
        return values
    seconds = values / rate if source == "samples" else values * common.SECONDS_PER[source]
    return seconds * rate if target == "samples" else seconds / common.SECONDS_PER[target]


def file_window(spikes: SpikeData, unit: str, rate: float | None, times: np.ndarray) -> tuple[float, float]:
    """The window in the file's unit, grown where rounding to samples moved a spike across its edges."""
    start, length = common.window_in(spikes, unit, rate)
    if unit == "samples" and spikes.time_unit != "samples":
        start, length = common.widen_window(times, start, length)
    return start, length


def _numpy_to_json(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not representable in JSON")


def to_json(value: Any) -> str:
    return json.dumps(value, default=_numpy_to_json, allow_nan=True)


def plain_metadata(spikes: SpikeData) -> Any:
    """The metadata as plain JSON values, or None when there is none or JSON cannot represent it."""
    if not spikes.metadata:
        return None
    try:
        return json.loads(to_json(spikes.metadata))
    except (TypeError, ValueError):
        return None


def plain_provenance(spikes: SpikeData) -> list[Any] | None:
    return [record.model_dump(mode="json") for record in spikes.provenance] if spikes.provenance else None


def storable_attributes(spikes: SpikeData) -> list[Any]:
    """Unit attribute columns whose values are booleans, numbers or text (never Python objects)."""
    return [column for column in spikes.unit_attributes or () if column.values.dtype.kind in STORABLE_KINDS]


def attribute_notes(spikes: SpikeData) -> dict[str, dict[str, str]]:
    """Descriptions and physical units of the attribute columns that have them."""
    notes = {}
    for column in storable_attributes(spikes):
        note = {key: getattr(column, key) for key in ("description", "unit") if getattr(column, key)}
        if note:
            notes[column.name] = note
    return notes


def annotate(spikes: SpikeData, notes: Mapping[str, Mapping[str, str]]) -> Any:
    """The same SpikeData with descriptions and units put back on its attribute columns."""
    if not notes:
        return spikes
    from neurodatahub.core.models import NamedArray

    columns = [
        NamedArray(name=column.name, values=column.values, **notes.get(column.name, {}))
        for column in spikes.unit_attributes or ()
    ]
    return spikes.model_copy(update={"unit_attributes": columns})


def common_losses(spikes: SpikeData, unit: str, rate: float | None) -> list[Any]:
    """Losses of every format that keeps the model's fields: rounding, and what JSON or NumPy cannot hold."""
    losses = common.sample_rounding_loss(spikes, unit, rate)
    if losses:
        window = common.window_in(spikes, unit, rate)
        widened = file_window(spikes, unit, rate, file_times(spikes, unit, rate))
        for field, before, after in zip(("start_time", "length"), window, widened, strict=True):
            if after != before:
                losses.append(common.loss(field, "widened to hold spikes rounded to the sample grid"))
    for column in spikes.unit_attributes or ():
        if column.values.dtype.kind not in STORABLE_KINDS:
            losses.append(
                common.loss("unit_attributes", f"column {column.name!r} holds {column.values.dtype} values")
            )
    if spikes.metadata and plain_metadata(spikes) is None:
        losses.append(common.loss("metadata", "holds values JSON cannot represent"))
    return losses


def resolve_time_unit(recorded: str | None, option: str | None, url: str) -> str:
    """The unit the file records wins; a read option only fills in what the file does not say."""
    if option is not None and recorded is not None and option != recorded:
        raise UsageError(f"{url} records its times in {recorded}, not {option}")
    unit = recorded or option or "s"
    if unit not in common.TIME_UNITS:
        raise UsageError(f"time_unit must be one of {', '.join(common.TIME_UNITS)}, got {unit!r}")
    return unit


def resolve_rate(recorded: float | None, option: Any, unit: str, url: str) -> float | None:
    given = None if option is None else positive_rate(option, "sampling_rate")
    if given is not None and recorded is not None and given != recorded:
        raise UsageError(f"{url} records a sampling rate of {recorded:g} Hz, not {given:g}")
    rate = recorded if recorded is not None else given
    if unit == "samples" and rate is None:
        raise UsageError(
            f"{url} holds times in samples: give its sampling rate"
            f" ({words.option('sampling_rate', words.Placeholder('HZ'), reader=True)})"
        )
    return rate


# ---- writing ----


def _counts(spikes: SpikeData) -> np.ndarray:
    return np.diff(np.asarray(spikes.spike_times_index, dtype=np.int64), prepend=0)


def _long_columns(spikes: SpikeData, unit: str, rate: float | None) -> dict[str, np.ndarray]:
    unit_ids = np.asarray(spikes.unit_ids, dtype=np.int64)
    return {"unit_id": np.repeat(unit_ids, _counts(spikes)), f"time_{unit}": file_times(spikes, unit, rate)}


def _hub_header(spikes: SpikeData, unit: str, rate: float | None, times: np.ndarray) -> bytes:
    start, length = file_window(spikes, unit, rate, times)
    notes = attribute_notes(spikes)
    header = {
        "version": LAYOUT_VERSION,
        "time_unit": unit,
        "start_time": start,
        "length": length,
        "sampling_rate": rate,
        "unit_ids": np.asarray(spikes.unit_ids, dtype=np.int64).tolist(),
        "unit_attributes": [
            {
                "name": column.name,
                "dtype": column.values.dtype.str,
                "values": column.values.tolist(),
                **notes.get(column.name, {}),
            }
            for column in storable_attributes(spikes)
        ],
        "metadata": plain_metadata(spikes),
        "provenance": plain_provenance(spikes),
    }
    return to_json(header).encode("utf-8")


def _hub_table(spikes: SpikeData, time_unit: str | None, sampling_rate: Any) -> Any:
    import pyarrow as pa

    unit, rate = target_unit(spikes, time_unit, sampling_rate)
    columns = _long_columns(spikes, unit, rate)
    header = _hub_header(spikes, unit, rate, columns[f"time_{unit}"])
    return pa.table(columns).replace_schema_metadata({HUB_KEY: header})


def write_parquet(
    spikes: Any, path: Path, *, time_unit: str | None = None, sampling_rate: Any = None
) -> None:
    import pyarrow.parquet as pq

    pq.write_table(_hub_table(spikes, time_unit, sampling_rate), str(path))


def write_arrow(
    spikes: SpikeData, path: Path, *, time_unit: str | None = None, sampling_rate: Any = None
) -> None:
    """Uncompressed, so readers can memory-map it and every Arrow implementation (JS too) can open it."""
    import pyarrow as pa

    table = _hub_table(spikes, time_unit, sampling_rate)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def hub_losses(spikes: SpikeData, *, time_unit: str | None = None, sampling_rate: Any = None) -> list[Any]:
    unit, rate = target_unit(spikes, time_unit, sampling_rate)
    losses = common_losses(spikes, unit, rate)
    if spikes.raw_data is not None:
        losses.append(common.loss("raw_data", "a table of spikes has no place for the continuous signal"))
    return losses


def _text_unit(spikes: SpikeData, time_unit: str | None) -> str:
    """s or ms: a text table cannot record the sampling rate that sample times need to be read back."""
    unit = time_unit or (spikes.time_unit if spikes.time_unit in TEXT_UNITS else "s")
    if unit == "samples":
        raise UsageError(
            "TSV and CSV cannot record a sampling rate, so sample times could not be read back: "
            "write s or ms (or use parquet, arrow or npz)"
        )
    common.check_time_unit(unit, None)
    return unit


def _text_attribute_problems(spikes: SpikeData) -> dict[str, str]:
    """Attribute columns a text table cannot hold at all, with the reason."""
    reserved = set(UNIT_COLUMNS) | set(TIME_COLUMNS)
    problems = {}
    for column in spikes.unit_attributes or ():
        if column.name in reserved:
            problems[column.name] = "is named like a unit or time column"
        elif column.values.dtype.kind not in STORABLE_KINDS:
            problems[column.name] = f"holds {column.values.dtype} values"
        elif column.values.ndim != 1:
            problems[column.name] = "has several values per unit"
    return problems


def _text_table(spikes: SpikeData, unit: str) -> Any:
    import pyarrow as pa

    columns: dict[str, Any] = _long_columns(spikes, unit, spikes.sampling_rate)
    skipped = _text_attribute_problems(spikes)
    unit_of_spike = common.unit_of_each_spike(spikes)
    for column in spikes.unit_attributes or ():
        if column.name not in skipped:
            columns[column.name] = pa.array(column.values).take(unit_of_spike)
    return pa.table(columns)


def _needs_quotes(spikes: SpikeData, delimiter: str) -> bool:
    """Whether any name or text value holds a delimiter, quote or line break (checked per unit, not spike)."""
    special = (delimiter, '"', "\n", "\r")
    texts = [column.name for column in spikes.unit_attributes or ()]
    for column in spikes.unit_attributes or ():
        if column.values.dtype.kind == "U":
            texts.extend(np.unique(column.values).tolist())
    return any(mark in text for text in texts for mark in special)


def _write_text(spikes: SpikeData, target: IO[bytes], delimiter: str, unit: str) -> None:
    """Unquoted like BIDS tables unless a value needs quotes; floats in shortest round-trip form.

    Arrow quotes header names even when told not to quote, so an unquoted header is written here.
    """
    import pyarrow.csv as csv

    table = _text_table(spikes, unit)
    quoted = _needs_quotes(spikes, delimiter)
    if not quoted:
        target.write((delimiter.join(table.column_names) + "\n").encode("utf-8"))
    options = csv.WriteOptions(
        delimiter=delimiter, quoting_style="needed" if quoted else "none", include_header=quoted
    )
    csv.write_csv(table, target, options)


def _text_writer(delimiter: str) -> Callable[..., None]:
    def write(spikes: SpikeData, path: Path, *, time_unit: str | None = None) -> None:
        unit = _text_unit(spikes, time_unit)
        with open(path, "wb") as target:
            _write_text(spikes, target, delimiter, unit)

    return write


def _attribute_read_back_losses(spikes: SpikeData, delimiter: str) -> list[Any]:
    """Text has no types: send one row per unit through the same writer and reader, compare exactly."""
    import pyarrow as pa

    filled = np.flatnonzero(_counts(spikes) > 0)
    problems = _text_attribute_problems(spikes)
    kept = [column for column in spikes.unit_attributes or () if column.name not in problems]
    if not kept or not filled.size:
        return []
    probe = common.build(
        spike_times=np.zeros(filled.size),
        spike_times_index=np.arange(1, filled.size + 1),
        unit_ids=np.asarray(spikes.unit_ids)[filled],
        time_unit="s",
        unit_attributes={column.name: column.values[filled] for column in kept},
    )
    buffer = io.BytesIO()
    _write_text(probe, buffer, delimiter, "s")
    written = pa.BufferReader(parquet.arrow_buffer(buffer.getvalue()))  # never Python memory: see there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = common.attributes(_table_spikes(_read_csv(written, delimiter, "the probe"), "the probe"))
    losses = []
    for column in kept:
        got = back.get(column.name)
        if got is None or not _same_values(got, column.values[filled]):
            found = "is not read back" if got is None else f"reads back as {got.dtype} values"
            losses.append(
                common.loss("unit_attributes", f"column {column.name!r} {found} (text has no types)")
            )
    return losses


def _same_values(got: np.ndarray, expected: np.ndarray) -> bool:
    kinds = {"u": "i"}
    if kinds.get(got.dtype.kind, got.dtype.kind) != kinds.get(expected.dtype.kind, expected.dtype.kind):
        return False
    return bool(np.array_equal(got, expected, equal_nan=got.dtype.kind == "f"))


def _text_losses(delimiter: str) -> Callable[..., list[Any]]:
    def losses(spikes: SpikeData, *, time_unit: str | None = None) -> list[Any]:
        unit = _text_unit(spikes, time_unit)
        found = []
        empty = common.empty_units(spikes)
        if empty:
            found.append(
                common.loss("unit_ids", "units without spikes have no row in a table of spikes", empty)
            )
        times = file_times(spikes, unit, spikes.sampling_rate)
        inferred_start = min(0.0, float(times.min())) if times.size else 0.0
        inferred_length = max(float(times.max()) - inferred_start, 0.0) if times.size else 0.0
        start, length = common.window_in(spikes, unit)
        if start != inferred_start:
            found.append(common.loss("start_time", f"not stored: reads back as {inferred_start:g} {unit}"))
        if length != inferred_length:
            found.append(common.loss("length", f"not stored: reads back as {inferred_length:g} {unit}"))
        for field, present in (
            ("sampling_rate", spikes.sampling_rate is not None),
            ("metadata", bool(spikes.metadata)),
            ("provenance", bool(spikes.provenance)),
            ("raw_data", spikes.raw_data is not None),
        ):
            if present:
                found.append(common.loss(field, "a text table of spikes has no place for it"))
        problems = _text_attribute_problems(spikes)
        for name, reason in problems.items():
            found.append(common.loss("unit_attributes", f"column {name!r} {reason}"))
        found.extend(_attribute_read_back_losses(spikes, delimiter))
        described = [name for name in attribute_notes(spikes) if name not in problems]
        for name in described:
            found.append(
                common.loss("unit_attributes", f"description and unit of column {name!r} are not stored")
            )
        return found

    return losses


# ---- reading ----


@contextlib.contextmanager
def _arrow_errors(url: str, what: str) -> Iterator[None]:
    import pyarrow as pa

    try:
        yield
    except pa.ArrowException as error:
        raise InputError(f"{url}: not a readable {what} file ({error})") from error


def read_parquet(url: str, *, storage_options: Mapping[str, Any] | None = None, **options: Any) -> SpikeData:
    return _table_spikes(parquet.read_parquet_table(url, storage_options), url, **options)  # sizes checked


def describe_parquet(
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    time_unit: str | None = None,
    sampling_rate: Any = None,
    unit_column: str | None = None,
    time_column: str | None = None,
) -> dict[str, Any]:
    """`hub info` of a hub Parquet file from its footer (the hub's header, the time column's minimum and
    maximum from the row groups' statistics) and its unit column (run-length encoded: a few bytes per
    unit), not the times. A table without the hub's header or without statistics is read whole."""
    import pyarrow.parquet as pq

    from neurodatahub.core.summary import summarize
    from neurodatahub.spikes.checks import spike_summary

    options = {"time_unit": time_unit, "sampling_rate": sampling_rate}
    options.update(unit_column=unit_column, time_column=time_column)
    # the footer and one column, read synchronously on this thread (no pyarrow read-ahead from a Python
    # file: see codecs.parquet.arrow_source), so a remote file is not copied whole
    with storage.open_read(url, storage_options) as handle, _arrow_errors(url, "Parquet"):
        footer = pq.ParquetFile(handle, pre_buffer=False)
        header = _header_of(footer.schema_arrow.empty_table(), url)
        names = footer.schema_arrow.names
        time_name = _pick(names, time_column, TIME_COLUMNS, "time", url)
        extremes = _statistics_extremes(footer.metadata, names.index(time_name))
        if header is not None and extremes is not False:
            unit_name = _pick(names, unit_column, UNIT_COLUMNS, "unit", url)
            parquet.check_declared_column(footer.metadata, unit_name, url)
            column = footer.read(columns=[unit_name], use_threads=False).column(unit_name)
            units = _unit_values(column, unit_name, url)
    if header is None or extremes is False:
        return summarize(read_parquet(url, storage_options=storage_options, **options))
    unit = resolve_time_unit(header["time_unit"], time_unit, url)
    rate = resolve_rate(header.get("sampling_rate"), sampling_rate, unit, url)
    index, unit_ids = _unit_index(units, np.asarray(header["unit_ids"], dtype=np.int64), url)
    ends = np.cumsum(np.bincount(index, minlength=unit_ids.size), dtype=np.int64)
    start, length = header.get("start_time"), header.get("length")
    if start is None:  # as common.build: the window defaults to [min(0, first spike), last spike]
        start = min(0.0, extremes[0]) if extremes else 0.0
    return {
        "class": "SpikeData",
        **spike_summary(
            index=ends,
            time_unit=unit,
            start_time=float(start),
            length=None if length is None else float(length),
            sampling_rate=rate,
            extremes=extremes,
            attribute_names=list(_header_attributes(header)[0]),
        ),
    }


def _statistics_extremes(metadata: Any, column: int) -> tuple[float, float] | Literal[False] | None:
    """The smallest and largest value of a column from the row groups' statistics in the footer; None
    for no rows; False when a row group has no statistics to tell."""
    low, high = np.inf, -np.inf
    for group in range(metadata.num_row_groups):
        chunk = metadata.row_group(group).column(column)
        if not metadata.row_group(group).num_rows:
            continue
        if chunk.path_in_schema != metadata.schema.column(column).path:
            return False
        stats = chunk.statistics
        if stats is None or not stats.has_min_max or stats.null_count:
            return False
        low, high = min(low, float(stats.min)), max(high, float(stats.max))
    return (low, high) if low <= high else None


def read_arrow(url: str, *, storage_options: Mapping[str, Any] | None = None, **options: Any) -> SpikeData:
    import pyarrow as pa

    with (
        parquet.arrow_source(url, storage_options) as source,
        _arrow_errors(url, "Arrow IPC"),
        pa.memory_map(source) as mapped,
    ):
        table = pa.ipc.open_file(mapped).read_all()
    return _table_spikes(table, url, **options)


def _read_csv(source: Any, delimiter: str, url: str) -> Any:
    import pyarrow.csv as csv

    what = "TSV" if delimiter == "\t" else "CSV"
    with _arrow_errors(url, what):
        return csv.read_csv(
            source, parse_options=csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
        )


def _text_reader(delimiter: str) -> Callable[..., Any]:
    def read(url: str, *, storage_options: Mapping[str, Any] | None = None, **options: Any) -> SpikeData:
        with parquet.arrow_source(url, storage_options) as source:
            table = _read_csv(source, delimiter, url)
        return _table_spikes(table, url, **options)

    return read


def _header_of(table: Any, url: str) -> dict[str, Any] | None:
    raw = (table.schema.metadata or {}).get(HUB_KEY)
    if raw is None:
        return None
    try:
        header = json.loads(raw)
    except ValueError as error:
        raise InputError(f"{url}: damaged neurodatahub metadata ({error})") from error
    if not isinstance(header, dict) or header.get("version") != LAYOUT_VERSION:
        raise InputError(
            f"{url}: neurodatahub metadata of an unknown layout (a newer neurodatahub wrote it?)"
        )
    missing = [key for key in ("time_unit", "unit_ids") if key not in header]
    if missing:
        raise InputError(f"{url}: damaged neurodatahub metadata (no {', '.join(missing)})")
    return header


def _pick(names: list[str], chosen: str | None, candidates: tuple[str, ...], what: str, url: str) -> str:
    if chosen is not None:
        if chosen not in names:
            raise InputError(f"{url} has no column {chosen!r} (columns: {', '.join(names)})")
        return chosen
    for name in candidates:
        if name in names:
            return name
    raise InputError(
        f"{url} has no {what} column (looked for {', '.join(candidates)}; columns: {', '.join(names)});"
        f" name it with {words.option(f'{what}_column', words.Placeholder('NAME'), reader=True)}"
    )


def _unit_values(column: Any, name: str, url: str) -> np.ndarray:
    import pyarrow as pa

    if column.null_count:
        raise InvalidDataError(f"{url}: column {name!r} has rows without a unit id")
    values = column.to_numpy(zero_copy_only=False)
    if pa.types.is_integer(column.type) or pa.types.is_null(column.type):
        return values.astype(np.int64)
    if pa.types.is_floating(column.type) and np.array_equal(values, np.rint(values)):
        return values.astype(np.int64)
    raise InvalidDataError(f"{url}: column {name!r} holds {column.type} values, not integer unit ids")


def _time_values(column: Any, name: str, url: str) -> np.ndarray:
    import pyarrow as pa

    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)):
        raise InvalidDataError(f"{url}: column {name!r} holds {kind} values, not spike times")
    times = column.to_numpy(zero_copy_only=False).astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        message = f"spike time in data row {bad[0] + 1} is missing or not finite; spike times must be finite"
        raise InvalidDataError(f"{url}: {message}", [{"location": f"{name}[{bad[0]}]", "message": message}])
    return times


def _unit_index(units: np.ndarray, unit_ids: np.ndarray | None, url: str) -> tuple[np.ndarray, np.ndarray]:
    """Position of each row's unit in the unit list: the file's list, else the order the rows show."""
    if unit_ids is not None:
        if not unit_ids.size:
            if units.size:
                raise InputError(f"{url}: rows name units but the file's unit list is empty")
            return units, unit_ids
        sorter = np.argsort(unit_ids)
        index = sorter[np.minimum(np.searchsorted(unit_ids, units, sorter=sorter), unit_ids.size - 1)]
        if not np.array_equal(unit_ids[index], units):
            raise InputError(f"{url}: rows name units that the file's unit list lacks")
        return index, unit_ids
    if not units.size:
        return units, units
    breaks = np.flatnonzero(units[1:] != units[:-1]) + 1
    run_ids = units[np.concatenate([[0], breaks])]
    if np.unique(run_ids).size == run_ids.size:  # rows grouped by unit: keep the file's unit order
        counts = np.diff(np.concatenate([[0], breaks, [units.size]]))
        return np.repeat(np.arange(run_ids.size), counts), run_ids
    unit_ids, index = np.unique(units, return_inverse=True)
    return index.reshape(-1), unit_ids


def _is_sorted(index: np.ndarray, times: np.ndarray) -> bool:
    step = np.diff(index)
    return bool(((step > 0) | ((step == 0) & (np.diff(times) >= 0))).all())


def _codes(column: Any) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]] | None:
    """Numbers to compare rows by, and how to turn them into values; None for unsupported types."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_null(kind):  # every cell empty: how text tables hold a column of empty strings
        return np.zeros(len(column), dtype=np.int8), lambda codes: np.full(codes.shape, "")
    if column.null_count and not pa.types.is_floating(kind) and not pa.types.is_integer(kind):
        return None
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return column.to_numpy(zero_copy_only=False), lambda values: values
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        encoded = column.combine_chunks()
        if not pa.types.is_dictionary(encoded.type):
            encoded = encoded.dictionary_encode()
        if not (
            pa.types.is_string(encoded.dictionary.type) or pa.types.is_large_string(encoded.dictionary.type)
        ):
            return None
        words = np.asarray(encoded.dictionary.to_pylist(), dtype=str)
        return encoded.indices.to_numpy(zero_copy_only=False), lambda codes: words[codes]
    return None


def _column_attributes(
    table: Any, names: list[str], index: np.ndarray, first_rows: np.ndarray, url: str
) -> dict[str, np.ndarray]:
    """Columns constant within every unit, as unit attributes; the model has no per-spike columns."""
    if not names or not first_rows.size:
        return {}
    attributes, dropped = {}, []
    for name in names:
        coded = _codes(table.column(name))
        if coded is None:
            dropped.append(name)
            continue
        codes, decode = coded
        first = codes[first_rows]
        spread = first[index]
        same = codes == spread
        if codes.dtype.kind == "f":
            same |= np.isnan(codes) & np.isnan(spread)
        if same.all():
            attributes[name] = decode(first)
        else:
            dropped.append(name)
    if dropped:
        warnings.warn(
            f"{url}: columns {', '.join(dropped)} vary within a unit or hold unsupported types;"
            " SpikeData keeps only per-unit attributes, so they are not read",
            stacklevel=2,
        )
    return attributes


def _header_attributes(header: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, dict[str, str]]]:
    values, notes = {}, {}
    for column in header.get("unit_attributes") or ():
        values[column["name"]] = np.asarray(column["values"], dtype=np.dtype(column["dtype"]))
        note = {key: column[key] for key in ("description", "unit") if column.get(key)}
        if note:
            notes[column["name"]] = note
    return values, notes


def _table_spikes(
    table: Any,
    url: str,
    *,
    time_unit: str | None = None,
    sampling_rate: Any = None,
    unit_column: str | None = None,
    time_column: str | None = None,
) -> Any:
    header = _header_of(table, url)
    names = table.column_names
    unit_name = _pick(names, unit_column, UNIT_COLUMNS, "unit", url)
    time_name = _pick(names, time_column, TIME_COLUMNS, "time", url)
    recorded_unit = header["time_unit"] if header else UNIT_OF_COLUMN.get(time_name)
    unit = resolve_time_unit(recorded_unit, time_unit, url)
    rate = resolve_rate(header.get("sampling_rate") if header else None, sampling_rate, unit, url)
    units = _unit_values(table.column(unit_name), unit_name, url)
    times = _time_values(table.column(time_name), time_name, url)
    listed = np.asarray(header["unit_ids"], dtype=np.int64) if header else None
    index, unit_ids = _unit_index(units, listed, url)
    counts = np.bincount(index, minlength=unit_ids.size)
    in_order = _is_sorted(index, times)
    if header:
        attributes, notes = _header_attributes(header)
    else:
        others = [name for name in names if name not in (unit_name, time_name)]
        first_rows = np.cumsum(counts) - counts if in_order else np.unique(index, return_index=True)[1]
        attributes, notes = _column_attributes(table, others, index, first_rows, url), {}
    fields = {
        "unit_ids": unit_ids,
        "time_unit": unit,
        "sampling_rate": rate,
        "unit_attributes": attributes,
        "start_time": header.get("start_time") if header else None,
        "length": header.get("length") if header else None,
        "metadata": header.get("metadata") if header else None,
        "provenance": header.get("provenance") if header else None,
    }
    if in_order:
        spikes = common.build(spike_times=times, spike_times_index=np.cumsum(counts), **fields)
    else:
        spikes = common.from_pairs(index, times, unit_ids.size, **fields)
    return annotate(spikes, notes)


# ---- detection ----


def _header_names(probe: Probe, delimiter: str) -> list[str]:
    first = probe.head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
    return [name.strip().strip('"') for name in first.decode("utf-8", "replace").split(delimiter)]


def _is_spike_header(names: Iterable[str]) -> bool:
    names = set(names)
    return bool(names & set(UNIT_COLUMNS)) and bool(names & set(TIME_COLUMNS))


def _text_sniffer(delimiter: str) -> Callable[[Probe], bool]:
    def sniff(probe: Probe) -> bool:
        return _is_spike_header(_header_names(probe, delimiter))

    return sniff


def sniff_parquet(probe: Probe) -> bool:
    """Parquet with a unit and a time column: region and connectivity tables are Parquet too."""
    return parquet.columns_match(probe, _is_spike_header)


def sniff_arrow(probe: Probe) -> bool:
    return probe.head.startswith(b"ARROW1")


HUB_CANNOT_STORE = ("raw data",)
TEXT_CANNOT_STORE = (
    "units without spikes",
    "recording window",
    "sampling rate",
    "metadata",
    "provenance",
    "raw data",
    "multi-valued unit attributes",
)

register_format(
    FormatSpec(
        name="parquet",
        kind=common.KIND,
        description="Long table of spikes (unit_id, time) in Parquet; the rest as JSON in the file metadata",
        extensions=(".parquet", ".pq"),
        read=read_parquet,
        write=write_parquet,
        describe=describe_parquet,
        sniff=sniff_parquet,
        read_options=ReadOptions,
        write_options=WriteOptions,
        cannot_store=HUB_CANNOT_STORE,
        losses=hub_losses,
    )
)
register_format(
    FormatSpec(
        name="arrow",
        kind=common.KIND,
        description="Long table of spikes as an Arrow IPC file (Feather v2); the rest as JSON metadata",
        extensions=(".arrow", ".feather", ".ipc"),
        read=read_arrow,
        write=write_arrow,
        sniff=sniff_arrow,
        read_options=ReadOptions,
        write_options=WriteOptions,
        cannot_store=HUB_CANNOT_STORE,
        losses=hub_losses,
    )
)


def _register_text(name: str, delimiter: str) -> None:
    register_format(
        FormatSpec(
            name=name,
            kind=common.KIND,
            description=f"Long table of spikes as {name.upper()}: unit_id, time, per-unit attribute columns",
            extensions=(f".{name}",),
            read=_text_reader(delimiter),
            write=_text_writer(delimiter),
            sniff=_text_sniffer(delimiter),
            read_options=ReadOptions,
            write_options=TextWriteOptions,
            cannot_store=TEXT_CANNOT_STORE,
            losses=_text_losses(delimiter),
        )
    )


_register_text("tsv", "\t")
_register_text("csv", ",")
