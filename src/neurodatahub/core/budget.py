"""The memory budget: what a file declares is checked against it before anything is allocated.

A few kilobytes can declare gigabytes (an HDF5 dataset of 4e8 entries stored sparse, a 1600^3 NIfTI in
4 MB of gzip, an NPZ member that inflates a thousandfold). Every reader asks `require(bytes, what, url)`
before allocating what a file declares (streaming readers ask for one chunk), and decompression is held to
`MAX_RATIO` times its input beyond `RATIO_FLOOR` bytes, so a hostile file is refused in the time it takes
to read its header, with one line saying what it declared and how to raise the limit.

The budget is `--max-memory` (CLI), `max_memory=` (Python API), else NEURODATAHUB_MAX_MEMORY, else a
quarter of the machine's memory (or of the container's limit, when lower).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from neurodatahub.core import environment
from neurodatahub.core.errors import InputError, UsageError

MEMORY_VARIABLE = "NEURODATAHUB_MAX_MEMORY"
RATIO_VARIABLE = "NEURODATAHUB_MAX_RATIO"
DEFAULT_SHARE = 0.25  # of the machine's memory: a conversion holds a few copies of what it reads
MINIMUM_DEFAULT = 1 << 30  # small machines still read ordinary files
# decompressed data may be this many times its compressed size (real data: 1-20x, masks up to ~300x);
# below RATIO_FLOOR bytes anything goes, since that much memory is harmless
DEFAULT_RATIO = 500
RATIO_FLOOR = 256 << 20
# a stream is judged on what it has inflated so far against the compressed bytes consumed so far, once
# past this much: a bomb is refused within its first megabytes, not after making the whole limit
STREAM_RATIO_FLOOR = 4 << 20

_max_memory: ContextVar[int | None] = ContextVar("neurodatahub_max_memory", default=None)

UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]i?)?b?\s*$", re.IGNORECASE)


class BudgetError(InputError):
    """A file declares more than the hub may allocate for it (exit 2, like any unreadable input)."""


def parse_size(text: str | int | float, what: str = "a size") -> int:
    """Bytes from 4G, 512MiB, 1.5gb or a plain number (powers of 1000 for k/M/G/T, 1024 for Ki/Mi/Gi/Ti)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        number = float(text)
        if number > 0:
            return int(number)
        raise UsageError(f"{what} must be positive, got {text!r}")
    match = SIZE.match(str(text))
    if match is None or float(match.group(1)) <= 0:
        raise UsageError(f"{what} must be a positive size such as 4G, 512MiB or 2000000, got {text!r}")
    return int(float(match.group(1)) * UNITS[(match.group(2) or "").lower()])


def human(size: float) -> str:
    """1.5 GB, 800 MB, 12 kB: sizes in messages (powers of 1000, as --max-memory reads them)."""
    for unit, factor in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{int(size)} bytes"


@functools.cache
def machine_memory() -> int:
    """Physical memory, or the cgroup's limit when the hub runs in a smaller container (read once: every
    array read asks for the budget)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError), open(limit_file, encoding="ascii") as handle:
            total = min(total, int(handle.read().strip()))
    return total


def default_max_memory() -> int:
    return max(MINIMUM_DEFAULT, int(machine_memory() * DEFAULT_SHARE))


def max_memory() -> int:
    """The budget in force: the one set for this call (`limited`), else the variable, else the default."""
    chosen = _max_memory.get()
    if chosen is not None:
        return chosen
    from_environment = os.environ.get(MEMORY_VARIABLE)
    if from_environment:
        return parse_size(from_environment, MEMORY_VARIABLE)
    return default_max_memory()


def max_ratio() -> float:
    return environment.number(RATIO_VARIABLE, DEFAULT_RATIO, above=1)


@contextlib.contextmanager
def limited(size: str | int | None) -> Iterator[None]:
    """Run with another budget (None: keep the one in force); the Python API's `max_memory=`."""
    if size is None:
        yield
        return
    token = _max_memory.set(parse_size(size, "max_memory"))
    try:
        yield
    finally:
        _max_memory.reset(token)


def set_max_memory(size: str | int | None) -> None:
    """The budget for the rest of this context (the CLI's --max-memory, set once per command)."""
    if size is not None:
        _max_memory.set(parse_size(size, "--max-memory"))


HOW_TO_RAISE = f"raise it with --max-memory or {MEMORY_VARIABLE} if the machine has the memory"


def require(size: int | float, what: str, url: str) -> None:
    """Refuse, before allocating, `size` bytes that `url` declares for `what` when over the budget."""
    budget = max_memory()
    if size > budget:
        raise BudgetError(
            f"{url}: {what} declares {human(size)}, more than the memory budget of {human(budget)};"
            f" {HOW_TO_RAISE}"
        )


def require_array(shape: Any, dtype: Any, what: str, url: str, copies: float = 1) -> int:
    """`require` for an array of `shape` and `dtype` (held `copies` times); returns its size in bytes.

    Shapes come from files, so they are checked as Python integers: a negative or absurd dimension
    cannot wrap around as it would in a numpy product.
    """
    import numpy as np

    count = 1
    for dimension in shape:
        dimension = int(dimension)
        if dimension < 0:
            raise InputError(f"{url}: {what} declares a negative dimension ({tuple(shape)})")
        count *= dimension
    size = count * max(np.dtype(dtype).itemsize, 1)
    require(size * copies, what, url)
    return size


def require_inflation(
    inflated: int | float,
    compressed: int | float,
    what: str,
    url: str,
    floor: int | None = None,
    expected_ratio: float | None = None,
) -> None:
    """Refuse data that decompresses to more than `max_ratio()` times its stored size (past `floor`,
    RATIO_FLOOR by default): declared sizes are bounded by the budget, and this bounds what a small file
    may make of itself. A reader whose content cannot compress much gives `expected_ratio`, used unless
    NEURODATAHUB_MAX_RATIO is set."""
    ratio = (
        expected_ratio if expected_ratio is not None and not os.environ.get(RATIO_VARIABLE) else max_ratio()
    )
    if inflated > (RATIO_FLOOR if floor is None else floor) and inflated > ratio * max(compressed, 1):
        raise BudgetError(
            f"{url}: {what} inflates {human(compressed)} into {human(inflated)}, more than {ratio:g} times"
            f" (a decompression bomb?); raise {RATIO_VARIABLE} if the file is genuine"
        )
