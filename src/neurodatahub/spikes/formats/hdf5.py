"""Generic HDF5 spike files in spikelab's four styles: ragged, group, paired and raster.

Files are written so spikelab 0.1.2's loader reads them (same datasets, dtypes, root attributes
`start_time` and `length_ms`), and read from files spikelab wrote, the style detected from the datasets.
What spikelab has no place for (unit ids, unit attributes, metadata, the model's own time unit) goes
into a `/neurodatahub` group that spikelab never looks at, so a hub-to-hub round trip is lossless.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import budget, words
from neurodatahub.core.codecs import hdf5
from neurodatahub.core.codecs.hdf5 import open_hdf5, text
from neurodatahub.core.codecs.metadata import metadata_from_json, to_json
from neurodatahub.core.errors import InputError, InvalidDataError, OutputError, UsageError
from neurodatahub.core.options import Flag, Options, Positive, choice
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.spikes import common

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

# what spikelab's exporter writes by default; files without a unit attribute are read the same way
EXPORT_DEFAULT_UNIT = {"ragged": "s", "group": "s", "paired": "ms"}
HUB_GROUP = "neurodatahub"


Style = choice("Hdf5SpikeStyle")


class DatasetNames(Options):
    """Where each style keeps its arrays: spikelab's export parameters, with its defaults."""

    spike_times_dataset: str = Field("spike_times", description="ragged: dataset of all spike times")
    spike_times_index_dataset: str = Field("spike_times_index", description="ragged: dataset of end offsets")
    group_per_unit: str = Field("units", description="group: group with one dataset per unit")
    idces_dataset: str = Field("idces", description="paired: dataset of unit indices")
    times_dataset: str = Field("times", description="paired: dataset of spike times")
    raster_dataset: str = Field("raster", description="raster: dataset of counts, units x bins")
    raw_dataset: str | None = Field(
        None, description="dataset of raw data, channels x samples (with raw_time_dataset)"
    )
    raw_time_dataset: str | None = Field(
        None, description="dataset of the raw data's time vector (with raw_dataset)"
    )
    raw_time_unit: common.TimeUnit | None = Field(
        None, description="unit of the raw time vector (default: the hub's record, else ms)"
    )


DATASET_FIELDS = (
    "spike_times_dataset",
    "spike_times_index_dataset",
    "group_per_unit",
    "idces_dataset",
    "times_dataset",
    "raster_dataset",
)


class ReadOptions(common.TimeOptions, DatasetNames):
    style: Style | None = Field(None, description="the layout (default: detected from the datasets)")
    time_unit: common.TimeUnit | None = Field(
        None,
        description="unit of times the file does not state (default: spikelab's export default, s or ms)",
    )
    bin_size_ms: Positive | None = Field(
        None, description="raster: bin size when the dataset has no bin_size_ms attribute"
    )


class WriteOptions(common.TimeOptions, DatasetNames):
    style: Style = Field("ragged", description="the layout spikelab's exporter writes")
    time_unit: common.TimeUnit | None = Field(
        None, description="unit of the times (default: spikelab's default for the style: s, s, ms)"
    )
    bin_size_ms: Positive | None = Field(None, description="raster: bin size in ms (required for raster)")
    force: Flag = Field(
        False, description="raster: write it even when it holds 10x more than the spike times"
    )


# A raster is dense: every tool that reads it holds units x bins in memory. One that would hold more
# than this many times the spike times it bins (and more than RASTER_FREE_BYTES) needs `force`.
RASTER_GROWTH_LIMIT = 10
RASTER_FREE_BYTES = 2**20


def _names(options: Mapping[str, Any]) -> dict[str, str]:
    return {key: options.get(key) or DatasetNames.model_fields[key].default for key in DATASET_FIELDS}


def detect_style(file: Any, names: Mapping[str, str]) -> str:
    """The style whose datasets the file holds; several or none is an error naming what was found."""
    present = {
        "ragged": names["spike_times_dataset"] in file and names["spike_times_index_dataset"] in file,
        "group": isinstance(file.get(names["group_per_unit"]), _group_type())
        and all(key.isdigit() for key in file[names["group_per_unit"]]),
        "paired": names["idces_dataset"] in file and names["times_dataset"] in file,
        "raster": names["raster_dataset"] in file,
    }
    found = [style for style, here in present.items() if here]
    if len(found) != 1:
        listing = ", ".join(sorted(file.keys())) or "nothing"
        what = "several styles" if found else "no spike style"
        raise InputError(f"{what} found ({', '.join(found) or listing}); name one with the style option")
    return found[0]


def _group_type() -> type:
    import h5py

    return h5py.Group


def _unit_of(dataset: Any, fallback: str) -> str:
    return text(dataset.attrs.get("unit", fallback))


def read(url: str, *, storage_options: Any = None, **options: Any) -> SpikeData:
    """Read any of the four styles; the hub's own group, when present, restores what spikelab drops."""
    with open_hdf5(url, storage_options) as file:
        names = _names(options)
        style = options.get("style") or detect_style(file, names)
        hub = _read_hub_group(file, url)
        rate = options.get("sampling_rate") or hub.get("sampling_rate")
        start_ms = _number(file.attrs.get("start_time", 0.0), "the start_time attribute", url)
        length_ms = file.attrs.get("length_ms")
        if length_ms is not None:
            length_ms = _number(length_ms, "the length_ms attribute", url)
        if style == "raster":
            file_unit, times, index = _read_raster(file, names, options, start_ms, url)
        else:
            fallback = options.get("time_unit") or EXPORT_DEFAULT_UNIT[style]
            known_units = len(hub["unit_ids"]) if "unit_ids" in hub else None
            file_unit, times, index = _read_trains(file, style, names, fallback, known_units, url)
            if _samples_unless_stated(file, style, names, options, rate):
                file_unit = "samples"
        target = hub.get("time_unit", file_unit)  # no hub record: keep the file's unit, no conversion
        raw = _read_raw(file, options, hub, rate, target, url)
    common.check_time_unit(file_unit, rate, f"{url}: spike time unit")
    common.check_time_unit(target, rate, f"{url}: time unit")
    model_times = common.convert_times(times, file_unit, target, rate)
    start, length = _window(hub, start_ms, length_ms, target, rate)
    if (file_unit == "samples" or style == "raster") and length is not None:  # rounding or binning
        start, length = common.widen_window(model_times, start, length)
    return common.build(
        spike_times=model_times,
        spike_times_index=index,
        unit_ids=hub.get("unit_ids"),
        time_unit=target,
        start_time=start,
        length=length,
        sampling_rate=rate,
        unit_attributes=hub.get("unit_attributes"),
        metadata=hub.get("metadata"),
        raw_data=raw,
        provenance=hub.get("provenance"),
    )


def _number(value: Any, what: str, url: str) -> float:
    """A numeric attribute as a float; text or arrays where a number belongs are an InputError."""
    try:
        number = float(np.asarray(value).reshape(-1)[0]) if np.size(value) == 1 else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise InputError(f"{url}: {what} must be a number, got {text(value)[:80]!r}")
    return number


def _window(
    hub: Mapping[str, Any], start_ms: float, length_ms: Any, target: str, rate: float | None
) -> tuple[float, float | None]:
    """The window in the data's unit: the hub's record, else spikelab's root attributes (in ms)."""
    if "start_time" in hub:
        return hub["start_time"], hub["length"]
    start = common.convert_scalar(start_ms, "ms", target, rate)
    return start, None if length_ms is None else common.convert_scalar(float(length_ms), "ms", target, rate)


def _ragged(file: Any, names: Mapping[str, str], known_units: int | None, url: str) -> tuple[Any, np.ndarray]:
    """The ragged style's times dataset (not read) and its checked end offsets."""
    times_ds = hdf5.dataset(file[names["spike_times_dataset"]], url)
    where = names["spike_times_index_dataset"]
    raw_index = hdf5.read_numbers(file[where], url, where).astype(np.int64)
    index = end_offsets(raw_index, known_units, where)
    if index.size and (index[0] < 0 or (np.diff(index) < 0).any() or index[-1] != times_ds.size):
        raise inconsistent(where, f"must rise from 0 to the {times_ds.size} spike times, ends at {index[-1]}")
    return times_ds, index


def _samples_unless_stated(
    file: Any, style: str, names: Mapping[str, str], options: Mapping[str, Any], rate: float | None
) -> bool:
    """Integer times with a sampling rate are samples, unless the file or the user says otherwise.

    spikelab's exporter writes samples as int64 without a unit attribute (spike_times_unit="samples");
    its own default units (s, ms) are always floats, so integers can only be samples."""
    if options.get("time_unit") or not rate:
        return False
    if style == "ragged":
        datasets = [file[names["spike_times_dataset"]]]
    elif style == "group":
        datasets = list(file[names["group_per_unit"]].values())
    else:
        datasets = [file[names["times_dataset"]]]
    return bool(datasets) and all(
        "unit" not in dataset.attrs and dataset.dtype.kind in "iu" for dataset in datasets
    )


def _read_trains(
    file: Any, style: str, names: Mapping[str, str], fallback: str, known_units: int | None, url: str
) -> tuple[str, np.ndarray, np.ndarray]:
    """(unit of the times, times in unit order, end offsets) as stored; unsorted trains stay unsorted."""
    if style == "ragged":
        times_ds, index = _ragged(file, names, known_units, url)
        times = hdf5.read_numbers(times_ds, url, "spike times")
        return _unit_of(times_ds, fallback), times, index
    if style == "group":
        group = file[names["group_per_unit"]]
        keys = sorted(group.keys(), key=int)  # natural order: "10" after "9"
        trains = [hdf5.read_numbers(group[key], url, f"unit {key}") for key in keys]
        if known_units is not None and len(trains) != known_units:
            raise InputError(f"{len(trains)} unit datasets for {known_units} units")
        unit = _unit_of(group[keys[0]], fallback) if keys else fallback
        index = np.cumsum([train.size for train in trains], dtype=np.int64)
        return unit, (np.concatenate(trains) if trains else np.empty(0)), index
    idces = hdf5.read_numbers(file[names["idces_dataset"]], url, "unit indices").astype(np.int64)
    times_ds = file[names["times_dataset"]]
    times = hdf5.read_numbers(times_ds, url, "spike times")
    if idces.size != times.size:
        raise inconsistent(names["idces_dataset"], f"{idces.size} unit indices for {times.size} spike times")
    if idces.size and idces.min() < 0:
        raise inconsistent(names["idces_dataset"], "unit indices must not be negative")
    n_units = max(known_units or 0, int(idces.max()) + 1 if idces.size else 0)
    budget.require(8 * n_units, f"unit indices up to {n_units - 1} (one count per unit)", url)
    order = np.lexsort((times, idces))  # pairs may come in any order: group by unit, then time
    index = np.cumsum(np.bincount(idces, minlength=n_units), dtype=np.int64)
    return _unit_of(times_ds, fallback), times[order], index


def describe(url: str, *, storage_options: Any = None, **options: Any) -> dict[str, Any]:
    """`hub info` of the ragged style from the index, the hub's group and each unit's first and last spike
    (recorded by the hub's writer, else read exactly: one small range per unit); the other styles keep
    no index to find those by, so they are read whole."""
    from neurodatahub.core.codecs.hdf5 import page_size, read_rows
    from neurodatahub.core.summary import summarize
    from neurodatahub.spikes.checks import spike_summary

    with open_hdf5(url, storage_options) as file:
        names = _names(options)
        style = options.get("style") or detect_style(file, names)
        if style == "ragged":
            hub = _read_hub_group(file, url)
            known = len(hub["unit_ids"]) if "unit_ids" in hub else None
            times_ds, index = _ragged(file, names, known, url)
            file_unit = _unit_of(times_ds, options.get("time_unit") or EXPORT_DEFAULT_UNIT[style])
            rate = options.get("sampling_rate") or hub.get("sampling_rate")
            if _samples_unless_stated(file, style, names, options, rate):
                file_unit = "samples"
            recorded = common.recorded_range(hub, int(index[-1]) if index.size else 0)
            if recorded is False:  # each unit's first and last spike, read exactly
                starts = np.concatenate([[0], index[:-1]]).astype(np.int64)
                filled = index > starts
                rows = np.concatenate([starts[filled], index[filled] - 1])
                ends = read_rows(times_ds, rows, url, storage_options)
            else:
                ends = np.asarray(recorded or [], dtype=np.float64)
            start_ms, length_ms = float(file.attrs.get("start_time", 0.0)), file.attrs.get("length_ms")
            page = page_size(file)
    if style != "ragged":
        return summarize(read(url, storage_options=storage_options, **options))
    target = hub.get("time_unit", file_unit)
    common.check_time_unit(file_unit, rate, f"{url}: spike time unit")
    common.check_time_unit(target, rate, f"{url}: time unit")
    ends = np.asarray(common.convert_times(np.asarray(ends).reshape(-1), file_unit, target, rate), np.float64)
    start, length = _window(hub, start_ms, length_ms, target, rate)
    if file_unit == "samples" and length is not None:
        start, length = common.widen_window(ends, start, length)
    return {
        "class": "SpikeData",
        **spike_summary(
            index=index,
            time_unit=target,
            start_time=float(start),
            length=None if length is None else float(length),
            sampling_rate=rate,
            extremes=(float(ends.min()), float(ends.max())) if ends.size else None,
            attribute_names=list(hub.get("unit_attributes") or {}),
        ),
        "hdf5_page_size": page,
    }


def inconsistent(dataset: str, message: str) -> InvalidDataError:
    """A file whose datasets read but disagree with each other (an index that does not fit its data):
    invalid data (exit 1), located at the dataset, not an unreadable file."""
    return InvalidDataError(f"{dataset} {message}", [{"location": dataset, "message": message}])


def end_offsets(index: np.ndarray, known_units: int | None, dataset: str) -> np.ndarray:
    """Exclusive end offsets from an index with or without a leading 0 (both exist in the wild).

    With the unit count known the length decides; without it, spikelab's rule: a leading 0 followed
    by a non-zero end means N + 1 entries.
    """
    if known_units is not None:
        if index.size == known_units + 1 and index.size and index[0] == 0:
            return index[1:]
        if index.size != known_units:
            raise inconsistent(dataset, f"has {index.size} entries for {known_units} units")
        return index
    return index[1:] if index.size >= 2 and index[0] == 0 and index[-1] > 0 else index


# bytes per spike while a raster becomes times: bins, counts, ranks and times in int64/float64, and the
# model's own copy
RASTER_BYTES_PER_SPIKE = 64


def _read_raster(
    file: Any, names: Mapping[str, str], options: Mapping[str, Any], start_ms: float, url: str
) -> tuple[str, np.ndarray, np.ndarray]:
    """Counts to times spread evenly inside each bin, as spikelab's from_raster does (in ms)."""
    dataset = file[names["raster_dataset"]]
    counts = np.asarray(hdf5.read(dataset, url))
    if counts.ndim != 2:
        raise InputError(f"raster must be units x bins, got shape {counts.shape}")
    if counts.dtype.kind not in "biu" and not (
        counts.dtype.kind == "f" and np.isfinite(counts).all() and (counts == np.round(counts)).all()
    ):
        raise InputError(f"{url}: raster counts must be whole numbers, the dataset holds {counts.dtype}")
    if (counts < 0).any():
        raise InputError("raster counts must not be negative")
    total = int(counts.sum(dtype=np.float64))
    budget.require(total * RASTER_BYTES_PER_SPIKE, f"raster {dataset.name} ({total} spikes)", url)
    counts = counts.astype(np.int64, copy=False)
    bin_ms = _number(dataset.attrs.get("bin_size_ms", options.get("bin_size_ms") or 0), "bin_size_ms", url)
    if bin_ms <= 0:
        raise UsageError("the raster has no bin_size_ms attribute: give the bin_size_ms option")
    origin = _number(dataset.attrs.get("time_origin_ms", start_ms), "time_origin_ms", url)
    _, bins = np.nonzero(counts)  # row-major: unit by unit, bins ascending
    n = counts[counts > 0].astype(np.int64)
    repeat_bins, repeat_n = np.repeat(bins, n), np.repeat(n, n)
    rank = np.arange(repeat_n.size) - np.repeat(np.cumsum(n) - n, n)  # 0..n-1 within each bin
    times = origin + repeat_bins * bin_ms + bin_ms * (rank + 1) / (repeat_n + 1)
    return "ms", times, np.cumsum(counts.sum(axis=1), dtype=np.int64)


def _read_raw(
    file: Any, options: Mapping[str, Any], hub: Mapping[str, Any], rate: float | None, target: str, url: str
) -> Any:
    data_name = options.get("raw_dataset") or hub.get("raw_dataset")
    time_name = options.get("raw_time_dataset") or hub.get("raw_time_dataset")
    if not (data_name and time_name):
        return None
    unit = options.get("raw_time_unit") or hub.get("raw_time_unit") or "ms"
    time = common.convert_times(hdf5.read_numbers(file[time_name], url, time_name), unit, target, rate)
    return {
        "data": np.asarray(hdf5.read(file[data_name], url), dtype=np.float64),
        "time": np.asarray(time, dtype=np.float64),
    }


def _read_hub_group(file: Any, url: str) -> dict[str, Any]:
    group = file.get(HUB_GROUP)
    if group is None:
        return {}
    if not isinstance(group, _group_type()):
        raise InputError(f"{url}: /{HUB_GROUP} must be a group, it is a dataset")
    attrs = {key: group.attrs[key] for key in group.attrs}
    found: dict[str, Any] = {
        key: text(attrs[key])
        for key in ("time_unit", "raw_dataset", "raw_time_dataset", "raw_time_unit")
        if key in attrs
    }
    for key in ("start_time", "length", "sampling_rate"):
        if key in attrs:
            value = _number(attrs[key], f"/{HUB_GROUP} attribute {key}", url)
            if np.isfinite(value):
                found[key] = value
    for key in ("metadata", "provenance"):
        if f"{key}_json" in attrs:
            found[key] = metadata_from_json(text(attrs[f"{key}_json"]), url)
    for key in (common.SPIKE_COUNT, common.SPIKE_RANGE):
        if key in attrs:
            found[key] = np.asarray(attrs[key]).tolist()
    if "unit_ids" in group:
        found["unit_ids"] = hdf5.read(group["unit_ids"], url)
    if "unit_attributes" in group:
        columns = group["unit_attributes"]
        order = metadata_from_json(text(columns.attrs.get("order", "[]")), url) or sorted(columns.keys())
        if not isinstance(order, list) or not all(
            isinstance(name, str) and name in columns for name in order
        ):
            raise InputError(f"{url}: /{HUB_GROUP}/unit_attributes lists columns it does not hold")
        found["unit_attributes"] = {name: _column(hdf5.read(columns[name], url)) for name in order}
    return found


def _column(values: np.ndarray) -> np.ndarray:
    return np.array([text(value) for value in values]) if values.dtype.kind in "OS" else values


def write(model: SpikeData, path: Path, **options: Any) -> None:
    """Write one style; options are checked before the file is created."""
    style, unit, rate = _checked(model, options)
    names = _names(options)
    import h5py

    with h5py.File(path, "w") as file:
        start_ms, length_ms = common.window_in(model, "ms")
        file.attrs["start_time"] = start_ms
        file.attrs["length_ms"] = length_ms
        extent = None
        if style == "raster":
            _write_raster(file, model, names["raster_dataset"], raster_shape(model, options))
        else:
            values = common.times_in(model, unit, rate)  # the model's own array when the unit is the same
            _write_times(file, model, style, names, values, unit)
            extent = common.range_record(values, model.spike_times_index)  # in the stored unit
        _write_raw(file, model, options, rate)
        _write_hub_group(file, model, options, rate, extent)


def _checked(model: SpikeData, options: Mapping[str, Any]) -> tuple[str, str, float | None]:
    style = options.get("style") or "ragged"
    unit = options.get("time_unit") or EXPORT_DEFAULT_UNIT.get(style, "ms")
    rate = options.get("sampling_rate") or model.sampling_rate
    if style != "raster":
        common.check_time_unit(unit, rate)
    elif not options.get("bin_size_ms") or float(options["bin_size_ms"]) <= 0:
        raise UsageError(f"the raster style needs a bin size: pass {words.option('bin_size_ms', MS)}")
    else:
        _check_raster_size(model, raster_shape(model, options), bool(options.get("force")))
    raw_names = [options.get("raw_dataset"), options.get("raw_time_dataset")]
    if any(raw_names) and not all(raw_names):
        raise UsageError("raw data needs both raw_dataset and raw_time_dataset")
    return style, unit, rate


def _write_times(
    file: Any, model: Any, style: str, names: Mapping[str, str], values: np.ndarray, unit: str
) -> None:
    index = np.asarray(model.spike_times_index, dtype=np.int64)
    if style == "ragged":
        file.create_dataset(names["spike_times_dataset"], data=values).attrs["unit"] = unit
        if index.size >= 2 and index[0] == 0 and index[-1] > 0:
            # an empty first unit would read in spikelab as a leading 0: write the leading 0 explicitly
            index = np.concatenate([[0], index])
        file.create_dataset(names["spike_times_index_dataset"], data=index)
    elif style == "group":
        group = file.create_group(names["group_per_unit"])
        for position, train in enumerate(common.split_by_units(values, index)):
            group.create_dataset(str(position), data=train).attrs["unit"] = unit
    else:
        file.create_dataset(names["idces_dataset"], data=common.unit_of_each_spike(model))
        file.create_dataset(names["times_dataset"], data=values).attrs["unit"] = unit


MS = words.Placeholder("MS")


@dataclass(frozen=True)
class RasterShape:
    """Where each spike falls in a raster, decided once: by losses, the writer and the size check."""

    bin_ms: float
    start_ms: float
    n_bins: int
    bins: np.ndarray  # the bin of each spike, in the model's spike order
    dtype: np.dtype  # the smallest unsigned integer that holds the largest count


def raster_shape(model: SpikeData, options: Mapping[str, Any]) -> RasterShape:
    """spikelab's binning: right-closed bins from start_time, a spike at start_time in bin 0."""
    bin_ms = float(options["bin_size_ms"])
    start_ms, length_ms = common.window_in(model, "ms")
    n_bins = int(np.ceil(length_ms / bin_ms))
    times_ms = common.times_in(model, "ms")
    bins = np.clip(np.ceil((times_ms - start_ms) / bin_ms).astype(np.int64) - 1, 0, max(n_bins - 1, 0))
    largest = 0
    if bins.size:  # spikes of a unit are sorted, so equal bins are neighbours within a unit
        cell = common.unit_of_each_spike(model) * max(n_bins, 1) + bins
        largest = int(np.unique(cell, return_counts=True)[1].max())
    return RasterShape(bin_ms, start_ms, n_bins, bins, np.min_scalar_type(largest))


def _check_raster_size(model: SpikeData, shape: RasterShape, force: bool) -> None:
    dense = len(model.unit_ids) * shape.n_bins * shape.dtype.itemsize
    spikes = np.asarray(model.spike_times).nbytes + np.asarray(model.spike_times_index).nbytes
    if force or dense <= max(RASTER_GROWTH_LIMIT * spikes, RASTER_FREE_BYTES):
        return
    raise UsageError(
        f"the raster would hold {len(model.unit_ids)} units x {shape.n_bins} bins of {shape.bin_ms:g} ms"
        f" = {_megabytes(dense)} ({shape.dtype.name}), {dense / max(spikes, 1):.0f}x the {_megabytes(spikes)}"
        f" of spike times it bins; pass {words.option('force')} to write it, or a larger bin size"
        f" ({words.option('bin_size_ms', MS)})"
    )


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


RASTER_CHUNK_BYTES = 2**20  # chunks of about 1 MiB: whole units for short recordings, slices of long ones


def _write_raster(file: Any, model: Any, name: str, shape: RasterShape) -> None:
    """Counts in the smallest integer type, in compressed chunks, one unit at a time (a dense int64
    units x bins array in memory would be as large as the raster itself)."""
    n_units = len(model.unit_ids)
    chunk_bins = max(1, min(shape.n_bins, RASTER_CHUNK_BYTES // shape.dtype.itemsize))
    dataset = file.create_dataset(
        name,
        shape=(n_units, shape.n_bins),
        dtype=shape.dtype,
        chunks=(1, chunk_bins) if shape.n_bins else None,
        compression="gzip" if shape.n_bins else None,
        compression_opts=4 if shape.n_bins else None,
        shuffle=bool(shape.n_bins) and shape.dtype.itemsize > 1,
    )
    for unit, bins in enumerate(common.split_by_units(shape.bins, model.spike_times_index)):
        if bins.size:
            dataset[unit] = np.bincount(bins, minlength=shape.n_bins).astype(shape.dtype)
    dataset.attrs["bin_size_ms"] = shape.bin_ms
    dataset.attrs["time_origin_ms"] = shape.start_ms


def _write_raw(file: Any, model: Any, options: Mapping[str, Any], rate: float | None) -> None:
    if model.raw_data is None or not options.get("raw_dataset"):
        return
    raw = model.raw_data
    unit = options.get("raw_time_unit") or "ms"
    time = raw.time
    if time is None:  # a sampled signal starting with the recording window
        offsets = common.convert_times(
            np.arange(raw.data.shape[1]) / raw.sampling_rate, "s", model.time_unit, rate
        )
        time = model.start_time + offsets
    file.create_dataset(options["raw_dataset"], data=raw.data)
    file.create_dataset(
        options["raw_time_dataset"], data=common.convert_times(time, model.time_unit, unit, rate)
    )


def _write_hub_group(
    file: Any, model: Any, options: Mapping[str, Any], rate: float | None, extent: Mapping[str, Any] | None
) -> None:
    """What spikelab's layout has no place for; `extent`: the spikes' first and last as written."""
    import h5py

    group = file.create_group(HUB_GROUP)
    group.attrs["description"] = (
        "neurodatahub: what the spikelab layout has no place for; spikelab ignores it"
    )
    group.attrs["time_unit"] = model.time_unit
    group.attrs["start_time"] = model.start_time
    group.attrs["length"] = model.length
    group.attrs["sampling_rate"] = rate or np.nan  # the rate the file's samples were computed with
    group.create_dataset("unit_ids", data=np.asarray(model.unit_ids))
    group.attrs.update(extent or {})
    if model.metadata:
        group.attrs["metadata_json"] = to_json(model.metadata)
    if model.provenance:
        group.attrs["provenance_json"] = json.dumps(
            [record.model_dump(mode="json") for record in model.provenance]
        )
    for key in ("raw_dataset", "raw_time_dataset", "raw_time_unit"):
        if options.get(key) and model.raw_data is not None:
            group.attrs[key] = options[key]
    if model.unit_attributes:
        columns = group.create_group("unit_attributes")
        columns.attrs["order"] = json.dumps([column.name for column in model.unit_attributes])
        for column in model.unit_attributes:
            values = np.asarray(column.values)
            if values.dtype.kind in "UO":
                values = np.asarray(values, dtype=h5py.string_dtype())
            columns.create_dataset(column.name, data=values)


def verify(model: SpikeData, path: Path, **options: Any) -> None:
    """The style's datasets hold the model's spikes (spot-checked) and the hub record its units."""
    import h5py

    style, unit, rate = _checked(model, options)
    names = _names(options)
    with h5py.File(path, "r") as file:
        if not np.array_equal(file[f"{HUB_GROUP}/unit_ids"][()], np.asarray(model.unit_ids)):
            raise OutputError("unit ids written differ from the data's")
        if style == "raster":
            if int(file[names["raster_dataset"]][()].sum()) != len(model.spike_times):
                raise OutputError("the raster's counts do not add up to the spikes")
            return
        expected = common.times_in(model, unit, rate)
        if style == "ragged":
            index = file[names["spike_times_index_dataset"]][()]
            offsets = index[1:] if index.size == len(model.unit_ids) + 1 else index
            common.verify_flat(file[names["spike_times_dataset"]], offsets, expected, model.spike_times_index)
        elif style == "group":
            group = file[names["group_per_unit"]]
            counts = [len(group[str(position)]) for position in range(len(group))]
            if not np.array_equal(np.cumsum(counts), np.asarray(model.spike_times_index)):
                raise OutputError("the unit datasets written do not hold the data's spike counts")
        else:
            paired = np.cumsum(np.bincount(file[names["idces_dataset"]][()], minlength=len(model.unit_ids)))
            common.verify_flat(file[names["times_dataset"]], paired, expected, model.spike_times_index)


def losses(model: SpikeData, **options: Any) -> list[Any]:
    style, unit, rate = _checked(model, options)
    found = []
    if style == "raster" and len(model.spike_times):
        found.append(
            common.loss(
                "spike_times",
                f"binned into {options['bin_size_ms']} ms raster counts",
                len(model.spike_times),
            )
        )
    elif style != "raster":
        found += common.sample_rounding_loss(model, unit, rate)
    if model.raw_data is not None and not options.get("raw_dataset"):
        found.append(common.loss("raw_data", "not written: give raw_dataset and raw_time_dataset"))
    return found


def sniff(probe: Probe) -> bool:
    """spikelab's styles: their datasets, or its root window attributes; never an NWB file."""
    root = probe.hdf5_root
    if root is None:
        return False
    attrs, paths = root
    if attrs.get("neurodata_type") == "NWBFile" or "units/spike_times" in paths:
        return False
    return bool(paths & {"spike_times", "idces", "raster", "units", HUB_GROUP}) or "length_ms" in attrs


register_format(
    FormatSpec(
        name="hdf5",
        kind=common.KIND,
        description="Generic HDF5 spike trains in spikelab's styles: ragged, group, paired, raster",
        extensions=(".h5", ".hdf5"),
        read=read,
        write=write,
        sniff=sniff,
        read_options=ReadOptions,
        write_options=WriteOptions,
        cannot_store=("raster style: exact spike times (binned)",),
        losses=losses,
        verify=verify,
        describe=describe,
    )
)
