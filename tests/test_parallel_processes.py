"""Several `hub` processes at once, as CI runs them: every run exits with its documented code.

pyarrow used to be handed Python file objects; its read-ahead threads could then drop the last Python
buffer after the call returned, and when that happened during interpreter exit the process aborted
("terminate called without an active exception", exit 134) after printing a correct result, about
one run in ten with four processes at once. Readers now give pyarrow paths (core.codecs.parquet).
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import DOCUMENTS

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode

HUB = str(Path(sys.executable).parent / "hub")
RECORDING = Path(__file__).resolve().parents[1] / "examples" / "recording.nwb"
PROCESSES, RUNS = 4, 25


def _outputs(folder: Path) -> list[str]:
    """The example recording in every spike format the failing runs read: Phy, HDF5, Parquet, Arrow,
    TSV, NPZ, each written by the hub."""
    targets = ["r.h5", "r.phy", "r.parquet", "r.arrow", "r.tsv", "r.npz"]
    for name in targets:
        conversion.convert(str(RECORDING), str(folder / name))
    return [str(folder / name) for name in targets]


def _command(run: int, files: list[str], invalid: str) -> tuple[list[str], int]:
    """What run `run` does and the exit code it must end with: validate, info, or an invalid input."""
    if run % 5 == 4:
        return [HUB, "validate", files[2], invalid], ExitCode.INVALID
    if run % 2:
        return [HUB, "info", files[run % len(files)], "--json"], ExitCode.OK
    return [HUB, "validate", *files], ExitCode.OK


def _worker(worker: int, files: list[str], invalid: str) -> list[str]:
    problems = []
    for run in range(RUNS):
        command, expected = _command(worker + run, files, invalid)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != expected or "terminate called" in done.stderr:
            problems.append(f"{' '.join(command[1:3])}: exit {done.returncode}, {done.stderr.strip()[-200:]}")
    return problems


def test_four_processes_at_once_always_exit_as_documented(tmp_path: Path) -> None:
    files = _outputs(tmp_path)
    invalid = str(DOCUMENTS / "invalid" / "SpikeData.yaml")
    with ThreadPoolExecutor(PROCESSES) as pool:
        outcomes = list(pool.map(_worker, range(PROCESSES), [files] * PROCESSES, [invalid] * PROCESSES))
    problems = [problem for outcome in outcomes for problem in outcome]
    assert not problems, f"{len(problems)} of {PROCESSES * RUNS} runs: " + "; ".join(problems[:5])
