"""`hub preview` of large inputs, as whole processes: a 1 GB tractogram (3 M streamlines) and a
10 M-spike NWB file (2,000 units). Time and peak memory (VmHWM of the process) against the input's
size; the preview reads a bounded sample of streamed data, so memory must not follow the file.
Beside them, the peers' way to the same picture: nibabel loading the whole tractogram (lazy=False, as
dipy and nilearn users do before plotting) with the same sample drawn."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPEATS = 3
TARGET_SECONDS = 5.0
TARGET_PEAK_MB = 600.0

PREVIEW = """
import sys
from neurodatahub.cli import main
code = main(["preview", sys.argv[1], "-o", sys.argv[2], "--overwrite"])
peak = next(int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(peak)
sys.exit(code)
"""
NIBABEL = """
import sys
import nibabel as nib
import numpy as np
from neurodatahub.core.models import Tractogram
from neurodatahub.core.preview import save, figure
streamlines = nib.streamlines.load(sys.argv[1], lazy_load=False).streamlines
lengths = np.fromiter(map(len, streamlines), dtype=np.int64, count=len(streamlines))
offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
tracts = Tractogram(positions=np.asarray(streamlines.get_data(), dtype=np.float64), offsets=offsets)
save(figure(tracts), sys.argv[2])
print(next(int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def _run(script: str, source: Path, target: Path) -> tuple[float, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, str(source), str(target)], capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(done.stderr)
    return seconds, float(done.stdout.strip().splitlines()[-1])


def _measure(script: str, source: Path, target: Path) -> tuple[float, float]:
    _run(script, source, target)  # warm-up: page cache
    runs = [_run(script, source, target) for _ in range(REPEATS)]
    return statistics.median(run[0] for run in runs), max(run[1] for run in runs)


def run() -> list[dict]:
    sys.path.insert(0, str(HERE.parent))
    from bench_spikes import make_inputs
    from bench_tractograms import input_file

    rows = []
    trk = input_file("3M")
    with tempfile.TemporaryDirectory(prefix="bench-preview-") as tmp:
        folder = Path(tmp)
        nwb = make_inputs(folder)["nwb"]
        cases = {
            "hub preview, 3 M-streamline TRK": (PREVIEW, trk),
            "nibabel load + the same picture, 3 M-streamline TRK": (NIBABEL, trk),
            "hub preview, 10 M-spike NWB (2,000 units)": (PREVIEW, nwb),
        }
        for name, (script, source) in cases.items():
            seconds, peak = _measure(script, source, folder / "out.png")
            row = {
                "name": f"{name} (whole process)",
                "value": seconds,
                "unit": "s",
                "peak_memory_mb": peak,
                "input_mb": source.stat().st_size / 2**20,
            }
            if name.startswith("hub"):
                row["target"] = (
                    f"<= {TARGET_SECONDS:g} s and <= {TARGET_PEAK_MB:g} MB whatever the input's size"
                )
                row["meets_target"] = seconds <= TARGET_SECONDS and peak <= TARGET_PEAK_MB
            rows.append(row)
    return rows


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
