"""One function over many items: in this process, on a local Dask cluster, or on a cluster by address.

The one execution layer of the hub. Batch conversion (`datasets`), dataset validation and the kinds'
big jobs (GSP1000 chunks, extraction over a QSIRecon tree, tract merging) hand it a module-level
function and a list of items; it runs `function(item, **shared)` for each and gives back one `Outcome`
per item, in the items' order:

    from neurodatahub.core import execution

    outcomes = execution.map(check_one, urls, shared={"storage_options": options},
                             jobs=None, scheduler=None, on_result=print)
    failed = [outcome for outcome in outcomes if not outcome.ok]   # .error, .exit_code

Where it runs (`where`): `scheduler` (or DASK_SCHEDULER_ADDRESS) submits to an existing Dask cluster,
so one started by dask-jobqueue (SLURM, PBS) or dask-kubernetes works unchanged; otherwise a local
Dask cluster of `jobs` worker processes (default NEURODATAHUB_JOBS, else the CPUs this process may use),
one thread each (HDF5 holds a global lock). One item, or `jobs=1`, runs here, without any cluster: a
cluster cannot make one task faster. The scheduler is always Dask's: the hub has none of its own.

Items that take little time each (small files) would spend more time in Dask's per-task round trips
than in their work, so `map(..., group=True)` lets one task run several items: their number follows the
time items have taken so far (a task aims at `TASK_SECONDS`, and leaves every worker work to the end,
but is never shorter than `LEAST_TASK_SECONDS`: `group_size`).
A task that is run again (its worker died) runs all its items again, so only work that may run twice
(reading, or writing targets the batch owns) is grouped.

A failure is an outcome, not an exception: hub errors keep their message and exit code, transient
storage errors are retried (`retries`), anything else is an internal error (exit code 70). A worker
that dies (killed, out of memory) has its task run again elsewhere by Dask. Ctrl-C and SIGTERM stop
the batch: pending tasks are cancelled, a local cluster is shut down, and `Interrupted` is raised;
`after_stop` runs once nothing the batch started can still be writing (to sweep temporary files a
killed worker could not remove). `shared` values (storage options with credentials) reach the tasks
wrapped in `Hidden`, whose repr is `<hidden>`: Dask's logs and the task names never show them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import os
import signal
import statistics
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neurodatahub.core import words
from neurodatahub.core.errors import ExitCode, HubError, Interrupted, StorageError, UsageError

JOBS_VARIABLE = "NEURODATAHUB_JOBS"
SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"
DEFAULT_RETRIES = 2  # transient storage failures (network, throttling) of one task
RETRY_BACKOFF_SECONDS = 0.5
TRANSIENT = (StorageError, ConnectionError, TimeoutError)
CONNECT_TIMEOUT = "30s"
# a scheduler that refuses connections this long is not there (one just starting refuses for a moment)
REFUSED_SECONDS = 3.0
POLL_SECONDS = 0.05  # how often a batch on a cluster looks for results and for Ctrl-C/SIGTERM
# A grouped task aims at this much work: a cluster's per-task cost (scheduler, client and worker round
# trips) is about 15 ms on 2 busy cores, so tasks of one 20 ms file spent 40% of the batch in it
TASK_SECONDS = 0.25
# nor less than this, even at the end of a batch: a task shorter than a round trip costs more in idle
# workers than it gains in balance (measured: 200 small files, 4-5% faster on 1 and on 2 workers)
LEAST_TASK_SECONDS = 0.05
TIMINGS_KEPT = 64  # recent item times behind a group's size

DONE, FAILED, NOT_RUN = "done", "failed", "not run"


@dataclass(frozen=True)
class Outcome:
    """What became of one item: its value, or why it failed (one line and an exit code), or not run."""

    index: int
    item: Any
    status: str = DONE
    value: Any = None
    error: str | None = None
    exit_code: int = ExitCode.OK
    attempts: int = 1
    exception: BaseException | None = None  # the error itself, when it could cross from the worker

    @property
    def ok(self) -> bool:
        return self.status == DONE

    def raise_failure(self) -> None:
        """Raise the task's error here: the original exception when it came back, else a HubError with the
        task's message and exit code (for jobs that stop at the first failure, as their sequential run)."""
        if self.status == DONE:
            return
        if self.exception is not None:
            raise self.exception
        failure = HubError(self.error or "not run")
        failure.exit_code = self.exit_code or ExitCode.INTERNAL
        raise failure


class Hidden:
    """A value tasks need that must never be printed (credentials): its repr is `<hidden>`."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<hidden>"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        return (Hidden, (self.value,))


def raise_first_failure(outcomes: Iterable[Outcome]) -> None:
    """Raise the error of the first failed item (in the items' order), as a sequential run would have;
    items left `not run` by a stop at another's failure do not count."""
    outcomes = list(outcomes)
    for outcome in outcomes:
        if outcome.status == FAILED:
            outcome.raise_failure()
    for outcome in outcomes:
        outcome.raise_failure()


@dataclass(frozen=True)
class Where:
    """Where a batch runs: here (`address` None, `workers` 1), a local cluster, or a cluster by address."""

    address: str | None
    workers: int

    @property
    def inline(self) -> bool:
        return self.address is None and self.workers == 1

    def describe(self) -> str:
        if self.address:
            return f"the Dask cluster at {self.address}"
        if self.inline:
            return "this process"
        return f"a local Dask cluster of {self.workers} workers"


def machine_jobs() -> int:
    """The CPUs this process may run on (affinity and cgroup-pinned sets included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def where(jobs: int | None = None, scheduler: str | None = None, tasks: int | None = None) -> Where:
    """Where `tasks` tasks run: `scheduler` or DASK_SCHEDULER_ADDRESS, else `jobs` local workers
    (NEURODATAHUB_JOBS, else the machine's CPUs), never more than there are tasks; one means here."""
    address = scheduler or os.environ.get(SCHEDULER_VARIABLE) or None
    if jobs is None and os.environ.get(JOBS_VARIABLE):
        try:
            jobs = int(os.environ[JOBS_VARIABLE])
        except ValueError:
            raise UsageError(
                f"{JOBS_VARIABLE} must be a whole number, got {os.environ[JOBS_VARIABLE]!r}"
            ) from None
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise UsageError(f"the number of jobs must be a whole number of at least 1, got {jobs!r}")
    if address:
        return Where(address, jobs or 0)
    workers = jobs or machine_jobs()
    if tasks is not None:
        workers = max(1, min(workers, tasks))
    return Where(None, workers)


class Runner:
    """Runs batches in one place; a local cluster starts with the first batch that needs one and
    stops with the session (`session`), so that planning and doing share one start-up."""

    def __init__(self, place: Where, announce: Callable[[str], None] | None) -> None:
        self.where = place
        self._announce = announce
        self._stack = contextlib.ExitStack()
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            self._client = self._stack.enter_context(_client(self.where, self._announce))
        return self._client

    def close(self) -> None:
        self._client = None
        self._stack.close()

    def prepare(self, modules: Sequence[str]) -> None:
        """On a running cluster (an address): connect now, and have every worker import `modules`
        without waiting, so that the workers load the hub while the caller lists its inputs instead of
        in the first tasks (on a shared file system of a cluster, imports can take seconds)."""
        if self.where.address is None:
            return  # a local cluster starts once the number of tasks is known (`where`)
        self.client().run(_import_modules, list(modules), wait=False)

    def map(
        self,
        function: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Mapping[str, Any] | None = None,
        retries: int = DEFAULT_RETRIES,
        on_result: Callable[[Outcome], None] | None = None,
        fail_fast: bool = False,
        after_stop: Callable[[], None] | None = None,
        group: bool = False,
    ) -> list[Outcome]:
        """`function(item, **shared)` for every item; one Outcome per item, in order (see `map`)."""
        items = list(items)
        task = functools.partial(_attempt, function, Hidden(dict(shared or {})), retries, words.in_cli())
        outcomes: list[Outcome | None] = [None] * len(items)

        def record(outcome: Outcome) -> bool:
            outcomes[outcome.index] = outcome
            if on_result is not None:
                on_result(outcome)
            return fail_fast and not outcome.ok

        settled = True
        here = self.where.inline or (len(items) < 2 and self.where.address is None)
        with _stoppable(at_once=here) as stop:
            try:
                if here:
                    for index, item in enumerate(items):
                        if record(_outcome(index, item, task(item))):
                            break
                        stop.check()
                else:
                    grouping = _Grouping(self.client()) if group else None
                    finished = _map_on_cluster(
                        self.client(), task, items, record, _name(function), stop, fail_fast, grouping
                    )
                    if not finished and self.where.address is None:
                        self.close()  # stopped early: our own workers stop with what they were doing
                    settled = finished or self.where.address is None
            except KeyboardInterrupt:
                settled = self.where.address is None  # a cluster's workers finish their running tasks
                self.close()  # a local cluster's workers stop now, before anything is swept
                raise Interrupted(_interrupted_message(outcomes)) from None
            finally:
                if after_stop is not None and settled:
                    after_stop()
        return [
            outcome if outcome is not None else Outcome(index, items[index], NOT_RUN)
            for index, outcome in enumerate(outcomes)
        ]

    def imap(
        self,
        function: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Mapping[str, Any] | None = None,
        retries: int = DEFAULT_RETRIES,
        window: int | None = None,
    ) -> Iterator[Outcome]:
        """The outcomes of `map` in the items' order, each as soon as it is ready, with at most `window`
        tasks (default: twice the workers) computed ahead: for results too large to hold together that
        the caller consumes in order (bundles merged into one file). Closing the iterator cancels the rest."""
        items = list(items)
        task = functools.partial(_attempt, function, Hidden(dict(shared or {})), retries, words.in_cli())
        here = self.where.inline or (len(items) < 2 and self.where.address is None)
        with _stoppable(at_once=here) as stop:
            try:
                if here:
                    for index, item in enumerate(items):
                        yield _outcome(index, item, task(item))
                        stop.check()
                    return
                client = self.client()
                ahead = window or 2 * max(1, _worker_count(client))
                name, token = _name(function), uuid.uuid4().hex[:8]
                upcoming = iter(enumerate(items))
                pending: deque[tuple[int, Any, Any]] = deque()

                def submit_next() -> None:
                    following = next(upcoming, None)
                    if following is not None:
                        at, item = following
                        pending.append((at, item, _submit(client, task, item, name, token, at)))

                for _ in range(ahead):
                    submit_next()
                try:
                    while pending:
                        index, item, future = pending.popleft()
                        while not future.done():
                            stop.check()
                            time.sleep(POLL_SECONDS)
                        outcome = _collected(index, item, future)
                        submit_next()
                        yield outcome
                finally:
                    for _, _, future in pending:
                        future.cancel()
            except KeyboardInterrupt:
                self.close()
                raise Interrupted("interrupted") from None


@contextlib.contextmanager
def session(
    jobs: int | None = None,
    scheduler: str | None = None,
    *,
    tasks: int | None = None,
    announce: Callable[[str], None] | None = None,
) -> Iterator[Runner]:
    """A Runner for several batches in the same place (`where(jobs, scheduler, tasks)`)."""
    runner = Runner(where(jobs, scheduler, tasks), announce)
    try:
        yield runner
    finally:
        runner.close()


def map(
    function: Callable[..., Any],
    items: Iterable[Any],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    shared: Mapping[str, Any] | None = None,
    retries: int = DEFAULT_RETRIES,
    on_result: Callable[[Outcome], None] | None = None,
    fail_fast: bool = False,
    announce: Callable[[str], None] | None = None,
    after_stop: Callable[[], None] | None = None,
    group: bool = False,
) -> list[Outcome]:
    """`function(item, **shared)` for every item; one Outcome per item, in order (see the module doc).

    `function` must be importable by workers (a module-level function). `on_result` hears each outcome
    as it comes (in completion order); `fail_fast` stops at the first failure, the rest `not run`.
    `announce` hears where the batch runs and, on a cluster, its dashboard address. `after_stop` runs
    once no task of the batch can still be writing. `group` lets one task run several short items (see
    the module doc): only for work that may run twice.
    """
    items = list(items)
    with session(jobs, scheduler, tasks=len(items), announce=announce) as runner:
        return runner.map(
            function,
            items,
            shared=shared,
            retries=retries,
            on_result=on_result,
            fail_fast=fail_fast,
            after_stop=after_stop,
            group=group,
        )


def imap(
    function: Callable[..., Any],
    items: Iterable[Any],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    shared: Mapping[str, Any] | None = None,
    retries: int = DEFAULT_RETRIES,
    window: int | None = None,
    announce: Callable[[str], None] | None = None,
) -> Iterator[Outcome]:
    """`Runner.imap` in its own session: ordered outcomes, a bounded number computed ahead."""
    items = list(items)
    with session(jobs, scheduler, tasks=len(items), announce=announce) as runner:
        yield from runner.imap(function, items, shared=shared, retries=retries, window=window)


def _name(function: Callable[..., Any]) -> str:
    """A task name from the function only: names show in dashboards and logs, so never the data."""
    return getattr(function, "__name__", "task").strip("_") or "task"


def _attempt(function: Callable[..., Any], shared: Hidden, retries: int, in_cli: bool, item: Any) -> tuple:
    """Run one item where the task runs; every failure comes back as data, so that Dask never logs the
    task's arguments ("Compute Failed") and a hub error keeps its exit code across processes. Messages
    are worded as the caller's were (`hub`'s flags or Python's keywords, core.words): a worker is another
    process or thread, where the caller's wording is not set."""
    with words.cli_words() if in_cli else contextlib.nullcontext():
        return _attempts(function, shared, retries, item)


def _attempts(function: Callable[..., Any], shared: Hidden, retries: int, item: Any) -> tuple:
    attempt = 0
    while True:
        attempt += 1
        try:
            return (DONE, function(item, **shared.value), None, ExitCode.OK, attempt, None)
        except TRANSIENT as error:
            if attempt <= retries:
                time.sleep(RETRY_BACKOFF_SECONDS * attempt)
                continue
            code = error.exit_code if isinstance(error, HubError) else ExitCode.STORAGE
            return (FAILED, None, _one_line(str(error)), code, attempt, _portable(error))
        except HubError as error:
            return (FAILED, None, _one_line(str(error)), error.exit_code, attempt, _portable(error))
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as error:  # a bug in a task: reported with the others, never a lost batch
            message = f"internal error: {type(error).__name__}: {_one_line(str(error))}"
            return (FAILED, None, message, ExitCode.INTERNAL, attempt, None)


def _portable(error: BaseException) -> BaseException | None:
    """The error if it survives pickling (to travel back from a worker), else None: its message and exit
    code travel anyway (an error whose constructor takes more than its message cannot be rebuilt)."""
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return None
    return error


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _outcome(index: int, item: Any, result: tuple) -> Outcome:
    status, value, error, code, attempts, exception = result
    return Outcome(index, item, status, value, error, code, attempts, exception)


def _interrupted_message(outcomes: list[Outcome | None]) -> str:
    done = sum(1 for outcome in outcomes if outcome is not None)
    return f"interrupted after {done} of {len(outcomes)} tasks"


def _map_on_cluster(
    client: Any,
    task: Callable[[Any], tuple],
    items: list[Any],
    record: Callable[[Outcome], bool],
    name: str,
    stop: _Stop,
    fail_fast: bool,
    grouping: _Grouping | None,
) -> bool:
    """Submit the items (one a task, or grouped), record outcomes as they complete; True when none was
    left running. Ungrouped, every task is submitted at once; grouped, a few per worker are in flight,
    so that each new group's size follows the items' times so far."""
    token = uuid.uuid4().hex[:8]
    upcoming = deque(range(len(items)))
    running: dict[Any, list[int]] = {}
    finished: deque[Any] = deque()  # appended by Dask's callback thread
    arrived = threading.Event()

    def arrive(future: Any) -> None:
        finished.append(future)
        arrived.set()

    def submit() -> None:
        while upcoming and (grouping is None or len(running) < grouping.in_flight()):
            size = grouping.size(len(upcoming)) if grouping is not None else 1
            indices = [upcoming.popleft() for _ in range(min(size, len(upcoming)))]
            future = client.submit(
                _run_group,
                task,
                [items[index] for index in indices],
                fail_fast,
                key=f"{name}-{token}-{indices[0]}",
                pure=False,
            )
            running[future] = indices
            future.add_done_callback(arrive)

    try:
        submit()
        while running:
            stop.check()
            arrived.wait(POLL_SECONDS)
            arrived.clear()
            while finished:
                future = finished.popleft()
                indices = running.pop(future)
                results = _group_results(future, len(indices))
                if grouping is not None:
                    grouping.learn([seconds for _, seconds in results])
                for index, (result, _) in zip(indices, results, strict=False):  # fail-fast: fewer
                    if record(_outcome(index, items[index], result)):
                        return False  # stopped early: tasks already running finish on their workers
            submit()
        return True
    finally:
        for future in running:
            if not future.done():
                future.cancel()


class _Grouping:
    """How many items the next task takes (`group_size`), from the median time of the items so far (one
    item until any has finished); two tasks a worker are in flight."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._seconds: deque[float] = deque(maxlen=TIMINGS_KEPT)
        self._workers = 1
        self._counted = -1.0

    def workers(self) -> int:
        now = time.monotonic()
        if now - self._counted > 1:  # a cluster that scales (dask-jobqueue) changes its size
            self._workers, self._counted = max(1, _worker_count(self._client)), now
        return self._workers

    def in_flight(self) -> int:
        return 2 * self.workers()

    def size(self, remaining: int) -> int:
        if not self._seconds:
            return 1
        return group_size(statistics.median(self._seconds), remaining, self.in_flight())

    def learn(self, seconds: list[float]) -> None:
        self._seconds.extend(seconds)


def group_size(typical_seconds: float, remaining: int, in_flight: int) -> int:
    """Items for the next task: enough for `TASK_SECONDS` of work, yet no more than leaves each task in
    flight its share of what remains, so that the workers finish together; never less than
    `LEAST_TASK_SECONDS` of work (nor more than remains)."""
    typical = max(typical_seconds, 1e-6)
    wanted = min(int(TASK_SECONDS / typical), remaining // max(in_flight, 1))
    return max(1, min(remaining, max(wanted, int(LEAST_TASK_SECONDS / typical))))


def _run_group(task: Callable[[Any], tuple], items: list[Any], fail_fast: bool) -> list[tuple[tuple, float]]:
    """Run items one after the other where the task runs, each result with its time; with `fail_fast`
    the items after a failure are not run (they come back missing)."""
    results = []
    for item in items:
        started = time.perf_counter()
        result = task(item)
        results.append((result, time.perf_counter() - started))
        if fail_fast and result[0] != DONE:
            break
    return results


def _group_results(future: Any, count: int) -> list[tuple[tuple, float]]:
    """The results of a finished task; a task whose workers kept dying fails for each of its items."""
    try:
        return future.result()
    except Exception as error:
        failed = (FAILED, None, *_lost(error), 1, None)
        return [(failed, 0.0)] * count


def _lost(error: BaseException) -> tuple[str, int]:
    """Why a task came back with no result: its message and exit code."""
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return "the workers running it died every time (out of memory?)", ExitCode.OUTPUT
    return f"{type(error).__name__}: {_one_line(str(error))}", ExitCode.INTERNAL


def _submit(client: Any, task: Callable[[Any], tuple], item: Any, name: str, token: str, index: int) -> Any:
    return client.submit(task, item, key=f"{name}-{token}-{index}", pure=False)


def _collected(index: int, item: Any, future: Any) -> Outcome:
    """The outcome of a finished future of one item."""
    try:
        return _outcome(index, item, future.result())
    except Exception as error:
        message, code = _lost(error)
        return Outcome(index, item, FAILED, error=message, exit_code=code)


async def _import_modules(modules: list[str]) -> None:
    """Imports on a worker, in a thread of its own: the worker's event loop (heartbeats, tasks arriving)
    goes on meanwhile, and a task needing a module still loading waits for it (Python's import lock).
    A coroutine, as Dask runs functions on workers without waiting only if they are."""
    import asyncio

    def load() -> None:
        for module in modules:
            importlib.import_module(module)

    await asyncio.get_running_loop().run_in_executor(None, load)


def _worker_count(client: Any) -> int:
    return len(client.scheduler_info().get("workers", {}))


@contextlib.contextmanager
def _client(place: Where, announce: Callable[[str], None] | None) -> Iterator[Any]:
    """A Dask client on the cluster at `place.address`, or on a local cluster started and stopped here."""
    import dask
    from distributed import Client, LocalCluster

    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the batch reports its own failures; no worker chatter on stderr
    try:
        settings = {
            "distributed.comm.timeouts.connect": CONNECT_TIMEOUT,
            # Dask's statistical profiler samples every worker thread 100 times a second: with tasks of a
            # fraction of a second it costs more than they do (measured: 60 small conversions on one
            # worker 4.4 s with it, 2.6 s without, 2.4 s in one process); our own workers go without
            "distributed.worker.profile.enabled": False,
        }
        with dask.config.set(settings):
            if place.address:
                _check_listening(place.address)
                try:
                    client = Client(place.address, timeout=CONNECT_TIMEOUT)
                except OSError as error:
                    raise StorageError(
                        f"cannot reach the Dask scheduler at {place.address}: {error}"
                    ) from None
                cluster = None
            else:
                cluster = LocalCluster(
                    n_workers=place.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # a free port: never a clash with a running cluster
                    silence_logs=logging.ERROR,
                )
                client = Client(cluster)
        try:
            if announce is not None:
                dashboard = client.dashboard_link if place.address else None
                where_to = f"on {place.describe()}" + (f", dashboard {dashboard}" if dashboard else "")
                announce(f"running {where_to}")
            yield client
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    finally:
        quiet.setLevel(level)


def _check_listening(address: str) -> None:
    """Fail at once, naming the address, when its host is unknown or nothing listens there: Dask retries
    such connections for its whole connect timeout (30 s) before saying so. Anything else (a firewall that
    drops packets, a scheme other than tcp or tls) is left to Dask's own connection."""
    import socket

    scheme, _, location = address.rpartition("://")
    host, _, port = location.rpartition(":")
    if scheme not in ("", "tcp", "tls") or not host or not port.isdigit():
        return
    deadline = time.monotonic() + REFUSED_SECONDS
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=REFUSED_SECONDS):
                return
        except socket.gaierror as error:
            raise StorageError(
                f"cannot reach the Dask scheduler at {address}: unknown host ({error})"
            ) from None
        except ConnectionRefusedError:
            if time.monotonic() >= deadline:
                refused = "nothing listens there (connection refused)"
                raise StorageError(f"cannot reach the Dask scheduler at {address}: {refused}") from None
            time.sleep(0.2)
        except OSError:
            return


class _Stop:
    """Ctrl-C or SIGTERM seen while a batch runs."""

    def __init__(self) -> None:
        self.signalled = False

    def check(self) -> None:
        if self.signalled:
            raise KeyboardInterrupt


@contextlib.contextmanager
def _stoppable(at_once: bool) -> Iterator[_Stop]:
    """Ctrl-C and SIGTERM stop a batch, then its cleanup runs (temporary files, the cluster).

    Tasks run here (`at_once`) are stopped where they are: KeyboardInterrupt is raised in them, so their
    own cleanup (atomic writes) runs, and SIGTERM does what Ctrl-C does; the signal is noted as well, so
    one whose KeyboardInterrupt Python swallows (raised inside a garbage-collection callback, where it
    is only printed) still stops the batch after the running task. A batch on a cluster only notes
    the signal and the loop waiting for results stops at once: an exception raised into Dask's client
    code could be swallowed there (a garbage-collection callback) or leave it half-updated. The previous
    handlers come back afterwards.
    """
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    handled = (signal.SIGTERM, signal.SIGINT)
    previous: dict[int, Any] = {}
    ended = False

    def note(signum: int, frame: Any) -> None:
        if ended:  # left installed by a batch closed in another thread: behave as the handler it replaced
            _handle_as(previous[signum], signum, frame)
            return
        stop.signalled = True
        if at_once:
            raise KeyboardInterrupt

    def unraisable(report: Any) -> None:
        # a KeyboardInterrupt `note` raised inside a weakref or garbage-collection callback, which Python
        # cannot propagate and would print as "Exception ignored ... Traceback": the signal is noted, so
        # the batch stops after the running task; other unraisable errors are reported as before
        if not (stop.signalled and isinstance(report.exc_value, KeyboardInterrupt)):
            previous_hook(report)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    previous.update({signum: signal.signal(signum, note) for signum in handled})
    try:
        yield stop
    finally:
        ended = True
        sys.unraisablehook = previous_hook
        # An iterator of `imap` closed by the garbage collector ends here in whatever thread collected
        # it, where handlers cannot be set: `note` then stands in for the previous handler.
        if threading.current_thread() is threading.main_thread():
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _handle_as(handler: Any, signum: int, frame: Any) -> None:
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)


__all__ = [
    "DONE",
    "FAILED",
    "NOT_RUN",
    "Hidden",
    "Outcome",
    "Runner",
    "Where",
    "imap",
    "machine_jobs",
    "map",
    "session",
    "where",
]
