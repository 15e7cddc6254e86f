"""Voxels grouped by region once, and reductions over the groups.

qsiparc (through parcellate) builds one boolean mask over the whole volume per region, so its cost is
regions x voxels. Here the labelled voxels are sorted by region once (a stable sort, so every region
keeps its voxels in C order, the order parcellate sees them in) and each statistic is a reduction over
contiguous segments of that one array. Segment sums go through numpy's own pairwise summation, one
segment at a time, because `np.add.reduceat` sums sequentially and would change the last bits: with
the same values in the same order, every number equals parcellate's exactly, filters included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

MAX_DENSE_LABEL = 1 << 24  # above this a label-to-region table would waste memory: search instead
BLOCK = 1 << 20  # voxels looked up per step, so temporaries stay a few MB
SMALL_LABEL_BYTES = 2  # labels this narrow are looked up in a table of every value they can hold


@dataclass(frozen=True)
class Segments:
    """Contiguous runs of a grouped array: segment i is `values[starts[i]:ends[i]]`."""

    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def from_counts(cls, counts: np.ndarray) -> Segments:
        ends = np.cumsum(counts, dtype=np.int64)
        return cls(starts=ends - counts, ends=ends)

    @cached_property
    def counts(self) -> np.ndarray:
        return self.ends - self.starts

    def __len__(self) -> int:
        return len(self.starts)

    @cached_property
    def ids(self) -> np.ndarray:
        """The segment of every element."""
        return np.repeat(np.arange(len(self), dtype=np.intp), self.counts)

    def spread(self, per_segment: np.ndarray) -> np.ndarray:
        """A per-segment value repeated for every element of its segment."""
        return np.repeat(per_segment, self.counts)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """numpy's pairwise sum of every segment (0 for an empty one), exactly as np.sum gives it."""
        reduce = np.add.reduce
        bounds = zip(self.starts.tolist(), self.ends.tolist(), strict=True)
        return np.fromiter((reduce(values[start:end]) for start, end in bounds), np.float64, len(self))

    def select(self, values: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, Segments]:
        """The kept elements, still grouped and in order, with their segments."""
        counts = np.bincount(self.ids[keep], minlength=len(self))
        return values[keep], Segments.from_counts(counts)

    def sorted(self, values: np.ndarray) -> np.ndarray:
        """A copy with every segment sorted on its own (values must be free of NaN)."""
        out = values.copy()
        for start, end in zip(self.starts.tolist(), self.ends.tolist(), strict=True):
            if end - start > 1:
                out[start:end].sort()
        return out


def group_voxels(labels: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, Segments]:
    """Flat positions of the voxels of each region, grouped by region, and the regions' segments.

    `labels` is the integer label image, `indices` the regions' labels in table order. The positions
    (C-order flat indices) come region by region in table order, each region's in C order; no mask per
    region is ever held. The image is read in blocks of whole slices along its first axis, each block in
    C order whatever the image's memory order (nibabel's arrays are Fortran-ordered), so the volume is
    never copied whole into C order.
    """
    region_of = _region_lookup(indices, labels.dtype)
    labels = np.atleast_1d(labels)
    slice_size = int(np.prod(labels.shape[1:], dtype=np.int64))
    rows = max(1, BLOCK // max(1, slice_size))
    positions, regions = [], []
    for first in range(0, labels.shape[0], rows):
        found = region_of(labels[first : first + rows]).reshape(-1)
        inside = np.flatnonzero(found >= 0)
        positions.append(inside + first * slice_size)
        regions.append(found[inside])
    position = np.concatenate(positions) if positions else np.empty(0, np.int64)
    region = np.concatenate(regions) if regions else np.empty(0, np.int64)
    small = region.astype(np.uint16) if len(indices) <= np.iinfo(np.uint16).max else region
    order = np.argsort(small, kind="stable")  # radix sort for 16-bit keys: linear time
    return position[order], Segments.from_counts(np.bincount(region, minlength=len(indices)))


def take_flat(volume: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """`volume.reshape(-1)[positions]` for C-order flat positions, without first copying a Fortran-ordered
    volume (nibabel's) into C order: the positions are turned into its own memory order instead."""
    if volume.flags.c_contiguous or not volume.flags.f_contiguous:
        return volume.reshape(-1)[positions]
    own = np.ravel_multi_index(np.unravel_index(positions, volume.shape), volume.shape, order="F")
    return volume.reshape(-1, order="F")[own]


def _region_lookup(indices: np.ndarray, dtype: np.dtype) -> Callable[[np.ndarray], np.ndarray]:
    """A function from a block of label values to region numbers (-1 for background and unlisted labels).

    Labels of one or two bytes (most dseg images) index a table of every value they can hold, read
    through an unsigned view: one pass over the block, no range checks.
    """
    indices = np.asarray(indices, dtype=np.int64)
    if not indices.size:
        return lambda block: np.full(block.shape, -1, dtype=np.int64)
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and dtype.itemsize <= SMALL_LABEL_BYTES:
        unsigned = np.dtype(f"u{dtype.itemsize}")
        bounds = np.iinfo(dtype)
        held = (indices >= bounds.min) & (indices <= bounds.max)  # others never occur in such an image
        every_value = np.full(1 << (8 * dtype.itemsize), -1, dtype=np.int32)
        every_value[indices[held].astype(dtype).view(unsigned)] = np.flatnonzero(held)
        return lambda block: every_value[block.view(unsigned)]
    top = int(indices.max())
    if 0 < top < MAX_DENSE_LABEL and int(indices.min()) >= 0:
        table = np.full(top + 1, -1, dtype=np.int64)
        table[indices] = np.arange(indices.size)

        def dense(block: np.ndarray) -> np.ndarray:
            block = block.astype(np.int64, copy=False)
            valid = (block >= 0) & (block <= top)
            return np.where(valid, table[np.where(valid, block, 0)], -1)

        return dense
    order = np.argsort(indices)
    ordered = indices[order]

    def search(block: np.ndarray) -> np.ndarray:
        block = block.astype(np.int64, copy=False)
        at = np.minimum(np.searchsorted(ordered, block), ordered.size - 1)
        return np.where(ordered[at] == block, order[at], -1)

    return search
