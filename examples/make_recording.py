"""Make examples/recording.nwb, the demo's example recording (synthetic, made by this project).

40 units on a 32-channel probe, 5 minutes at 30 kHz: Poisson trains with a 2 ms refractory period,
firing rates from 0.5 to 20 Hz, two units silent (empty units exist in real sortings), unit
attributes and session metadata as a spike sorter would leave them. Run: python examples/make_recording.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurodatahub.core import conversion
from neurodatahub.spikes import common

SAMPLING_RATE = 30_000.0
DURATION_S = 300.0
N_UNITS = 40
REFRACTORY_S = 0.002


def spike_train(rng: np.random.Generator, rate_hz: float) -> np.ndarray:
    """Poisson spikes on the sample grid, dropping any within the refractory period of the last kept one."""
    count = rng.poisson(rate_hz * DURATION_S)
    samples = np.unique(rng.integers(0, int(DURATION_S * SAMPLING_RATE), count))
    kept = [samples[0]] if samples.size else []
    for sample in samples[1:]:
        if sample - kept[-1] >= REFRACTORY_S * SAMPLING_RATE:
            kept.append(sample)
    return np.asarray(kept, dtype=np.float64) / SAMPLING_RATE


def main() -> Path:
    rng = np.random.default_rng(20261122)
    rates = np.round(rng.uniform(0.5, 20.0, N_UNITS), 2)
    rates[[7, 23]] = 0.0  # silent units
    trains = [spike_train(rng, rate) for rate in rates]
    channels = np.sort(rng.integers(0, 32, N_UNITS))
    spikes = common.from_trains(
        trains,
        unit_ids=np.arange(N_UNITS) + 100,
        time_unit="s",
        start_time=0.0,
        length=DURATION_S,
        sampling_rate=SAMPLING_RATE,
        unit_attributes={
            "electrode": channels,
            "location": np.where(channels < 16, "CA1", "DG"),
            "quality": rng.choice(["good", "good", "good", "mua"], N_UNITS),
            "depth_um": 20.0 * channels,
        },
        metadata={
            "nwb": {
                "identifier": "neurodatahub-example-recording",
                "session_description": "synthetic open-field session made by neurodatahub for its demo",
                "session_start_time": "2026-03-02T14:05:00+01:00",
                "experimenter": ["Example, Ada"],
                "institution": "neurodatahub",
                "subject": {"subject_id": "mouse-01", "species": "Mus musculus", "sex": "F", "age": "P90D"},
            }
        },
    )
    target = Path(__file__).with_name("recording.nwb")
    conversion.write(spikes, str(target), overwrite=True)
    return target


if __name__ == "__main__":
    print(f"wrote {main()}")
