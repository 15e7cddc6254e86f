"""Bounded memory: a tractogram many times larger than a chunk converts with a peak of traced memory
far below its size. The chunk size is set small through NEURODATAHUB_TRACT_CHUNK_POINTS, so a reader or
writer that held the whole file (or a whole array of it) would blow the bound by a factor of ten."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from tract_helpers import write_raw_trk

from neurodatahub.core import conversion

STREAMLINES, POINTS = 25_000, 40  # 1 M points: 11.4 MB of float32 positions, a 12 MB TRK
CHUNK_POINTS = 10_000  # 120 kB of positions per chunk
BOUND_MB = 2.5


def _peak_mb(action) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def big_trk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("memory") / "big.trk"
    write_raw_trk(path, STREAMLINES, POINTS)
    return path


def test_conversions_stay_far_below_the_file_size(
    big_trk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEURODATAHUB_TRACT_CHUNK_POINTS", str(CHUNK_POINTS))
    positions_mb = STREAMLINES * POINTS * 12 / 2**20
    warm = tmp_path / "warm"
    warm.mkdir()
    small = warm / "small.trk"
    write_raw_trk(small, 10, 5)
    for fmt in ("tck", "trx"):  # imports and first-use caches before tracing
        conversion.convert(str(small), str(warm / f"small.{fmt}"))
    conversion.convert(str(warm / "small.trx"), str(warm / "back.trk"))

    peaks = {
        "trk->tck": _peak_mb(lambda: conversion.convert(str(big_trk), str(tmp_path / "a.tck"))),
        "trk->trx": _peak_mb(lambda: conversion.convert(str(big_trk), str(tmp_path / "a.trx"))),
        "trx->trk": _peak_mb(lambda: conversion.convert(str(tmp_path / "a.trx"), str(tmp_path / "b.trk"))),
        "info": _peak_mb(
            lambda: conversion.summarize_file(conversion.input_format(str(big_trk)), str(big_trk))
        ),
    }
    assert positions_mb > 4 * BOUND_MB
    for name, peak in peaks.items():
        assert peak < BOUND_MB, f"{name}: peak {peak:.1f} MB for {positions_mb:.0f} MB of positions"
    back = conversion.read(str(tmp_path / "b.trk"))
    assert len(back.offsets) == STREAMLINES and len(back.positions) == STREAMLINES * POINTS


def test_the_bound_is_real(big_trk: Path) -> None:
    """Reading the same file whole (what a non-streaming reader does) needs many times the bound."""
    peak = _peak_mb(lambda: conversion.read(str(big_trk)))
    assert peak > 5 * BOUND_MB
