"""Dataset validation on the hub's execution layer (`core.execution`, the one batch conversion uses):
here, a local Dask cluster of `jobs` workers, or an existing cluster by address (`--scheduler`, or
DASK_SCHEDULER_ADDRESS).

Two choices are validation's own. Tasks go in chunks of files: a small file takes about 10 ms to
validate, less than a task's round trip. And a local run of fewer than IN_PROCESS_BELOW files stays in
this process: each worker process costs seconds of start-up and imports (about 4 s of CPU), which only
many files on free cores repay. On the shared 2-core machine of benchmarks/bench_validate_datasets.py
even 1,000 files do not: 18 s in one process, 31 s on 2 local workers (7 s and 14 s of CPU); a machine
with more free cores than that gains from them. Storage options travel as the layer's shared values,
hidden from Dask's logs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

IN_PROCESS_BELOW = 512
CHUNKS_PER_WORKER = 8  # a few chunks per worker: few round trips, still balanced between workers
MAX_CHUNK = 64


def run(
    function: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    shared: Mapping[str, Any] | None = None,
) -> Iterator[tuple[int, Any]]:
    """(position of the task, function(*task, **shared)) for each task, chunk by chunk in order.

    A task that fails on a bug (not on a file: files' problems are results) stops the run with its error.
    """
    from neurodatahub.core import execution

    place = execution.where(jobs, scheduler, len(tasks))
    if place.address is None and len(tasks) < IN_PROCESS_BELOW:
        jobs, place = 1, execution.Where(None, 1)
    chunks = _chunks(len(tasks), place.workers or 1)
    outcomes = execution.imap(
        _run_chunk,
        [(function, tasks[start:end]) for start, end in chunks],
        jobs=jobs if place.address is None else None,
        scheduler=place.address,
        shared={"shared": dict(shared or {})},
    )
    # closed here, at once, when the run stops early (a failure, a caller that stops reading): left to the
    # garbage collector, it would be closed in whatever thread collects it (a Dask thread), where its
    # signal handlers cannot be put back
    with contextlib.closing(outcomes):
        for (start, _), outcome in zip(chunks, outcomes, strict=True):
            outcome.raise_failure()
            for offset, result in enumerate(outcome.value):
                yield start + offset, result


def _chunks(count: int, workers: int) -> list[tuple[int, int]]:
    """(start, end) of consecutive chunks: a few per worker, each at most MAX_CHUNK tasks."""
    size = max(1, min(MAX_CHUNK, -(-count // (max(workers, 1) * CHUNKS_PER_WORKER))))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _run_chunk(
    chunk: tuple[Callable[..., Any], Sequence[tuple[Any, ...]]], shared: Mapping[str, Any]
) -> list:
    function, tasks = chunk
    return [function(*task, **shared) for task in tasks]
