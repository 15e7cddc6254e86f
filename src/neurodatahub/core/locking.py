"""Shared state files (the catalog's local registry...) changed under a lock, replaced atomically.

Several `hub` processes may change one state file at once (a lab registering datasets from parallel
jobs). Each change reads the file, modifies it and replaces it atomically (storage.atomic_write); the
lock (a `<name>.lock` file beside it, the filelock package: fcntl on POSIX, released by the kernel when
a process dies) makes the read-modify-write one step, so no change is lost.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from neurodatahub.core.errors import OutputError

T = TypeVar("T")
LOCK_TIMEOUT_VARIABLE = "NEURODATAHUB_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 120.0  # seconds: far beyond any registry update, short of a hung CI job


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold `path`'s lock (waiting up to `timeout` seconds, else NEURODATAHUB_LOCK_TIMEOUT or 120 s)."""
    from filelock import FileLock, Timeout

    wait = (
        timeout
        if timeout is not None
        else float(os.environ.get(LOCK_TIMEOUT_VARIABLE) or DEFAULT_LOCK_TIMEOUT)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(path)), timeout=wait)
    try:
        lock.acquire()
    except Timeout as error:
        raise OutputError(
            f"{path} is locked by another hub process (waited {wait:g} s on {lock_path(path)})"
        ) from error
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def updating(path: Path, load: Callable[[], T], save: Callable[[T], None]) -> Iterator[T]:
    """Read-modify-write `path` under its lock: yields `load()`, then `save`s it if the block succeeds.

    `save` must replace the file atomically (storage.atomic_write), so a reader without the lock sees
    the old or the new state, never a half-written one.
    """
    with locked(path):
        state = load()
        yield state
        save(state)
