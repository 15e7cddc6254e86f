"""One subject in memory at a time: the peak stays far below the data the folder holds, whatever its size."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from functional_helpers import make_gsp

from neurodatahub.core.conversion import convert
from neurodatahub.functional import gsp1000_to_hdf5, iter_subjects

N_SUBJECTS, SHAPE, N_TIMEPOINTS, N_VOXELS = 8, (20, 20, 20), 40, 6000
SUBJECT_BYTES = N_TIMEPOINTS * N_VOXELS * 4  # one subject's float32 time series: 0.96 MB
TOTAL_BYTES = N_SUBJECTS * SUBJECT_BYTES  # what holding the folder's data would take: 7.7 MB
# subjects large enough for the resident memory's own noise (pymalloc arenas, HDF5's caches) not to matter
LARGE_SHAPE, LARGE_TIMEPOINTS, LARGE_VOXELS = (25, 25, 25), 100, 12000
LARGE_SUBJECT_BYTES = LARGE_TIMEPOINTS * LARGE_VOXELS * 4  # 4.8 MB
PEAK_CASES = ((4, 2), (8, 2), (8, 8))  # (subjects, subjects per chunk)


def _resident_peak(work: Callable[[], Any]) -> int:
    """Bytes the resident memory rose above the live memory while `work` ran: C buffers (HDF5, zlib)
    counted as well as Python's. Free heap goes back to the system first (glibc's malloc_trim), so that
    reusing it counts; then the kernel's high-water mark restarts from the current RSS (clear_refs)."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = _status_kb("VmRSS")
    work()
    return (_status_kb("VmHWM") - before) * 1024


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))


def _peak(work: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def gsp(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("memory")
    made = make_gsp(folder / "GSP", N_SUBJECTS, SHAPE, N_TIMEPOINTS, n_voxels=N_VOXELS)
    # the first conversion imports the hub's models, h5py and nibabel (tens of MB): not what is measured
    gsp1000_to_hdf5(made.root, made.mask, folder / "warm", max_subjects=1)
    convert(str(made.root), str(folder / "warm.h5"), read_options={"mask": str(made.mask), "max_subjects": 1})
    list(iter_subjects(str(folder / "warm.h5")))
    return made


@pytest.fixture(scope="module")
def large_gsp(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("memory-large")
    return make_gsp(folder / "GSP", 8, LARGE_SHAPE, LARGE_TIMEPOINTS, n_voxels=LARGE_VOXELS)


def resident_peaks(root: str, mask: str, output: str) -> list[int]:
    """In a process of its own (as a worker): a first chunk of this size, then each case's peak."""
    gsp1000_to_hdf5(root, mask, Path(output) / "warm", 2, max_subjects=2)
    convert_case = partial(gsp1000_to_hdf5, root, mask)
    return [
        _resident_peak(partial(convert_case, Path(output) / f"{n}-by-{per}", per, max_subjects=n))
        for n, per in PEAK_CASES
    ]


@pytest.mark.skipif(sys.platform != "linux", reason="the resident peak is read from Linux's /proc/self")
def test_gsp1000_to_hdf5_peak_follows_neither_the_subjects_nor_the_chunk_size(
    large_gsp: Any, tmp_path: Path
) -> None:
    # a fresh process, as a Dask worker is: the allocator's history of the test session is not measured
    measure = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import {Path(__file__).stem} as m; "
        f"print(m.resident_peaks({str(large_gsp.root)!r}, {str(large_gsp.mask)!r}, {str(tmp_path)!r}))"
    )
    done = subprocess.run([sys.executable, "-c", measure], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    half, whole, one_chunk = json.loads(done.stdout.splitlines()[-1])
    figures = (
        f"4 subjects {half / 1e6:.2f} MB, 8: {whole / 1e6:.2f} MB, 8 in one chunk {one_chunk / 1e6:.2f} MB"
    )
    # twice the subjects, or four times the subjects per chunk: the same peak (a held subject is 4.8 MB)
    assert abs(whole - half) < LARGE_SUBJECT_BYTES / 4, figures
    assert abs(one_chunk - half) < LARGE_SUBJECT_BYTES / 4, figures
    # one subject, its deflated copy and the reading buffers; not the two copies more that a write
    # through HDF5's filter pipeline takes (4.2 subjects for this noisy data)
    assert max(half, whole, one_chunk) < 2.5 * LARGE_SUBJECT_BYTES, figures


def test_streamed_convert_and_reading_hold_one_subject_at_a_time(gsp: Any, tmp_path: Path) -> None:
    target = tmp_path / "all.h5"
    peak = _peak(lambda: convert(str(gsp.root), str(target), read_options={"mask": str(gsp.mask)}))
    assert peak < 3 * SUBJECT_BYTES, f"convert peak {peak / 1e6:.2f} MB"

    def read_all() -> None:
        total = 0.0
        for subject in iter_subjects(str(target)):
            total += float(np.sum(subject.timeseries, dtype=np.float64))
        assert total != 0.0

    peak = _peak(read_all)
    assert peak < 2.5 * SUBJECT_BYTES, f"reading peak {peak / 1e6:.2f} MB"
