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


@pytest.mark.parametrize("seed", range(6))
def test_median_deviation_as_sorting_the_deviations(seed: int) -> None:
    """The binary search over the two runs gives what sorting |x - median| gives, bit for bit: ties,
    constant regions, one voxel, empty regions, even and odd counts."""
    from neurodatahub.regions.segments import Segments
    from neurodatahub.regions.statistics import median, median_deviation

    rng = np.random.default_rng(seed)
    counts = rng.choice([0, 1, 2, 3, 4, 5, 8, 33, 400, 1001], size=40)
    pieces = []
    for count in counts:
        kind = rng.integers(4)
        if kind == 0:
            piece = rng.normal(0.5, 0.2, count)
        elif kind == 1:
            piece = rng.integers(0, 4, count) / 3  # many ties
        elif kind == 2:
            piece = np.full(count, 0.7)  # constant
        else:
            piece = rng.lognormal(0, 2, count) * rng.choice([-1, 1], count)
        pieces.append(piece)
    values = np.concatenate(pieces)
    segments = Segments.from_counts(counts)
    ordered = segments.sorted(values)
    centre = median(ordered, segments)
    expected = median(segments.sorted(np.abs(ordered - segments.spread(centre))), segments)
    assert np.array_equal(median_deviation(ordered, segments, centre), expected, equal_nan=True)
