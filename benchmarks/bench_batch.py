"""Whole datasets on the execution layer (issue 12), with the baselines measured in the same run.

- 200 NWB files written by pynwb (2 M spikes in all) -> spikelab's ragged HDF5:
  `hub convert raw/ out/{relpath}/{stem}.h5 --style ragged -j 2` as one process (cluster start-up
  included), against a shell loop of one `hub convert` process per file (goal: 5x faster);
  the same batch on a Dask cluster of 2 workers against one of 1 worker (goal: 1.7x, the scaling;
  both clusters started beforehand, so the figure is the work, not the start-up; the median of 3 runs of
  each, alternating, on fresh clusters) as a `hub` process and as a `convert_many` call in this process
  (no interpreter start-up or imports: what a Python session pays); and in one process (-j 1).
  Beside the scaling, the CPU seconds of every process of each run (workers, the `hub` process that is
  the Dask client, the scheduler) and the bound they set on 2 cores: the 1-worker time over half the
  2-worker run's CPU time (the client and the scheduler share the cores with the workers).
- GSP1000-shaped synthetic runs (4 mm MNI grid, 120 timepoints, 4 subjects per chunk) chunked on 1 and
  on 2 workers: the time for 16 subjects, and the peak memory each worker added while chunking the
  first 8, 16 and 32 subjects of one folder (goal: within one chunk's data and the same for every
  number of subjects, i.e. bounded by the chunk, not by the dataset). "The same" allows a quarter of a
  subject: the worker's own bookkeeping moves its peak by about 1 MB between runs, while holding one
  subject more would add a whole one (16.6 MB).

  How the peak is measured, on every worker, around each conversion: freed heap is handed back to the
  system (glibc's malloc_trim) and the kernel's high-water mark is reset to the current RSS (writing 5
  to /proc/self/clear_refs); after the conversion the figure is VmHWM minus that RSS. So it counts every
  byte the conversion touched (numpy, nibabel's decompression, HDF5's and zlib's buffers), including
  reused free heap, and nothing from before it. Not getrusage's ru_maxrss: it is the lifetime peak, and
  Linux carries it over fork and exec, so a spawned Dask worker starts with the peak of the process
  that started it (here the data generation's 214 MB, which once made this figure 120 MB). Each
  cluster converts one chunk per worker first, so imports and the models' validators (one-time costs)
  are resident before the first measurement.

On a machine with 2 cores that other processes share, the scaling figures can only be what the free
cores allow; the machine's load is recorded beside them.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tractograms import _status_mb

N_FILES = 200
UNITS, SPIKES_PER_UNIT = 20, 500  # 10,000 spikes per file, 2 M in all
GSP_SUBJECTS, GSP_PER_CHUNK, GSP_TIMEPOINTS = 16, 4, 120
CLUSTER_REPEATS = 3  # runs of the batch on each cluster size; the medians are compared
GSP_SCALES = (8, 16, 32)  # subjects chunked to show the peak does not follow them; GSP_SUBJECTS is timed
GSP_SHAPE = (46, 55, 46)  # the 4 mm MNI grid


def _hub() -> str:
    return shutil.which("hub", path=str(Path(sys.executable).parent)) or "hub"


def _nwb_dataset(root: Path, files: int = N_FILES) -> Path:
    from pynwb import NWBHDF5IO, NWBFile

    rng = np.random.default_rng(12)
    for n in range(files):
        nwbfile = NWBFile(
            session_description="benchmark",
            identifier=f"s{n}",
            session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for _ in range(UNITS):
            nwbfile.add_unit(spike_times=np.sort(rng.uniform(0, 600, SPIKES_PER_UNIT)))
        path = root / f"sub-{n:03d}" / f"sub-{n:03d}_ecephys.nwb"
        path.parent.mkdir(parents=True)
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwbfile)
    return root


def _timed(command: list[str] | str, shell: bool = False) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, shell=shell)
    return time.perf_counter() - started


def _timed_with_cpu(command: list[str], cluster: Any) -> tuple[float, dict[str, float]]:
    """Wall time of `command`, and the CPU seconds it cost each process: the workers, the `hub` process
    (the Dask client: start-up, planning, collecting results) and the scheduler (in this process, as
    LocalCluster runs it; this process does nothing else meanwhile)."""
    import psutil

    with cluster.get_client() as client:
        workers = [psutil.Process(pid) for pid in client.run(os.getpid).values()]

    def used(process: psutil.Process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    def children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    before = [used(worker) for worker in workers], children(), used(psutil.Process())
    seconds = _timed(command)
    after = [used(worker) for worker in workers], children(), used(psutil.Process())
    spent = zip(before[0], after[0], strict=True)
    cpu = {f"worker {n + 1}": end - start for n, (start, end) in enumerate(spent)}
    cpu["hub process"], cpu["scheduler"] = after[1] - before[1], after[2] - before[2]
    return seconds, cpu


def _cluster(workers: int):
    import logging

    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):  # as the hub's own local clusters
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )


def _spike_rows(folder: Path) -> list[dict]:
    raw = _nwb_dataset(folder / "raw")
    hub = _hub()
    template = "{relpath}/{stem}.h5"
    batch = _timed(
        [hub, "convert", str(raw), str(folder / "batch" / template), "--style", "ragged", "-j", "2"]
    )
    loop = f"""for f in $(find {raw} -name '*.nwb' | sort); do
        name=$(basename "$f" .nwb); mkdir -p {folder}/loop/$(basename $(dirname "$f"))
        {hub} convert "$f" {folder}/loop/$(basename $(dirname "$f"))/$name.h5 --style ragged; done"""
    looped = _timed(loop, shell=True)
    inline = _timed(
        [hub, "convert", str(raw), str(folder / "inline" / template), "--style", "ragged", "-j", "1"]
    )
    from neurodatahub import convert_many
    from neurodatahub.datasets.batch import WORKER_MODULES

    for module in WORKER_MODULES:  # in-process runs: this process has what a Python session would have
        __import__(module)
    runs: dict[int, list[tuple[float, dict[str, float]]]] = {1: [], 2: []}
    in_process: dict[int, list[float]] = {1: [], 2: []}
    for attempt in range(CLUSTER_REPEATS):  # alternating, each on a fresh cluster: drift hits both alike
        for workers in (1, 2):
            output = folder / f"w{workers}-{attempt}" / template
            with _cluster(workers) as cluster:
                command = [hub, "convert", str(raw), str(output), "--style", "ragged",
                           "--scheduler", cluster.scheduler_address]  # fmt: skip
                runs[workers].append(_timed_with_cpu(command, cluster))
            with _cluster(workers) as cluster:
                started = time.perf_counter()
                convert_many(str(raw), str(folder / f"p{workers}-{attempt}" / template),
                             options={"style": "ragged"}, scheduler=cluster.scheduler_address)  # fmt: skip
                in_process[workers].append(time.perf_counter() - started)
    medians = {
        workers: sorted(found, key=lambda run: run[0])[len(found) // 2] for workers, found in runs.items()
    }
    by_workers = {workers: seconds for workers, (seconds, _) in medians.items()}
    called = {workers: statistics.median(seconds) for workers, seconds in in_process.items()}
    cpu = {workers: spent for workers, (_, spent) in medians.items()}
    # what 2 cores allow: every process's CPU time of the (median) 2-worker run, spread over both cores
    bound = by_workers[1] / (sum(cpu[2].values()) / 2)
    what = (
        f"{N_FILES} NWB files (pynwb, {N_FILES * UNITS * SPIKES_PER_UNIT / 1e6:.0f} M spikes) -> ragged HDF5"
    )
    return [
        {
            "name": f"hub convert of a folder, 2 local workers (one process, start-up included), {what}",
            "value": batch,
            "unit": "s",
            "compared_with": f"a shell loop of {N_FILES} `hub convert` processes: {looped:.1f} s",
            "ratio": looped / batch,
            "target": ">= 5x faster than the shell loop",
            "meets_target": looped / batch >= 5,
        },
        {"name": f"shell loop of one hub convert per file, {what}", "value": looped, "unit": "s"},
        {"name": f"hub convert of a folder in one process (-j 1), {what}", "value": inline, "unit": "s"},
        {
            **_scaling(f"the batch on a Dask cluster of 2 workers, {what}", by_workers, "batch"),
            "load_average": os.getloadavg()[0],
            "runs_s": {f"{n} workers": [round(seconds, 2) for seconds, _ in runs[n]] for n in runs},
            "cpu_seconds": {
                f"{n} workers": {part: round(value, 2) for part, value in cpu[n].items()} for n in cpu
            },
            "bound_on_2_cores": bound,
        },
        {"name": f"the batch on a Dask cluster of 1 worker, {what}", "value": by_workers[1], "unit": "s"},
        {
            **_scaling(
                f"the batch from Python (convert_many, in-process) on a cluster of 2 workers, {what}",
                called,
                "call",
            ),
            "runs_s": {f"{n} workers": [round(seconds, 2) for seconds in in_process[n]] for n in in_process},
        },
    ]


def _scaling(name: str, by_workers: dict[int, float], what: str) -> dict[str, Any]:
    """A 2-worker figure against the 1-worker one, with the scaling target."""
    ratio = by_workers[1] / by_workers[2]
    return {
        "name": name,
        "value": by_workers[2],
        "unit": "s",
        "compared_with": f"the same {what} on a cluster of 1 worker: {by_workers[1]:.1f} s",
        "ratio": ratio,
        "target": ">= 1.7x faster on 2 workers than on 1 (scaling)",
        "meets_target": ratio >= 1.7,
    }


def _gsp_dataset(root: Path) -> tuple[Path, Path]:
    import nibabel as nib

    rng = np.random.default_rng(5)
    affine = np.array([[-4.0, 0, 0, 90], [0, 4, 0, -126], [0, 0, 4, -72], [0, 0, 0, 1]])  # LAS, as GSP1000
    grid = np.indices(GSP_SHAPE).astype(float)
    centre = (np.array(GSP_SHAPE) - 1)[:, None, None, None] / 2
    brain = (((grid - centre) / (np.array(GSP_SHAPE)[:, None, None, None] * 0.42)) ** 2).sum(axis=0) <= 1
    mask = root / "mask.nii.gz"
    ras = affine.copy()
    ras[0] = [4.0, 0, 0, -90]
    nib.save(nib.Nifti1Image(brain[::-1].astype(np.uint8), ras), mask)  # RAS mask, LAS runs: lacuna's case
    for n in range(max(GSP_SCALES)):
        data = rng.normal(1000, 50, (*GSP_SHAPE, GSP_TIMEPOINTS)).astype(np.int16)
        run = (
            root
            / "GSP"
            / f"sub-{n:04d}"
            / "func"
            / f"sub-{n:04d}_bld001_rest_skip4_stc_mc_bp_finalmask.nii.gz"
        )
        run.parent.mkdir(parents=True)
        nib.save(nib.Nifti1Image(data, affine), run)
    return root / "GSP", mask


def _reset_peak() -> float:
    """On a worker: a fresh high-water mark at the live memory; returns that RSS (MB), the baseline."""
    import ctypes

    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only: elsewhere free heap stays counted
    if trim is not None:
        trim(0)
    with open("/proc/self/clear_refs", "w") as refs:  # Linux: "5" resets VmHWM to VmRSS
        refs.write("5")
    return _status_mb("VmRSS")


def _peak() -> float:
    return _status_mb("VmHWM")


def _digest(folder: Path) -> dict[str, str]:
    import hashlib

    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def _gsp_rows(folder: Path) -> list[dict]:
    from neurodatahub.functional import gsp1000_to_hdf5
    from neurodatahub.functional.runs import read_mask

    gsp, mask = _gsp_dataset(folder)
    voxels = len(read_mask(str(mask)).indices)
    subject_mb = GSP_TIMEPOINTS * voxels * 4 / 2**20
    chunk_mb = subject_mb * GSP_PER_CHUNK
    seconds, digests = {}, {}
    added: dict[int, dict[int, float]] = {n: {} for n in GSP_SCALES}  # subjects -> workers -> MB
    for workers in (1, 2):
        with _cluster(workers) as cluster, cluster.get_client() as client:
            address = cluster.scheduler_address
            # a first chunk per worker loads the libraries and builds the models' validators (one-time
            # costs), so that they are part of the baseline, not of the figures
            warm = GSP_PER_CHUNK * workers
            gsp1000_to_hdf5(gsp, mask, folder / "warm", GSP_PER_CHUNK, max_subjects=warm, scheduler=address)
            shutil.rmtree(folder / "warm")
            for subjects in GSP_SCALES:
                output = folder / f"chunks-{workers}-{subjects}"
                before = client.run(_reset_peak)
                started = time.perf_counter()
                gsp1000_to_hdf5(gsp, mask, output, GSP_PER_CHUNK, max_subjects=subjects, scheduler=address)
                elapsed = time.perf_counter() - started
                after = client.run(_peak)
                added[subjects][workers] = max(after[worker] - before[worker] for worker in after)
                if subjects == GSP_SUBJECTS:
                    seconds[workers], digests[workers] = elapsed, _digest(output)
                shutil.rmtree(output)  # 32 subjects of chunks take half a gigabyte
    what = f"GSP1000-shaped, {GSP_SUBJECTS} subjects x {GSP_TIMEPOINTS} timepoints x {voxels} voxels"
    peaks = {subjects: max(by_workers.values()) for subjects, by_workers in added.items()}
    growth = max(peaks.values()) - min(peaks.values())
    sizes = f"one subject {subject_mb:.1f} MB, one chunk {chunk_mb:.0f} MB"
    return [
        {
            "name": f"gsp1000-to-hdf5 on 2 workers, {what}, {GSP_PER_CHUNK} subjects per chunk",
            "value": seconds[2],
            "unit": "s",
            "compared_with": f"1 worker: {seconds[1]:.1f} s (same bytes: {digests[1] == digests[2]})",
            "ratio": seconds[1] / seconds[2],
            "load_average": os.getloadavg()[0],
        },
        {
            "name": f"peak memory a worker added while chunking, {what}",
            "value": peaks[GSP_SUBJECTS],
            "unit": "MB",
            "compared_with": (
                "the same chunks from "
                + ", ".join(f"{n} subjects: {peaks[n]:.1f} MB" for n in GSP_SCALES if n != GSP_SUBJECTS)
                + f" (largest - smallest: {growth:.1f} MB); {sizes} (the peak: "
                f"{peaks[GSP_SUBJECTS] / subject_mb:.1f} subjects' worth), "
                f"the dataset {subject_mb * GSP_SUBJECTS:.0f} MB (float32)"
            ),
            "target": (
                "bounded by one chunk's data, not by the dataset: within one chunk, and the same (within a "
                f"quarter of a subject) for {', '.join(map(str, GSP_SCALES))} subjects"
            ),
            "meets_target": max(peaks.values()) <= chunk_mb and growth <= subject_mb / 4,
            "by_workers": {
                f"{n} subjects": {f"{w} workers": mb for w, mb in added[n].items()} for n in GSP_SCALES
            },
        },
    ]


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp)
        (folder / "spikes").mkdir()
        (folder / "gsp").mkdir()
        return _spike_rows(folder / "spikes") + _gsp_rows(folder / "gsp")


if __name__ == "__main__":
    for row in run():
        print(row)
