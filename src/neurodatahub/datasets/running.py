"""Running one pure function over many items, on Dask: a local cluster of `jobs` processes by default, an
existing cluster with a scheduler address (`--scheduler`, or DASK_SCHEDULER_ADDRESS).

The place where dataset validation meets the execution layer batch conversion uses: `run` takes a
picklable function and its items and yields results as they finish, in whatever order. Few items (or one
job) run in this process: starting worker processes costs more than validating a few hundred files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

# tasks under which a local run stays in this process: each worker process costs 2-4 s of start-up and
# imports, a small file about 10 ms to validate, so two workers win only past several hundred files
# (benchmarks/bench_validate_datasets.py: 160 files take 5 s here and 18 s on 2 local workers)
IN_PROCESS_BELOW = 512
CHUNKS_PER_WORKER = 8  # tasks go in chunks: fewer round trips, still balanced between workers
MAX_CHUNK = 64


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run(
    function: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """(position of the task, function(*task)) for each task, as each completes (in chunks on Dask)."""
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    jobs = jobs or default_jobs()
    if scheduler is None and (jobs == 1 or len(tasks) < IN_PROCESS_BELOW):
        for position, task in enumerate(tasks):
            yield position, function(*task)
        return
    yield from _on_dask(function, tasks, jobs, scheduler)


def _on_dask(
    function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], jobs: int, scheduler: str | None
) -> Iterator[tuple[int, Any]]:
    import logging

    from distributed import Client, LocalCluster, as_completed

    if scheduler is not None:
        cluster, client = None, Client(scheduler, timeout="30s")
    else:
        # ":0": the scheduler's HTTP endpoints on a free port, not a warning about a busy 8787
        cluster = LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        )
        client = Client(cluster)
    try:
        chunks = _chunks(len(tasks), jobs if scheduler is None else _workers(client))
        futures = client.map(
            _run_chunk, [function] * len(chunks), [tasks[start:end] for start, end in chunks], pure=False
        )
        start_of = {future.key: start for future, (start, _) in zip(futures, chunks, strict=True)}
        for future, results in as_completed(futures, with_results=True):
            for offset, result in enumerate(results):
                yield start_of[future.key] + offset, result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _chunks(count: int, workers: int) -> list[tuple[int, int]]:
    """(start, end) of consecutive chunks: a few per worker, each at most MAX_CHUNK tasks."""
    size = max(1, min(MAX_CHUNK, -(-count // (max(workers, 1) * CHUNKS_PER_WORKER))))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _workers(client: Any) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


def _run_chunk(function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> list[Any]:
    return [function(*task) for task in tasks]
