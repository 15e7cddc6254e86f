"""Vectorised whole-array checks that stay within bounded memory.

Each check walks a 1D view in blocks, so a 100 M element array is never copied and never visited
element by element in Python; the temporary boolean arrays are one block long.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

BLOCK = 1 << 18  # 256 k elements per block: 2 MB of float64, stays in cache between passes


def blocks(values: np.ndarray, overlap: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start, block) over the flattened array; consecutive blocks share `overlap` elements."""
    flat = values.reshape(-1)
    for start in range(0, max(flat.size - overlap, 1), BLOCK):
        yield start, flat[start : start + BLOCK + overlap]


def all_finite(values: np.ndarray) -> bool:
    if values.dtype.kind not in "fc":
        return True
    return all(np.isfinite(block).all() for _, block in blocks(values))


def descents(values: np.ndarray) -> np.ndarray:
    """Positions i where values[i] < values[i - 1] (a 1D array's sort breaks)."""
    found = [start + 1 + np.flatnonzero(np.diff(block) < 0) for start, block in blocks(values, overlap=1)]
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def scan_times(values: np.ndarray) -> tuple[int | None, np.ndarray]:
    """First non-finite position and all descents, in one pass over cache-sized blocks.

    A finite block sum proves every element finite (NaN and inf propagate), which is cheaper than an
    element-wise test; only a block whose sum is not finite (or overflowed) is examined element-wise.
    """
    found = []
    for start, block in blocks(values, overlap=1):
        if not np.isfinite(np.add.reduce(block)):
            finite = np.isfinite(block)
            if not finite.all():
                return start + int(np.flatnonzero(~finite)[0]), np.empty(0, dtype=np.int64)
        down = block[1:] < block[:-1]
        if down.any():
            found.append(start + 1 + np.flatnonzero(down))
    return None, (np.concatenate(found) if found else np.empty(0, dtype=np.int64))


def breaks(values: np.ndarray) -> np.ndarray:
    """Positions i where values[i] >= values[i - 1] does not hold: descents and NaNs, in one pass.

    Where no position breaks, the array is sorted and holds no NaN, so one comparison per element
    proves both; `scan_times` tells the two apart when something does break.
    """
    found = []
    for start, block in blocks(values, overlap=1):
        rising = block[1:] >= block[:-1]
        if not rising.all():
            found.append(start + 1 + np.flatnonzero(~rising))
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def in_sorted(values: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """np.isin(values, ordered) for an `ordered` that is sorted: a binary search per value, and no
    import of numpy.ma, which np.isin costs on its first call (~50 ms in every conversion)."""
    values, ordered = np.asarray(values), np.asarray(ordered)
    if ordered.size == 0:
        return np.zeros(values.shape, dtype=bool)
    where = np.minimum(np.searchsorted(ordered, values), ordered.size - 1)
    return ordered[where] == values


def is_nondecreasing(values: np.ndarray) -> bool:
    return descents(values).size == 0


def is_binary(values: np.ndarray) -> bool:
    return all(((block == 0) | (block == 1)).all() for _, block in blocks(values))


def count_nonzero(values: np.ndarray) -> int:
    return sum(int(np.count_nonzero(block)) for _, block in blocks(values))


def min_max(values: np.ndarray) -> tuple[float, float] | None:
    if values.size == 0:
        return None
    lows, highs = zip(*((block.min(), block.max()) for _, block in blocks(values)), strict=True)
    return min(lows), max(highs)


def has_duplicates(values: np.ndarray) -> bool:
    """Duplicates among ids and labels (arrays of at most a few million entries); NaNs count as equal.

    Equal neighbours once sorted, rather than np.unique: numpy 2's unique imports numpy.ma on its first
    call (~50 ms, paid by every conversion, which checks its unit ids).
    """
    flat = np.asarray(values).reshape(-1)
    if flat.dtype.kind == "O":  # Python objects: only unique knows how to order them
        return np.unique(flat).size != flat.size
    ordered = np.sort(flat)
    if ordered.dtype.kind in "fc":
        missing = np.isnan(ordered)
        if np.count_nonzero(missing) > 1:
            return True
        ordered = ordered[~missing]
    return bool((ordered[1:] == ordered[:-1]).any())
