"""Spike trains at a glance: a raster of a time window (the most active units) and the firing rates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.preview import paints
from neurodatahub.spikes import common

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import SpikeData

MAX_UNITS = 60  # rows of the raster: the most active units
WINDOW_S = 10.0  # seconds of the raster, from the first spike


def raster_window(spikes: SpikeData) -> tuple[float, float]:
    """The window the raster shows, in seconds: WINDOW_S from the first spike (or the whole recording)."""
    seconds = common.times_in(spikes, "s", spikes.sampling_rate)
    start = float(seconds.min()) if seconds.size else common.window_in(spikes, "s", spikes.sampling_rate)[0]
    return start, start + WINDOW_S


def shown_units(spikes: SpikeData) -> np.ndarray:
    """Indices of the units the raster shows: the most active, in unit order."""
    counts = np.diff(np.asarray(spikes.spike_times_index), prepend=0)
    return np.sort(np.argsort(-counts, kind="stable")[:MAX_UNITS])


@paints("SpikeData")
def paint(spikes: SpikeData, figure: Figure) -> None:
    raster, rates = figure.subplots(1, 2, width_ratios=[3, 1])
    seconds = common.times_in(spikes, "s", spikes.sampling_rate)
    ends = np.asarray(spikes.spike_times_index)
    starts = np.concatenate([[0], ends[:-1]]) if ends.size else ends
    begin, end = raster_window(spikes)
    units = shown_units(spikes)
    trains = []
    for unit in units:
        train = seconds[starts[unit] : ends[unit]]
        trains.append(train[(train >= begin) & (train <= end)])
    if trains:
        raster.eventplot(
            trains, lineoffsets=np.arange(len(units)), linelengths=0.8, colors="black", linewidths=0.6
        )
    raster.set_xlim(begin, end)
    raster.set_ylim(-0.5, max(len(units), 1) - 0.5)
    raster.set_xlabel("time (s)")
    raster.set_ylabel(f"unit ({len(units)} most active of {len(ends)})")
    labels = [str(spikes.unit_ids[unit]) for unit in units]
    if len(labels) <= 30:
        raster.set_yticks(np.arange(len(units)), labels, fontsize=7)
    _, length = common.window_in(spikes, "s", spikes.sampling_rate)
    per_unit = np.diff(ends, prepend=0) / length if length > 0 else np.zeros(len(ends))
    rates.hist(per_unit, bins=min(40, max(5, len(per_unit) // 3 or 1)), color="steelblue")
    rates.set_xlabel("firing rate (Hz)")
    rates.set_ylabel("units")
