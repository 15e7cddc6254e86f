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
        return per_segment[self.ids]

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
    come region by region in table order, each region's in C order; no mask per region is ever held.
    """
    flat = labels.reshape(-1)
    region_of = _region_lookup(indices)
    positions, regions = [], []
    for start in range(0, flat.size, BLOCK):
        found = region_of(flat[start : start + BLOCK])
        inside = np.flatnonzero(found >= 0)
        positions.append(inside + start)
        regions.append(found[inside])
    position = np.concatenate(positions) if positions else np.empty(0, np.int64)
    region = np.concatenate(regions) if regions else np.empty(0, np.int64)
    small = region.astype(np.uint16) if len(indices) <= np.iinfo(np.uint16).max else region
    order = np.argsort(small, kind="stable")  # radix sort for 16-bit keys: linear time
    return position[order], Segments.from_counts(np.bincount(region, minlength=len(indices)))


def _region_lookup(indices: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function from label values to region numbers (-1 for background and unlisted labels)."""
    indices = np.asarray(indices, dtype=np.int64)
    if not indices.size:
        return lambda block: np.full(block.shape, -1, dtype=np.int64)
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
