"""The execution layer: one function over many items, here or on a real local Dask cluster, same outcomes."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from neurodatahub.core import execution
from neurodatahub.core.errors import ExitCode, Interrupted, InvalidDataError, StorageError, UsageError


def square(value: int, *, offset: int = 0) -> int:
    if value == 3:
        raise InvalidDataError(f"item {value} is invalid")
    if value == 5:
        raise ZeroDivisionError("a bug in a task")
    return value * value + offset


def flaky(marker: str) -> str:
    """Fails with a storage error the first time it sees a marker, succeeds the second time."""
    path = Path(marker)
    if not path.exists():
        path.write_text("seen")
        raise StorageError(f"{marker}: connection reset")
    return os.getpid() and "ok"


def pid(_: int) -> int:
    return os.getpid()


def with_task(value: int) -> tuple[int, str]:
    """The item and the key of the Dask task that ran it."""
    from distributed import get_worker

    if value == 150:
        raise InvalidDataError("item 150 is invalid")
    return value, get_worker().get_current_task()


class _InterruptedWhileCollected:
    def __del__(self) -> None:
        import signal

        signal.raise_signal(signal.SIGINT)  # Ctrl-C arriving while the garbage collector runs


def interrupted_in_a_finalizer(value: int) -> int:
    if value == 2:
        _InterruptedWhileCollected()  # its KeyboardInterrupt is printed and swallowed by Python
    return value


def test_outcomes_come_back_in_order_with_exit_codes() -> None:
    heard: list[int] = []
    outcomes = execution.map(
        square, range(7), jobs=1, shared={"offset": 1}, on_result=lambda outcome: heard.append(outcome.index)
    )
    assert [outcome.value for outcome in outcomes] == [1, 2, 5, None, 17, None, 37]
    assert heard == list(range(7))
    invalid, bug = outcomes[3], outcomes[5]
    assert (invalid.status, invalid.exit_code, invalid.error) == (
        "failed",
        ExitCode.INVALID,
        "item 3 is invalid",
    )
    assert (
        bug.exit_code == ExitCode.INTERNAL
        and bug.error == "internal error: ZeroDivisionError: a bug in a task"
    )
    with pytest.raises(InvalidDataError, match="item 3"):
        invalid.raise_failure()


def test_fail_fast_leaves_the_rest_not_run() -> None:
    outcomes = execution.map(square, [1, 3, 4], jobs=1, fail_fast=True)
    assert [outcome.status for outcome in outcomes] == ["done", "failed", "not run"]


def test_transient_storage_errors_are_retried(tmp_path: Path) -> None:
    markers = [str(tmp_path / f"m{n}") for n in range(2)]
    outcomes = execution.map(flaky, markers, jobs=1)
    assert [(outcome.value, outcome.attempts) for outcome in outcomes] == [("ok", 2), ("ok", 2)]
    again = [str(tmp_path / "never")]
    (outcome,) = execution.map(flaky, again, jobs=1, retries=0)
    assert outcome.exit_code == ExitCode.STORAGE and "connection reset" in outcome.error


def test_where_a_batch_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEURODATAHUB_JOBS", raising=False)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert execution.where(tasks=1).inline  # one task: no cluster
    assert execution.where(jobs=4, tasks=2) == execution.Where(None, 2)  # never more workers than tasks
    assert execution.where(tasks=100).workers == execution.machine_jobs()
    monkeypatch.setenv("NEURODATAHUB_JOBS", "3")
    assert execution.where(tasks=100).workers == 3
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://10.0.0.1:8786")
    assert execution.where(tasks=1).address == "tcp://10.0.0.1:8786"
    assert execution.where(scheduler="tcp://h:1").describe() == "the Dask cluster at tcp://h:1"
    for wrong in (0, -1, True):
        with pytest.raises(UsageError, match="at least 1"):
            execution.where(jobs=wrong)
    monkeypatch.setenv("NEURODATAHUB_JOBS", "many")
    with pytest.raises(UsageError, match="NEURODATAHUB_JOBS"):
        execution.where()


def test_hidden_values_never_print() -> None:
    secret = execution.Hidden({"key": "AKIA", "secret": "s3cr3t"})
    assert repr(secret) == str(secret) == "<hidden>" and "s3cr3t" not in repr([secret])
    assert pickle.loads(pickle.dumps(secret)).value["secret"] == "s3cr3t"


def test_a_local_cluster_gives_the_same_outcomes(tmp_path: Path) -> None:
    """Two worker processes (a real LocalCluster): values, errors with their types and codes, retries."""
    with execution.session(jobs=2, tasks=8) as runner:
        assert runner.where == execution.Where(None, 2)
        outcomes = runner.map(square, range(7), shared={"offset": 1})
        assert [outcome.value for outcome in outcomes] == [1, 2, 5, None, 17, None, 37]
        assert isinstance(outcomes[3].exception, InvalidDataError)  # the error itself came back
        assert outcomes[5].exit_code == ExitCode.INTERNAL
        retried = runner.map(flaky, [str(tmp_path / "a"), str(tmp_path / "b")])
        assert [outcome.value for outcome in retried] == ["ok", "ok"]
        pids = {outcome.value for outcome in runner.map(pid, range(8))}
        assert os.getpid() not in pids  # the work ran in the workers
        ordered = list(runner.imap(square, [1, 2, 4, 6], shared={"offset": 0}, window=1))
        assert [outcome.value for outcome in ordered] == [1, 4, 16, 36]


def test_group_sizes_aim_at_a_task_time_and_share_out_the_end() -> None:
    size = execution.group_size
    assert size(0.002, 10_000, 4) == int(execution.TASK_SECONDS / 0.002)  # enough for TASK_SECONDS
    assert size(0.002, 400, 4) == 100  # no more than each task in flight's share of what remains
    least = int(execution.LEAST_TASK_SECONDS / 0.002)
    assert size(0.002, 60, 4) == least  # at the end, no task shorter than LEAST_TASK_SECONDS...
    assert size(0.002, 7, 4) == 7  # ...nor larger than what remains
    assert size(1.0, 3, 4) == 1  # long items go one a task
    assert size(0.0, 5, 4) == 5  # items too fast to time


def test_short_items_share_tasks_on_a_cluster() -> None:
    """Grouped, items of a few microseconds run many to a Dask task (its round trips would outweigh them),
    each with its own outcome, in order; ungrouped, one task each. With fail-fast, the items after a
    failure in its task are not run."""
    items = [value for value in range(200) if value != 150]
    with execution.session(jobs=2, tasks=200) as runner:
        grouped = runner.map(with_task, items, group=True)
        single = runner.map(with_task, range(40))
        stopped = runner.map(with_task, range(200), group=True, fail_fast=True)
    assert [outcome.value[0] for outcome in grouped] == items
    assert len({outcome.value[1] for outcome in grouped}) < len(items) / 4
    assert len({outcome.value[1] for outcome in single}) == 40
    assert stopped[150].status == "failed" and stopped[150].exit_code == ExitCode.INVALID
    assert stopped[151].status == "not run"  # in the failed item's own task
    assert all(outcome.value[0] == outcome.index for outcome in stopped if outcome.ok)
    with pytest.raises(InvalidDataError, match="item 150"):
        execution.raise_first_failure(stopped)


def loaded(module: str) -> bool:
    import sys

    return module in sys.modules


def test_workers_of_a_running_cluster_import_the_hub_before_the_first_task() -> None:
    """`prepare` connects and has every worker import what the tasks will need, without waiting."""
    import logging
    import time

    from distributed import Client, LocalCluster

    module = "neurodatahub.datasets.manifest"  # nothing a fresh worker has loaded
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
    ):
        assert not any(client.run(loaded, module).values())
        with execution.session(scheduler=cluster.scheduler_address) as runner:
            runner.prepare([module])
            deadline = time.monotonic() + 30
            while not all(client.run(loaded, module).values()) and time.monotonic() < deadline:
                time.sleep(0.05)
        assert all(client.run(loaded, module).values()) and len(client.run(loaded, module)) == 2
    with execution.session(jobs=2, tasks=2) as runner:
        runner.prepare([module])  # a local cluster starts with the first batch, once its size is known
        assert runner._client is None


def test_a_scheduler_that_is_not_there_is_named_without_waiting_for_dask() -> None:
    """Dask retries a refused connection for its whole connect timeout (30 s); the hub says at once,
    after a few seconds of grace for a scheduler that is starting, that nothing listens there."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"  # free again once closed: nothing listens
    with pytest.raises(StorageError, match=f"^cannot reach the Dask scheduler at {address}: nothing listens"):
        execution.map(square, [1, 2], scheduler=address)


def test_sigterm_stops_an_inline_batch(tmp_path: Path) -> None:
    """SIGTERM becomes Interrupted (exit 130) once the running task's own cleanup has run."""
    import signal

    def stop_after_first(outcome: execution.Outcome) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted, match="after 1 of 3") as stopped:
        execution.map(square, [1, 2, 4], jobs=1, on_result=stop_after_first)
    assert stopped.value.exit_code == ExitCode.INTERRUPTED
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is the batch's only while it runs


def test_an_outcome_iterator_closed_in_another_thread_leaves_the_handlers_as_they_were() -> None:
    """The garbage collector may close an abandoned `imap` iterator in any thread, where handlers cannot
    be set back: closing must not fail there, and SIGTERM must then do what it did before the batch."""
    import signal
    import threading

    heard: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: heard.append(signum))
    try:
        outcomes = execution.imap(square, [1, 2, 4], jobs=1)
        assert next(outcomes).value == 1  # the batch has its handlers now
        failures: list[BaseException] = []

        def close() -> None:
            try:
                outcomes.close()
            except BaseException as error:  # the test reports whatever closing raised
                failures.append(error)

        closer = threading.Thread(target=close)
        closer.start()
        closer.join()
        assert failures == []
        signal.raise_signal(signal.SIGTERM)  # no KeyboardInterrupt from a batch that has ended
        assert heard == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


# the swallowed interrupt is neither printed ("Exception ignored ... Traceback") nor reported to pytest
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_ctrl_c_that_python_swallows_in_a_finalizer_still_stops_an_inline_batch() -> None:
    import sys

    hook = sys.unraisablehook
    with pytest.raises(Interrupted):
        execution.map(interrupted_in_a_finalizer, [1, 2, 3, 4], jobs=1)
    assert sys.unraisablehook is hook  # put back when the batch ends
