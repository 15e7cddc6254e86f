"""Temporary files and folders that name their owner, so that leftovers of a killed run are found later.

Writes go through temporaries (a hidden `.<tag>.partial.NAME` beside the target, ending with the
target's name so that libraries that go by the extension (nibabel) read it; a scratch folder; a retired
`.NAME.<tag>.old` folder while a folder target is swapped). A SIGKILL, a power cut or an OOM kill
leaves them behind; the tag says which process on which machine made them, so the next run that writes
into the same folder (`sweep_once`), or `hub clean PATH` (`sweep`), removes those whose process is gone,
and puts back a retired folder whose replacement never arrived.

Tag: `.ndhtmp-<host>-<pid>-<random>`, host being 4 hex digits of the host name: a folder shared between
machines (NFS) is never swept of another machine's live temporaries. A process counts as gone when no
process has its pid, or when the process that has it started after the temporary was last written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

MARK = "ndhtmp"
TAG = re.compile(rf"\.{MARK}-([0-9a-f]{{4}})-(\d+)-[0-9a-f]+")
PARTIAL, RETIRED = ".partial", ".old"
_swept: set[Path] = set()


@cache
def host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:4]


def tag() -> str:
    """A fresh tag naming this process (the pid is read each time: forked workers have their own)."""
    return f".{MARK}-{host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def partial_name(target: Path) -> Path:
    """Where a file or folder is written before it replaces `target`: hidden, beside it, tagged, and
    ending with the target's name (`.ndhtmp-1a2b-4242-1a2b3c4d.partial.out.nii.gz`)."""
    return target.with_name(f"{tag()}{PARTIAL}.{target.name}")


def retired_name(target: Path) -> Path:
    return target.with_name(f".{target.name}{tag()}{RETIRED}")


@contextlib.contextmanager
def folder(prefix: str = "neurodatahub", within: Path | str | None = None) -> Iterator[Path]:
    """A scratch folder (in `within`, else the system's temporary folder) removed on exit, tagged so
    that a killed run's is swept by the next one."""
    parent = Path(within) if within is not None else Path(tempfile.gettempdir())
    sweep_once(parent)
    path = parent / f"{prefix.rstrip('-.')}{tag()}"
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _boot_time() -> float | None:
    with contextlib.suppress(OSError, ValueError), open("/proc/stat", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("btime "):
                return float(line.split()[1])
    return None


def _started(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), where /proc says."""
    boot = _boot_time()
    if boot is None:
        return None
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return None


def owner_gone(path: Path) -> bool:
    """True when `path` is a tagged temporary of this machine whose process no longer runs."""
    found = TAG.search(path.name)
    if found is None or found.group(1) != host_tag():
        return False
    pid = int(found.group(2))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's live process
    started = _started(pid)
    try:
        written = path.lstat().st_mtime
    except FileNotFoundError:
        return False
    return started is not None and started > written + 1  # the pid now belongs to a newer process


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def sweep(folder: Path | str, recursive: bool = False, dry_run: bool = False) -> list[tuple[str, Path]]:
    """Remove the stale temporaries in `folder` (and below, when `recursive`); returns what was (or,
    with `dry_run`, would be) done, as ("removed", path) and ("restored", path).

    A retired folder whose target is missing (killed between the two renames of a swap where the file
    system cannot exchange folders) is put back in place instead of removed.
    """
    root = Path(folder)
    done: list[tuple[str, Path]] = []
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return done
    for entry in entries:
        path = Path(entry.path)
        if MARK in entry.name and owner_gone(path):
            original = path.with_name(TAG.sub("", entry.name).removesuffix(RETIRED)[1:])
            if entry.name.endswith(RETIRED) and not original.exists():
                with contextlib.suppress(OSError):
                    if not dry_run:
                        path.rename(original)
                    done.append(("restored", original))
                    continue
            if not dry_run:
                _remove(path)
            done.append(("removed", path))
        elif recursive and entry.is_dir(follow_symlinks=False):
            done += sweep(path, recursive=True, dry_run=dry_run)
    return done


def sweep_once(folder: Path | str) -> None:
    """`sweep` a folder the first time this process writes into it (one listing per folder per run)."""
    resolved = Path(folder).resolve()
    if resolved not in _swept:
        _swept.add(resolved)
        sweep(resolved)
