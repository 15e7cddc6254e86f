"""Start-up time: `hub --help`, `hub --version` and `import neurodatahub`, against the bare interpreter."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPEATS = 15
TARGET_SECONDS = 0.3


def _wall(command: list[str]) -> float:
    """Median wall time of a command, after one warm-up run (file cache filled, as for a user)."""
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run() -> list[dict]:
    hub = shutil.which("hub", path=str(Path(sys.executable).parent)) or "hub"
    floor = _wall([sys.executable, "-c", "pass"])
    cases = {
        "hub --help": [hub, "--help"],
        "hub --version": [hub, "--version"],
        "import neurodatahub": [sys.executable, "-c", "import neurodatahub"],
        "import neurodatahub.models": [sys.executable, "-c", "import neurodatahub.models"],
    }
    rows = [{"name": "python -c pass (floor)", "value": floor, "unit": "s"}]
    for name, command in cases.items():
        seconds = _wall(command)
        targeted = name != "import neurodatahub.models"  # its target (0.15 s) is bench_process's
        rows.append(
            {
                "name": name,
                "value": seconds,
                "unit": "s",
                "compared_with": "python -c pass",
                "ratio_to_floor": seconds / floor,
                "target": f"< {TARGET_SECONDS} s" if targeted else None,
                "meets_target": seconds < TARGET_SECONDS if targeted else None,
            }
        )
    return rows
