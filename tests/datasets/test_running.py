"""Dataset validation's use of the execution layer, in this process (the Dask runs are in
test_validate_cluster.py): every task's result at its position, the shared values passed to each task,
and a bug in a task stopping the run with its error rather than becoming a file's problem."""

from __future__ import annotations

import gc
import sys
import threading

import pytest

from neurodatahub.core.errors import ExitCode, HubError, StorageError
from neurodatahub.datasets import running


def _scaled(value: int, offset: int, *, factor: int) -> int:
    return value * factor + offset


def test_every_result_at_its_position_with_the_shared_values() -> None:
    tasks = [(value, 1) for value in range(300)]
    results = dict(running.run(_scaled, tasks, jobs=1, shared={"factor": 3}))
    assert results == {position: position * 3 + 1 for position in range(300)}


def test_chunks_cover_every_task_once_and_stay_small() -> None:
    for count in (0, 1, 7, 64, 513, 10_000):
        chunks = running._chunks(count, 2)
        covered = [position for start, end in chunks for position in range(start, end)]
        assert covered == list(range(count))
        assert all(0 < end - start <= running.MAX_CHUNK for start, end in chunks)


def _buggy(value: int) -> int:
    if value == 5:
        raise KeyError("a bug")
    return value


def _storage_fails(value: int) -> int:
    raise StorageError(f"bucket gone while reading {value}")


def test_a_bug_in_a_task_stops_the_run_as_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    unraisable: list = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(HubError) as raised:
        list(running.run(_buggy, [(value,) for value in range(10)], jobs=1))
    assert raised.value.exit_code == ExitCode.INTERNAL
    assert "KeyError" in str(raised.value) and "a bug" in str(raised.value)
    del raised
    # the run closed what it started in this thread: garbage collected in another (a Dask thread), the
    # execution layer could not put its signal handlers back
    collector = threading.Thread(target=gc.collect)
    collector.start()
    collector.join()
    assert [str(hook.exc_value) for hook in unraisable] == []


def test_a_hub_error_of_a_task_keeps_its_type_and_exit_code() -> None:
    with pytest.raises(StorageError, match="bucket gone") as raised:
        list(running.run(_storage_fails, [(1,)], jobs=1, shared={}))
    assert raised.value.exit_code == ExitCode.STORAGE
