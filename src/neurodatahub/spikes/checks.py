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
from neurodatahub.core.summary import summarizes

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
    if (~np.isin(arrays.breaks(spikes.spike_times), unit_starts)).any() or not (
        np.isfinite(firsts).all() and np.isfinite(lasts).all()
    ):
        _explain_bad_times(spikes, unit_starts, unit_ends)
    # each unit is sorted, so the extremes are among the first and last spikes of the units
    if filled.any():
        first, last = firsts.min(), lasts.max()
        end = spikes.start_time + spikes.length
        slack = 1e-9 * max(1.0, abs(end))
        if first < spikes.start_time - slack or last > end + slack:
            raise ValueError(
                f"spike times span [{first}, {last}] outside the recording window "
                f"[{spikes.start_time}, {end}] {spikes.time_unit}{_unit_hint(spikes, first, last)}"
            )
    # the schema's minimum is inclusive (LinkML has no exclusive bound); a rate of 0 Hz is no rate
    if spikes.sampling_rate is not None and not spikes.sampling_rate > 0:
        raise ValueError(f"sampling_rate must be > 0 Hz, got {spikes.sampling_rate}")
    if spikes.time_unit == "samples" and not spikes.sampling_rate:
        raise ValueError("times in samples need a sampling_rate > 0")
    require_per_element(spikes.unit_attributes, n_units, "unit attribute")


def _unit_hint(spikes: SpikeData, first: float, last: float) -> str:
    """When the times fit the window read in another unit, say which: the usual cause is a file whose
    unit was guessed wrong (samples read as seconds, milliseconds as seconds)."""
    from neurodatahub.core import words

    rate = spikes.sampling_rate
    to_seconds = {**TIME_UNIT_SECONDS, **({"samples": 1.0 / rate} if rate else {})}
    if spikes.time_unit not in to_seconds:
        return ""
    start = spikes.start_time * to_seconds[spikes.time_unit]
    end = start + spikes.length * to_seconds[spikes.time_unit]
    for unit, scale in to_seconds.items():
        if unit == spikes.time_unit or (unit == "samples" and not (first.is_integer() and last.is_integer())):
            continue
        slack = 1e-9 * max(1.0, abs(end))
        if first * scale >= start - slack and last * scale <= end + slack:
            rate_text = f" at {rate:g} Hz" if unit == "samples" else ""
            return f"; they fit it as {unit}{rate_text}: pass {words.option('time_unit', unit, reader=True)}"
    return ""


def _explain_bad_times(spikes: SpikeData, unit_starts: np.ndarray, unit_ends: np.ndarray) -> None:
    """The precise (slower) scan, run only when the fast one found something: which spike, which unit."""
    bad, descents = arrays.scan_times(spikes.spike_times)
    if bad is not None:
        raise ValueError(f"spike time {bad} is {spikes.spike_times[bad]}: spike times must be finite")
    unsorted = descents[~np.isin(descents, unit_starts)]
    if unsorted.size:
        unit = int(np.searchsorted(unit_ends, unsorted[0], side="right"))
        raise ValueError(f"spike times of unit {spikes.unit_ids[unit]} are not sorted")


@invariant("RawData")
def _raw_data(raw: Any) -> None:
    if raw.time is None and not raw.sampling_rate:
        raise ValueError("raw data needs a time vector or a sampling_rate")
    if raw.time is not None and len(raw.time) != raw.data.shape[1]:
        raise ValueError(f"raw time has {len(raw.time)} entries for {raw.data.shape[1]} samples")


def _extremes(spikes: SpikeData) -> tuple[float, float] | None:
    """First and last spike: each unit is sorted, so only its ends are looked at."""
    ends = np.asarray(spikes.spike_times_index, dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]]) if ends.size else ends
    filled = ends > starts
    if not filled.any():
        return None
    return float(spikes.spike_times[starts[filled]].min()), float(spikes.spike_times[ends[filled] - 1].max())


@summarizes("SpikeData")
def _spikes(spikes: SpikeData) -> dict[str, Any]:
    n_units, n_spikes = len(spikes.unit_ids), len(spikes.spike_times)
    scale = TIME_UNIT_SECONDS.get(spikes.time_unit) or (1.0 / spikes.sampling_rate)
    duration_s = spikes.length * scale
    bounds = _extremes(spikes)
    return {
        "units": n_units,
        "spikes": n_spikes,
        "time_unit": spikes.time_unit,
        "start_time": spikes.start_time,
        "duration_s": duration_s,
        "first_spike_s": bounds[0] * scale if bounds else None,
        "last_spike_s": bounds[1] * scale if bounds else None,
        "mean_rate_hz": (n_spikes / n_units / duration_s) if n_units and duration_s > 0 else None,
        "empty_units": int(np.count_nonzero(np.diff(np.asarray(spikes.spike_times_index), prepend=0) == 0)),
        "sampling_rate_hz": spikes.sampling_rate,
        "unit_attributes": [column.name for column in spikes.unit_attributes or ()],
    }
