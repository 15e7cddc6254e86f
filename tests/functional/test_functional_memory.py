"""One subject in memory at a time: the traced peak stays far below the data the folder holds."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
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


def test_gsp1000_to_hdf5_holds_one_subject_at_a_time(gsp: Any, tmp_path: Path) -> None:
    # all eight subjects go to one chunk: lacuna's layout would let a writer hold the whole chunk
    peak = _peak(lambda: gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out", subjects_per_chunk=8))
    assert peak < 2 * SUBJECT_BYTES and peak < TOTAL_BYTES / 4, f"peak {peak / 1e6:.2f} MB"


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
