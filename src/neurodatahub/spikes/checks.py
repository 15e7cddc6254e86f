"""Spike trains: the invariants of SpikeData and RawData, and the summary `hub info` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import arrays
from neurodatahub.core.checks import (
    invariant,
    require_per_element,
    require_unique,
)
from neurodatahub.core.errors import InvalidDataError
from neurodatahub.core.summary import summarizes
from neurodatahub.spikes import common

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

TIME_UNIT_SECONDS = {"s": 1.0, "ms": 1e-3}


@invariant("SpikeData")
def _spike_data(spikes: SpikeData) -> None:
    n_units, n_spikes = len(spikes.unit_ids), len(spikes.spike_times)
    index = spikes.spike_times_index
    if len(index) != n_units:
        raise ValueError(f"spike_times_index has {len(index)} entries for {n_units} units")
    require_unique(spikes.unit_ids, "unit_ids")
    if n_units and (index[0] < 0 or not arrays.is_nondecreasing(index)):
        raise ValueError("spike_times_index must be non-negative and non-decreasing")
    last = int(index[-1]) if n_units else 0
    if last != n_spikes:
        raise ValueError(f"spike_times_index ends at {last} but there are {n_spikes} spike times")
    unit_ends = np.asarray(index)
    unit_starts = np.concatenate([[0], unit_ends[:-1]]) if n_units else unit_ends
    filled = unit_ends > unit_starts
    firsts = spikes.spike_times[unit_starts[filled]]
    lasts = spikes.spike_times[unit_ends[filled] - 1]
    # a break outside a unit start is a NaN or an unsorted unit; with none, each unit is sorted and free
    # of NaN, so finite ends prove every time finite (see arrays.breaks)
    if (~arrays.in_sorted(arrays.breaks(spikes.spike_times), unit_starts)).any() or not (
        np.isfinite(firsts).all() and np.isfinite(lasts).all()
    ):
        _explain_bad_times(spikes, unit_starts, unit_ends)
    # each unit is sorted, so the extremes are among the first and last spikes of the units
    if filled.any():
        window = (spikes.start_time, spikes.length, spikes.time_unit, spikes.sampling_rate)
        problem = outside_window(float(firsts.min()), float(lasts.max()), *window)
        if problem:
            raise ValueError(problem)
    # the schema's minimum is inclusive (LinkML has no exclusive bound); a rate of 0 Hz is no rate
    if spikes.sampling_rate is not None and not spikes.sampling_rate > 0:
        raise ValueError(f"sampling_rate must be > 0 Hz, got {spikes.sampling_rate}")
    if spikes.time_unit == "samples" and not spikes.sampling_rate:
        raise ValueError("times in samples need a sampling_rate > 0")
    require_per_element(spikes.unit_attributes, n_units, "unit attribute")


def outside_window(
    first: float, last: float, start: float, length: float, time_unit: str, rate: float | None
) -> str | None:
    """What is wrong when the first and last spike fall outside the window [start, start + length]; the
    full read's invariant and the header-only summaries (which know only each unit's ends) say the same."""
    end = start + length
    slack = 1e-9 * max(1.0, abs(end))
    if first >= start - slack and last <= end + slack:
        return None
    hint = _unit_hint(first, last, start, length, time_unit, rate)
    return (
        f"spike times span [{first}, {last}] outside the recording window [{start}, {end}] {time_unit}{hint}"
    )


def _unit_hint(
    first: float, last: float, start: float, length: float, time_unit: str, rate: float | None
) -> str:
    """When the times fit the window read in another unit, say which: the usual cause is a file whose
    unit was guessed wrong (samples read as seconds, milliseconds as seconds)."""
    from neurodatahub.core import words

    to_seconds = {**TIME_UNIT_SECONDS, **({"samples": 1.0 / rate} if rate else {})}
    if time_unit not in to_seconds:
        return ""
    start_s = start * to_seconds[time_unit]
    end_s = start_s + length * to_seconds[time_unit]
    for unit, scale in to_seconds.items():
        if unit == time_unit or (unit == "samples" and not (first.is_integer() and last.is_integer())):
            continue
        slack = 1e-9 * max(1.0, abs(end_s))
        if first * scale >= start_s - slack and last * scale <= end_s + slack:
            rate_text = f" at {rate:g} Hz" if unit == "samples" else ""
            return f"; they fit it as {unit}{rate_text}: pass {words.option('time_unit', unit, reader=True)}"
    return ""


def _explain_bad_times(spikes: SpikeData, unit_starts: np.ndarray, unit_ends: np.ndarray) -> None:
    """The precise (slower) scan, run only when the fast one found something: which spike, which unit."""
    bad, descents = arrays.scan_times(spikes.spike_times)
    if bad is not None:
        raise ValueError(f"spike time {bad} is {spikes.spike_times[bad]}: spike times must be finite")
    unsorted = descents[~arrays.in_sorted(descents, unit_starts)]
    if unsorted.size:
        unit = int(np.searchsorted(unit_ends, unsorted[0], side="right"))
        raise ValueError(f"spike times of unit {spikes.unit_ids[unit]} are not sorted")


@invariant("RawData")
def _raw_data(raw: Any) -> None:
    if raw.time is None and not raw.sampling_rate:
        raise ValueError("raw data needs a time vector or a sampling_rate")
    if raw.time is not None and len(raw.time) != raw.data.shape[1]:
        raise ValueError(f"raw time has {len(raw.time)} entries for {raw.data.shape[1]} samples")


@summarizes("SpikeData")
def _spikes(spikes: SpikeData) -> dict[str, Any]:
    return spike_summary(
        index=spikes.spike_times_index,
        time_unit=spikes.time_unit,
        start_time=spikes.start_time,
        length=spikes.length,
        sampling_rate=spikes.sampling_rate,
        extremes=common.extremes(spikes),
        attribute_names=[column.name for column in spikes.unit_attributes or ()],
    )


def spike_summary(
    *,
    index: Any,
    time_unit: str,
    start_time: float,
    length: float | None,
    sampling_rate: float | None,
    extremes: tuple[float, float] | None,
    attribute_names: list[str],
) -> dict[str, Any]:
    """What `hub info` prints for spike trains, from the facts a header-only reader can gather too: the end
    offsets of the units, the window, and the first and last spike (in the data's time unit). A window
    without a recorded length runs up to the last spike, as common.build makes it."""
    if length is None:
        length = max(extremes[1] - start_time, 0.0) if extremes else 0.0
    elif extremes and (problem := outside_window(*extremes, start_time, length, time_unit, sampling_rate)):
        raise InvalidDataError(problem, [{"location": "spike_times", "message": problem}])
    ends = np.asarray(index, dtype=np.int64)
    n_units, n_spikes = len(ends), int(ends[-1]) if len(ends) else 0
    scale = TIME_UNIT_SECONDS.get(time_unit) or (1.0 / sampling_rate)
    duration_s = length * scale
    return {
        "units": n_units,
        "spikes": n_spikes,
        "time_unit": time_unit,
        "start_time": start_time,
        "duration_s": duration_s,
        "first_spike_s": extremes[0] * scale if extremes else None,
        "last_spike_s": extremes[1] * scale if extremes else None,
        "mean_rate_hz": (n_spikes / n_units / duration_s) if n_units and duration_s > 0 else None,
        "empty_units": int(np.count_nonzero(np.diff(ends, prepend=0) == 0)),
        "sampling_rate_hz": sampling_rate,
        "unit_attributes": attribute_names,
    }
