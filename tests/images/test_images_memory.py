"""Bounded memory: a series many times larger than a chunk converts between every streamed format with a
traced peak of a few chunks, while reading it whole needs the whole series (so the bound is real)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from image_helpers import save_nifti, series

from neurodatahub.core.conversion import convert, read

SHAPE = (64, 64, 40, 48)  # int16: 15.7 MB
SERIES_MB = 64 * 64 * 40 * 48 * 2 / 2**20
CHUNK_BYTES = 1 << 19  # one volume (320 KiB) per chunk


def _peak_mb(action: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("memory")
    source = save_nifti(folder / "sub-01_task-rest_bold.nii.gz", series(SHAPE), repetition_time=0.8)
    convert(str(source), str(folder / "warm.ome.zarr"))  # imports (zarr, nibabel) are not what is measured
    return source


@pytest.mark.parametrize(
    ("first", "second"), [(".ome.zarr", ".nii.gz"), (".mgz", ".nii"), (".nii", ".ome.zarr")]
)
def test_series_convert_in_a_few_chunks_of_memory(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str, second: str
) -> None:
    monkeypatch.setenv("NEURODATAHUB_IMAGE_CHUNK_BYTES", str(CHUNK_BYTES))
    middle, last = tmp_path / f"middle{first}", tmp_path / f"last{second}"
    for source, target in ((big, middle), (middle, last)):
        peak = _peak_mb(lambda source=source, target=target: convert(str(source), str(target)))
        assert peak < SERIES_MB / 3, (
            f"{source.name} -> {target.name}: peak {peak:.1f} MB of {SERIES_MB:.1f} MB"
        )


def test_the_bound_is_real(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURODATAHUB_IMAGE_CHUNK_BYTES", str(CHUNK_BYTES))
    assert _peak_mb(lambda: read(str(big))) > SERIES_MB
