"""The catalog's state files (registry, trusted hashes, catalog sources, remote caches): read, and rewritten
whole under a lock.

Every write goes through `update()`: an exclusive `filelock` lock beside the file, read, change, write a
temporary file, `os.replace` it into place. Two processes registering at once therefore both land, and an
interrupted write never leaves a half file. Keeping every write here is what makes that true everywhere.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from neurodatahub.core import places
from neurodatahub.core.errors import InputError, OutputError

LOCK_TIMEOUT_SECONDS = 30.0
REGISTRY_NAME = "registry.json"
REGISTRY_FORMAT = "neurodatahub-registry"


# NEURODATAHUB_DATA_DIR, else $XDG_CACHE_HOME/neurodatahub, else ~/.cache/neurodatahub: the core's rule,
# since lab schemas are cached there too
data_dir = places.data_dir


def registry_records() -> dict[str, dict[str, Any]]:
    """The local registry's records (registry.py writes them; the catalog stack reads lab entries here)."""
    return (read_json(data_dir() / REGISTRY_NAME, REGISTRY_FORMAT) or {}).get("entries", {})


def read_json(path: Path, format_name: str) -> dict[str, Any] | None:
    """The document at `path` (None when there is none); one of another format is an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InputError(f"{path}: unreadable ({error})") from error
    try:
        document = json.loads(text)
    except ValueError as error:
        raise InputError(f"{path}: not valid JSON ({error}); fix or remove it") from error
    if not isinstance(document, dict) or document.get("format") != format_name:
        raise InputError(f"{path} is not a {format_name} file; fix or remove it")
    return document


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the lock of `path` (a `.lock` file beside it) for a read-change-write."""
    import filelock

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path.with_name(path.name + ".lock")), timeout=LOCK_TIMEOUT_SECONDS)
    try:
        with lock:
            yield
    except filelock.Timeout as error:
        raise OutputError(
            f"{path} is locked by another process (waited {LOCK_TIMEOUT_SECONDS:.0f} s)"
        ) from error


def write(path: Path, data: str | bytes) -> None:
    """Replace `path` with `data` atomically (a temporary file beside it, then os.replace)."""
    from neurodatahub.core.storage import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_write(str(path), overwrite=True) as tmp:
            tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    except OSError as error:
        raise OutputError(f"cannot write {path} ({error})") from error


def update(path: Path, format_name: str, change: Callable[[dict[str, Any]], Any]) -> Any:
    """Lock, read (or start) the document, let `change` edit it in place, write it back; returns what
    `change` returned."""
    with locked(path):
        document = read_json(path, format_name) or {"format": format_name, "version": 1}
        result = change(document)
        write(path, json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    return result
