"""Running `hub` as a whole process (signals, time limits, memory caps, fresh asyncio loops), and hostile
files the safety tests share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HUB = [sys.executable, "-m", "neurodatahub.cli"]


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float

    def one_line(self) -> str:
        """The single line a failure must print: no traceback, nothing else."""
        lines = [line for line in self.err.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in self.err, self.err
        return lines[0]


def hub_process(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> Run:
    """One `hub` process; `env` entries are added to (or, when None, removed from) this environment."""
    environment = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    started = time.monotonic()
    done = subprocess.run(
        [*HUB, *args], capture_output=True, text=True, env=environment, timeout=timeout, cwd=cwd
    )
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def spike_hdf5(path: Path, n_units: int = 4, per_unit: int = 100) -> Path:
    """A small ragged spike file (spikelab's layout) the hub reads."""
    import h5py

    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0, 10, per_unit)) for _ in range(n_units)]
    with h5py.File(path, "w") as file:
        file.create_dataset("spike_times", data=np.concatenate(trains))
        file.create_dataset("spike_times_index", data=np.cumsum([len(t) for t in trains]))
        file.attrs["length_ms"] = 10_000.0
    return path
