"""Interrupted work leaves nothing: SIGTERM and SIGHUP clean up as Ctrl-C does; after a SIGKILL the next run
(or `hub clean`) removes what was left; a file or folder target is always the old one or the new one,
whole; concurrent writers of one folder each place a whole folder.

Signals are sent at several moments of a real `hub convert`: while it reads (before any temporary
exists), as soon as its temporary appears, and while it writes.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from safety_helpers import HUB, hub_process, spike_hdf5

from neurodatahub.core import scratch
from neurodatahub.core.errors import ExitCode

MOMENTS = {"reading": None, "temporary appears": 0.0, "writing": 0.3}


def _temporaries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if scratch.MARK in path.name)


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*HUB, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _catches(process: subprocess.Popen, signum: int) -> bool:
    """Whether the process has put a handler in place for `signum` (Linux: SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return False
    caught = next((line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0")
    return bool(int(caught, 16) >> (signum - 1) & 1)


def _signal_at(process: subprocess.Popen, folder: Path, moment: float | None, signum: int) -> tuple[int, str]:
    """Send `signum` once the process is at `moment` (None: as soon as the command runs, while it reads;
    a number: that many seconds after its temporary appeared); its exit code and stderr.

    A signal is sent only once the command has its handlers in place: before, while Python starts up, a
    SIGTERM ends the process as it would any program (it has written nothing yet), which is not what the
    tests look at; on a loaded machine start-up alone can take longer than any fixed wait."""
    deadline = time.monotonic() + 60
    while signum != signal.SIGKILL and not _catches(process, signum) and process.poll() is None:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    if moment is not None:
        while not _temporaries(folder) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(moment)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    return process.returncode, err


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spike file whose TSV (about 8 MB) takes about a second to write."""
    return spike_hdf5(tmp_path_factory.mktemp("source") / "in.h5", n_units=8, per_unit=100_000)


@pytest.fixture(scope="module")
def small_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spike file for the Phy folder tests (a folder of .npy files is written fast)."""
    return spike_hdf5(tmp_path_factory.mktemp("small") / "in.h5", n_units=8, per_unit=20_000)


@pytest.fixture(scope="module")
def new_file(source: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    target = tmp_path_factory.mktemp("reference") / "out.tsv"
    assert hub_process("convert", str(source), str(target)).code == ExitCode.OK
    return target.read_bytes()


# SIGHUP takes SIGTERM's path: one moment of it is enough
FILE_CASES = [*((signal.SIGTERM, moment) for moment in MOMENTS), (signal.SIGHUP, "writing")]


@pytest.mark.parametrize(("signum", "moment"), FILE_CASES)
def test_sigterm_and_sighup_leave_the_old_file_and_no_temporary(
    source: Path, new_file: bytes, tmp_path: Path, signum: int, moment: str
) -> None:
    target = tmp_path / "out.tsv"
    target.write_bytes(b"old")
    process = _start("convert", str(source), str(target), "--overwrite")
    code, err = _signal_at(process, tmp_path, MOMENTS[moment], signum)
    assert target.read_bytes() in (b"old", new_file)
    assert _temporaries(tmp_path) == []
    if code != ExitCode.OK:  # it may have finished first
        assert code == ExitCode.INTERRUPTED, err  # 130 whatever the signal; the line names it
        assert err.strip().startswith(f"hub: interrupted ({signal.Signals(signum).name}); temporary files")


@pytest.mark.parametrize("moment", ["temporary appears", "writing"])
def test_after_sigkill_the_next_run_sweeps_and_the_target_is_whole(
    source: Path, new_file: bytes, tmp_path: Path, moment: str
) -> None:
    target = tmp_path / "out.tsv"
    target.write_bytes(b"old")
    process = _start("convert", str(source), str(target), "--overwrite")
    _signal_at(process, tmp_path, MOMENTS[moment], signal.SIGKILL)
    assert target.read_bytes() in (b"old", new_file)
    left = _temporaries(tmp_path)
    assert all(scratch.owner_gone(tmp_path / name) for name in left)
    other = hub_process("convert", str(source), str(tmp_path / "other.parquet"))  # the next run, same folder
    assert other.code == ExitCode.OK, other.err
    assert _temporaries(tmp_path) == []


def test_hub_clean_removes_what_a_killed_run_left(source: Path, tmp_path: Path) -> None:
    process = _start("convert", str(source), str(tmp_path / "out.tsv"))
    _signal_at(process, tmp_path, MOMENTS["temporary appears"], signal.SIGKILL)
    left = _temporaries(tmp_path)
    assert left, "the kill came too late to leave anything"
    live = scratch.partial_name(tmp_path / "mine.tsv")  # this process is alive: its temporary stays
    live.write_bytes(b"in progress")
    listed = hub_process("clean", str(tmp_path), "--dry-run")
    assert listed.code == ExitCode.OK and all(name in listed.out for name in left)
    assert _temporaries(tmp_path) == sorted([*left, live.name])
    done = hub_process("clean", str(tmp_path))
    assert done.code == ExitCode.OK, done.err
    assert _temporaries(tmp_path) == [live.name]


def _phy(source: Path, target: Path, *more: str) -> list[str]:
    return ["convert", str(source), str(target), "--to", "phy", "--fs", "30000", *more]


def _same_folder(one: Path, other: Path) -> bool:
    names = sorted(path.name for path in one.iterdir())
    if names != sorted(path.name for path in other.iterdir()):
        return False
    return all(filecmp.cmp(one / name, other / name, shallow=False) for name in names)


@pytest.fixture(scope="module")
def new_folder(small_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("reference") / "sorting"
    assert hub_process(*_phy(small_source, target)).code == ExitCode.OK
    return target


FOLDER_CASES = [
    (signal.SIGKILL, "temporary appears"),
    (signal.SIGKILL, "writing"),
    (signal.SIGTERM, "writing"),
]


@pytest.mark.parametrize(("signum", "moment"), FOLDER_CASES)
def test_a_folder_target_is_the_old_or_the_new_one(
    small_source: Path, new_folder: Path, tmp_path: Path, signum: int, moment: str
) -> None:
    target = tmp_path / "sorting"
    old = tmp_path / "old"
    old.mkdir()
    (old / "spike_times.npy").write_bytes(b"old")
    shutil.copytree(old, target)
    process = _start(*_phy(small_source, target, "--overwrite"))
    _signal_at(process, tmp_path, MOMENTS[moment], signum)
    assert _same_folder(target, old) or _same_folder(target, new_folder)
    if signum != signal.SIGKILL:
        assert _temporaries(tmp_path) == []
    assert hub_process("clean", str(tmp_path)).code == ExitCode.OK
    assert _temporaries(tmp_path) == []


def test_a_crash_between_the_renames_of_a_swap_is_undone(tmp_path: Path) -> None:
    """Where folders cannot be exchanged in one step the old one is moved aside first; if the process
    dies before the new one is in place, the next sweep puts the old one back."""
    child = subprocess.Popen(["true"])  # its pid no longer runs once it is waited for
    child.wait()
    target = tmp_path / "sorting"
    aside = tmp_path / f".sorting.{scratch.MARK}-{scratch.host_tag()}-{child.pid}-0123abcd{scratch.RETIRED}"
    aside.mkdir()
    (aside / "spike_times.npy").write_bytes(b"old")
    os.utime(aside, (time.time() - 60, time.time() - 60))
    assert scratch.sweep(tmp_path) == [("restored", target)]
    assert (target / "spike_times.npy").read_bytes() == b"old"


def test_concurrent_overwrites_of_one_folder_each_place_a_whole_folder(
    small_source: Path, new_folder: Path, tmp_path: Path
) -> None:
    target = tmp_path / "sorting"
    processes = [_start(*_phy(small_source, target, "--overwrite")) for _ in range(4)]
    results = [(process.wait(timeout=300), process.stderr.read()) for process in processes]
    assert all(code == ExitCode.OK for code, _ in results), results
    assert _same_folder(target, new_folder)
    assert _temporaries(tmp_path) == []
