"""Output faults are exit 4 with one line naming the user's target (never the hidden temporary), and leave
nothing behind: unwritable places, a full disk, a file too large, a target that is a folder, a report
that could not be written (found before converting).

Disk full is a real file system that fills up: a 1 MiB tmpfs mounted by the test when it may mount (root
with CAP_SYS_ADMIN, as in CI containers), and, always, a file-size limit (RLIMIT_FSIZE, which the kernel
enforces with EFBIG on the write that crosses it; Python ignores SIGXFSZ, so the write fails instead of
the process being killed).
"""

from __future__ import annotations

import resource
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import hub, one_line
from safety_helpers import HUB, spike_hdf5

from neurodatahub.core.errors import ExitCode


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return spike_hdf5(tmp_path / "in.h5", n_units=4, per_unit=50_000)  # its TSV is about 4 MB


def _no_temporaries(folder: Path) -> None:
    assert not [path.name for path in folder.iterdir() if "ndhtmp" in path.name or "partial" in path.name]


@pytest.mark.parametrize("target", ["/sys/out.h5", "/proc/out.h5"])
def test_unwritable_places_are_exit_4(source: Path, target: str, capsys: pytest.CaptureFixture) -> None:
    code, _, err = hub(capsys, "convert", str(source), target)
    assert code == ExitCode.OUTPUT, err
    line = one_line(err)
    assert target in line and "ndhtmp" not in line and ".partial" not in line


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, mounted for the test."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        pytest.skip(
            f"this process may not mount a tmpfs ({done.stderr.decode().strip()}); see the EFBIG test"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_is_exit_4_and_keeps_the_old_file(
    source: Path, tiny_disk: Path, capsys: pytest.CaptureFixture
) -> None:
    target = tiny_disk / "out.tsv"
    target.write_bytes(b"the old file")
    code, _, err = hub(capsys, "convert", str(source), str(target), "--overwrite")
    assert code == ExitCode.OUTPUT, err
    assert "No space left on device" in one_line(err) and str(target) in err
    assert target.read_bytes() == b"the old file"
    _no_temporaries(tiny_disk)


def test_a_full_disk_in_a_read_only_mount_is_exit_4(source: Path, tiny_disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    try:
        done = subprocess.run(
            [*HUB, "convert", str(source), str(tiny_disk / "x.h5")], capture_output=True, text=True
        )
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tiny_disk)], check=True)
    assert done.returncode == ExitCode.OUTPUT, done.stderr
    assert "Read-only file system" in one_line(done.stderr)


def test_a_file_size_limit_is_exit_4(source: Path, tmp_path: Path) -> None:
    limit = 1 << 20

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    target = tmp_path / "out.tsv"
    done = subprocess.run(
        [*HUB, "convert", str(source), str(target)], capture_output=True, text=True, preexec_fn=limited
    )
    assert done.returncode == ExitCode.OUTPUT, done.stderr
    assert "File too large" in one_line(done.stderr) and str(target) in done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.h5"]


def test_a_target_that_is_a_folder_is_exit_4(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "out.h5"
    folder.mkdir()
    (folder / "keep").write_text("mine")
    code, _, err = hub(capsys, "convert", str(source), str(folder), "--overwrite")
    assert code == ExitCode.OUTPUT, err
    assert "existing folder" in one_line(err)
    assert (folder / "keep").read_text() == "mine"
    _no_temporaries(tmp_path)


@pytest.mark.parametrize("report", ["/sys/report.json", "missing/report.json", "."])
def test_an_unwritable_report_is_found_before_converting(
    source: Path, tmp_path: Path, report: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "out.parquet"
    code, _, err = hub(capsys, "convert", str(source), str(target), "--report", report)
    assert code == ExitCode.OUTPUT, err
    assert "report" in one_line(err)
    assert not target.exists()  # nothing was converted


def test_a_report_is_written_atomically(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    report = tmp_path / "report.json"
    code, _, err = hub(capsys, "convert", str(source), str(tmp_path / "out.parquet"), "--report", str(report))
    assert code == ExitCode.OK, err
    assert '"losses"' in report.read_text() or '"source"' in report.read_text()
    _no_temporaries(tmp_path)
