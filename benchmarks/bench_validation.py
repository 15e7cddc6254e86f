"""Validating a 100 M spike SpikeData: the model's vectorised invariants against the naive numpy checks."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

N_SPIKES = 100_000_000
N_UNITS = 2_000


def _naive(times: np.ndarray, index: np.ndarray) -> None:
    """What one would write by hand: whole-array temporaries, per-unit slices."""
    assert np.isfinite(times).all()
    starts = np.concatenate([[0], index[:-1]])
    for start, end in zip(starts, index, strict=True):
        assert (np.diff(times[start:end]) >= 0).all()


def _measure(function) -> tuple[float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    function()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak


def run() -> list[dict]:
    from neurodatahub.models import SpikeData

    rng = np.random.default_rng(0)
    counts = rng.multinomial(N_SPIKES, np.full(N_UNITS, 1 / N_UNITS))
    index = np.cumsum(counts)
    times = np.concatenate([np.sort(rng.uniform(0, 3600, count)) for count in counts])
    array_mb = times.nbytes / 2**20
    model_s, model_peak = _measure(
        lambda: SpikeData(
            unit_ids=np.arange(N_UNITS),
            spike_times=times,
            spike_times_index=index,
            time_unit="s",
            start_time=0.0,
            length=3600.0,
        )
    )
    naive_s, naive_peak = _measure(lambda: _naive(times, index))
    return [
        {
            "name": "SpikeData validation, 100 M spikes",
            "value": model_s,
            "unit": "s",
            "compared_with": "naive numpy",
        },
        {"name": "naive numpy checks, 100 M spikes", "value": naive_s, "unit": "s"},
        {
            "name": "SpikeData validation peak extra memory",
            "value": model_peak / 2**20,
            "unit": "MiB",
            "compared_with": f"spike array {array_mb:.0f} MiB; naive peak {naive_peak / 2**20:.0f} MiB",
            "target": "< 10% of the spike array (no copy)",
            "meets_target": model_peak < 0.1 * times.nbytes,
        },
    ]
