"""A run that a failing task stops puts the process's signal handlers back at once, in the caller's thread
(left to the garbage collector, the execution layer restored them from whichever thread collected it and
failed there: `signal only works in main thread`, reported by pytest in a later test)."""

from __future__ import annotations

import signal

import pytest

from neurodatahub.core.errors import HubError
from neurodatahub.datasets import running


def _buggy(value: int) -> int:
    if value == 5:
        raise KeyError("a bug")
    return value


def test_a_stopped_run_restores_the_signal_handlers_before_the_error_reaches_the_caller() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(HubError):
        for _ in running.run(_buggy, [(value,) for value in range(10)], jobs=1):
            pass
    assert signal.getsignal(signal.SIGTERM) is before
