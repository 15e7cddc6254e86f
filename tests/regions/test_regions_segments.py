"""Voxels grouped by region: the same positions, in the same order, as one mask per region over the
volume read in C order (parcellate's way), for every integer label type and memory order nibabel gives."""

from __future__ import annotations

import numpy as np
import pytest

from neurodatahub.regions.segments import group_voxels, take_flat

INDICES = np.array([7, 1, 300, -2, 120, 90_000], dtype=np.int64)  # table order; some no image can hold


def _by_masks(labels: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = labels.reshape(-1)
    masks = [np.flatnonzero(flat == index) for index in indices]
    return np.concatenate(masks), np.array([len(mask) for mask in masks])


@pytest.mark.parametrize("dtype", ["u1", "i1", "u2", "i2", "i4", "u4", "i8"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_grouped_as_masks_in_c_order(dtype: str, order: str) -> None:
    rng = np.random.default_rng(3)
    bounds = np.iinfo(np.dtype(dtype))
    choices = [value for value in (0, 1, 7, 120, 300, -2, 90_000, 5) if bounds.min <= value <= bounds.max]
    labels = np.asarray(rng.choice(choices, size=(37, 29, 23)), dtype=dtype, order=order)
    positions, segments = group_voxels(labels, INDICES)
    expected, counts = _by_masks(labels, INDICES)
    assert np.array_equal(positions, expected) and np.array_equal(segments.counts, counts)


def test_blocks_of_slices_cover_the_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks smaller than one slice, and a last block shorter than the others."""
    import neurodatahub.regions.segments as segments

    monkeypatch.setattr(segments, "BLOCK", 100)
    labels = np.asfortranarray(np.random.default_rng(4).integers(0, 3, size=(11, 13, 7), dtype=np.int16))
    positions, grouped = group_voxels(labels, np.array([2, 1]))
    expected, counts = _by_masks(labels, np.array([2, 1]))
    assert np.array_equal(positions, expected) and np.array_equal(grouped.counts, counts)


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_take_flat_reads_c_order_positions(layout: str) -> None:
    volume = np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7)
    if layout == "F":
        volume = np.asfortranarray(volume)
    elif layout == "strided":
        volume = np.arange(5 * 6 * 14, dtype=np.float32).reshape(5, 6, 14)[:, :, ::2]
    positions = np.array([0, 41, 209, 7, 100], dtype=np.int64)
    assert np.array_equal(take_flat(volume, positions), np.ascontiguousarray(volume).reshape(-1)[positions])
