"""What every spike format needs: time units, building a SpikeData, per-unit views, declared losses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import kinds, words
from neurodatahub.core.errors import UsageError
from neurodatahub.core.options import Options, Positive, choice

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

KIND = "spikes"
SECONDS_PER = {"s": 1.0, "ms": 1e-3}
TIME_UNITS = tuple(kinds.enum_values("TimeUnit"))
TimeUnit = choice("TimeUnit")


class TimeOptions(Options):
    """The unit and rate of spike times, which most spike readers and writers take."""

    time_unit: TimeUnit | None = Field(None, description="unit of the spike times (default: the data's own)")
    sampling_rate: Positive | None = Field(
        None, description="sampling rate in Hz, needed for times in samples when the data has none"
    )


def check_time_unit(unit: str, sampling_rate: float | None, what: str = "time unit") -> None:
    """Fail before any output is touched when a unit cannot be honoured."""
    if unit not in TIME_UNITS:
        raise UsageError(f"{what} must be one of {', '.join(TIME_UNITS)}, got {unit!r}")
    if unit == "samples" and not (sampling_rate and sampling_rate > 0):
        raise UsageError(
            f"{what} 'samples' needs a sampling rate > 0: pass"
            f" {words.option('sampling_rate', words.Placeholder('HZ'))}"
        )


def convert_times(values: Any, source: str, target: str, sampling_rate: float | None = None) -> np.ndarray:
    """Times from one unit to another; samples are rounded to the nearest index (int64)."""
    values = np.asarray(values)
    if source == target:  # no copy: writers pass the model's own array to h5py
        return (
            np.rint(values).astype(np.int64) if target == "samples" and values.dtype.kind == "f" else values
        )
    check_time_unit(source, sampling_rate, "source unit")
    check_time_unit(target, sampling_rate, "target unit")
    seconds = values / sampling_rate if source == "samples" else values * SECONDS_PER[source]
    if target == "samples":
        return np.rint(seconds * sampling_rate).astype(np.int64)
    return seconds / SECONDS_PER[target]


def convert_scalar(value: float, source: str, target: str, sampling_rate: float | None = None) -> float:
    """A start time or duration in another unit (no rounding: windows need not fall on samples)."""
    if source == target:
        return float(value)
    seconds = value / sampling_rate if source == "samples" else value * SECONDS_PER[source]
    return float(seconds * sampling_rate if target == "samples" else seconds / SECONDS_PER[target])


def build(
    *,
    spike_times: Any,
    spike_times_index: Any,
    time_unit: str,
    unit_ids: Any = None,
    start_time: float | None = None,
    length: float | None = None,
    sampling_rate: float | None = None,
    unit_attributes: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    raw_data: Any = None,
    provenance: Sequence[Any] | None = None,
) -> Any:
    """A validated SpikeData; the window defaults to [min(0, first spike), last spike]."""
    from neurodatahub.core.models import SpikeData

    times = np.asarray(spike_times, dtype=np.float64)
    index = np.asarray(spike_times_index, dtype=np.int64)
    ids = np.arange(len(index), dtype=np.int64) if unit_ids is None else np.asarray(unit_ids)
    if start_time is None:
        start_time = min(0.0, float(times.min())) if times.size else 0.0
    if length is None:
        length = max(float(times.max()) - start_time, 0.0) if times.size else 0.0
    return SpikeData(
        unit_ids=ids,
        spike_times=times,
        spike_times_index=index,
        time_unit=time_unit,
        start_time=float(start_time),
        length=float(length),
        sampling_rate=sampling_rate,
        unit_attributes=[
            {"name": name, "values": np.asarray(values)} for name, values in (unit_attributes or {}).items()
        ]
        or None,
        metadata=dict(metadata) if metadata else None,
        raw_data=raw_data,
        provenance=list(provenance) if provenance else None,
    )


def from_trains(trains: Sequence[Any], **fields: Any) -> Any:
    """A SpikeData from one array of times per unit (each sorted here, as spikelab does)."""
    sorted_trains = [np.sort(np.asarray(train, dtype=np.float64).reshape(-1)) for train in trains]
    index = np.cumsum([train.size for train in sorted_trains], dtype=np.int64)
    times = np.concatenate(sorted_trains) if sorted_trains else np.empty(0)
    return build(spike_times=times, spike_times_index=index, **fields)


def from_pairs(unit_of_spike: Any, times: Any, n_units: int, **fields: Any) -> Any:
    """A SpikeData from parallel (unit index, time) arrays in any order: one stable sort, no Python loop."""
    units = np.asarray(unit_of_spike, dtype=np.int64).reshape(-1)
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    # sorters write spikes in time order: then a stable sort by unit keeps each unit's times sorted
    in_time_order = times.size < 2 or not (times[1:] < times[:-1]).any()
    order = np.argsort(units, kind="stable") if in_time_order else np.lexsort((times, units))
    index = np.cumsum(np.bincount(units, minlength=n_units), dtype=np.int64)
    return build(spike_times=times[order], spike_times_index=index, **fields)


def starts(spikes: SpikeData) -> np.ndarray:
    index = np.asarray(spikes.spike_times_index, dtype=np.int64)
    return np.concatenate([[0], index[:-1]]).astype(np.int64) if index.size else index


def split_by_units(values: Any, spike_times_index: Any) -> list[np.ndarray]:
    """One view of `values` per unit (no copies); no units, no views."""
    index = np.asarray(spike_times_index)
    return np.split(np.asarray(values), index[:-1]) if index.size else []


def trains(spikes: SpikeData) -> list[np.ndarray]:
    return split_by_units(spikes.spike_times, spikes.spike_times_index)


def unit_of_each_spike(spikes: SpikeData) -> np.ndarray:
    counts = np.diff(np.asarray(spikes.spike_times_index, dtype=np.int64), prepend=0)
    return np.repeat(np.arange(counts.size, dtype=np.int64), counts)


def attributes(spikes: SpikeData) -> dict[str, np.ndarray]:
    return {column.name: np.asarray(column.values) for column in spikes.unit_attributes or ()}


def times_in(spikes: SpikeData, unit: str, sampling_rate: float | None = None) -> np.ndarray:
    return convert_times(spikes.spike_times, spikes.time_unit, unit, sampling_rate or spikes.sampling_rate)


def window_in(spikes: SpikeData, unit: str, sampling_rate: float | None = None) -> tuple[float, float]:
    rate = sampling_rate or spikes.sampling_rate
    return (
        convert_scalar(spikes.start_time, spikes.time_unit, unit, rate),
        convert_scalar(spikes.length, spikes.time_unit, unit, rate),
    )


def widen_window(times: np.ndarray, start: float, length: float) -> tuple[float, float]:
    """A window grown to hold times rounded to the sample grid (half a sample may cross its edges)."""
    if not times.size:
        return start, length
    begin, end = min(start, float(times.min())), max(start + length, float(times.max()))
    return begin, end - begin


SPOT_CHECK = 1024  # values compared at each end of a freshly written array


def verify_flat(
    stored_times: Any, stored_index: Any, expected_times: np.ndarray, expected_index: Any
) -> None:
    """A written ragged layout holds the data: same lengths, same offsets, same values at both ends.

    Cheaper than reading the file back in full, and it catches what goes wrong in practice (a
    truncated or misaligned array, a wrong unit, offsets that do not match the times).
    """
    from neurodatahub.core.errors import OutputError

    if len(stored_times) != len(expected_times):
        raise OutputError(f"{len(stored_times)} spike times written for {len(expected_times)}")
    if not np.array_equal(np.asarray(stored_index[()]), np.asarray(expected_index)):
        raise OutputError("the spike index written differs from the data's")
    ends = min(SPOT_CHECK, len(expected_times))
    for written, expected in (
        (stored_times[:ends], expected_times[:ends]),
        (stored_times[-ends:], expected_times[-ends:]),
    ):
        if ends and not np.array_equal(np.asarray(written), np.asarray(expected)):
            raise OutputError("the spike times written differ from the data's")


def loss(field: str, reason: str, count: int | None = None) -> Any:
    from neurodatahub.core.models import Loss

    return Loss(field=field, reason=reason, count=count)


def empty_units(spikes: SpikeData) -> int:
    return int(np.count_nonzero(np.diff(np.asarray(spikes.spike_times_index), prepend=0) == 0))


def sample_rounding_loss(spikes: SpikeData, target: str, sampling_rate: float | None) -> list[Any]:
    """Writing samples rounds times to the sampling grid: declared when any time is off the grid."""
    if target != "samples" or spikes.time_unit == "samples" or not len(spikes.spike_times):
        return []
    rate = sampling_rate or spikes.sampling_rate
    exact = convert_times(spikes.spike_times, spikes.time_unit, "s") * rate
    off_grid = int(np.count_nonzero(np.abs(exact - np.rint(exact)) > 1e-6))
    return [loss("spike_times", f"rounded to the {rate:g} Hz sample grid", off_grid)] if off_grid else []


# the first and last spike, recorded by the hub's writers so that `hub info` need not look for them
SPIKE_RANGE = "spike_time_range"
SPIKE_COUNT = "spikes"


def extremes(spikes: SpikeData) -> tuple[float, float] | None:
    """First and last spike of a SpikeData."""
    return extremes_of(spikes.spike_times, spikes.spike_times_index)


def extremes_of(times: Any, index: Any) -> tuple[float, float] | None:
    """First and last of sorted trains laid end to end (each unit sorted: only its ends are looked at)."""
    ends = np.asarray(index, dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]]) if ends.size else ends
    filled = ends > starts
    if not filled.any():
        return None
    return float(times[starts[filled]].min()), float(times[ends[filled] - 1].max())


def range_record(times: Any, index: Any) -> dict[str, Any]:
    """What the hub's files record of the spikes' extent, in the unit the times are stored in (a reader
    converts it as it converts the times), with the count that says whether it still fits the file."""
    found = extremes_of(times, index)
    return {SPIKE_COUNT: len(times), **({SPIKE_RANGE: list(found)} if found else {})}


def recorded_range(record: Mapping[str, Any], n_spikes: int) -> tuple[float, float] | bool | None:
    """The first and last spike a hub record states, when it counts the file's spikes (None: no
    spikes); False when there is no such record, or it no longer matches the file."""
    count = record.get(SPIKE_COUNT)
    if count is None or int(count) != n_spikes:
        return False
    if not n_spikes:
        return None
    found = record.get(SPIKE_RANGE)
    if found is None or len(found) != 2:
        return False
    return float(found[0]), float(found[1])
