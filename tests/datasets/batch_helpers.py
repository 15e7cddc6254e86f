"""Spike datasets for batch tests: NWB files written by pynwb (the peer), in a BIDS-like tree."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np


def pynwb_file(path: Path, seed: int, n_units: int = 3, n_spikes: int = 40) -> Path:
    """An NWB file with a Units table, written by pynwb as a lab's pipeline would."""
    from pynwb import NWBHDF5IO, NWBFile

    rng = np.random.default_rng(seed)
    nwbfile = NWBFile(
        session_description=f"session {seed}",
        identifier=f"session-{seed}",
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    for _ in range(n_units):
        nwbfile.add_unit(spike_times=np.sort(rng.uniform(0, 10, n_spikes)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def spike_tree(root: Path, subjects: int = 4) -> list[Path]:
    """sub-0N/ses-1/sub-0N_ses-1_ecephys.nwb for each subject, a README and a JSON sidecar (not data)."""
    made = [
        pynwb_file(root / f"sub-0{n}" / "ses-1" / f"sub-0{n}_ses-1_ecephys.nwb", seed=n)
        for n in range(1, subjects + 1)
    ]
    (root / "README.md").write_text("# a study\n")
    (root / "sub-01" / "ses-1" / "sub-01_ses-1_ecephys.json").write_text('{"PowerLineFrequency": 50}\n')
    return made


def trains(url: str, **options: object) -> list[np.ndarray]:
    """The spike trains of any spike file, in seconds, read by the hub."""
    from neurodatahub.core import conversion

    spikes = conversion.read(url, **options)
    times = np.asarray(spikes.spike_times, dtype=np.float64)
    index = np.asarray(spikes.spike_times_index)
    return np.split(times, index[:-1]) if len(index) else []


def pynwb_trains(path: Path) -> list[np.ndarray]:
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "r") as io:
        units = io.read().units
        return [np.asarray(units["spike_times"][i]) for i in range(len(units))]


def same_trains(left: list[np.ndarray], right: list[np.ndarray]) -> bool:
    return len(left) == len(right) and all(
        np.allclose(a, b, atol=1e-9) for a, b in zip(left, right, strict=True)
    )


def ragged_tree(root: Path, files: int, units: int = 40, spikes: int = 1000) -> Path:
    """`files` spike files in spikelab's ragged HDF5 (sub-NN/sub-NN_spikes.h5), written by the hub."""
    from neurodatahub.core import conversion
    from neurodatahub.spikes import common

    rng = np.random.default_rng(7)
    for n in range(files):
        made = common.from_trains(
            [np.sort(rng.uniform(0, 100, spikes)) for _ in range(units)],
            time_unit="s",
            start_time=0.0,
            length=100.0,
        )
        folder = root / f"sub-{n:02d}"
        folder.mkdir(parents=True)
        conversion.write(made, str(folder / f"sub-{n:02d}_spikes.h5"), style="ragged")
    return root
