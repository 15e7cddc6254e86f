"""A batch stopped by SIGTERM, Ctrl-C or a kill leaves only whole outputs, and a rerun does only the rest.

`hub convert` runs as a real process here (signals need one); NWB outputs (pynwb writes them) make each
conversion last long enough to be stopped in the middle of the batch.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_helpers import ragged_tree, same_trains, trains

N_FILES = 12


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ragged_tree(tmp_path_factory.mktemp("signals") / "raw", N_FILES)


def _hub() -> str:
    return shutil.which("hub", path=str(Path(sys.executable).parent)) or "hub"


def _command(sources: Path, out: Path, report: Path, *args: str) -> list[str]:
    return [
        _hub(),
        "convert",
        str(sources),
        str(out / "{relpath}" / "{stem}.nwb"),
        "--report",
        str(report),
        *args,
    ]


def _start(sources: Path, out: Path, report: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        _command(sources, out, report, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _outputs(out: Path) -> list[Path]:
    """The placed outputs, not a writer's hidden temporaries (which end with the target's name too)."""
    return sorted(path for path in out.rglob("*.nwb") if not path.name.startswith("."))


def _wait_for_outputs(out: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while len(_outputs(out)) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no output appeared"
        time.sleep(0.05)


def _assert_whole(sources: Path, out: Path) -> list[Path]:
    """Every output reads back as its source; no temporary file is left anywhere."""
    assert not [path for path in out.rglob("*") if path.name.startswith(".")], list(out.rglob(".*"))
    written = _outputs(out)
    for path in written:
        source = sources / path.relative_to(out).with_suffix(".h5")
        assert same_trains(trains(str(path)), trains(str(source))), path
    return written


def _resume(sources: Path, out: Path, report: Path) -> tuple[int, int]:
    """A rerun with the same report: (converted, skipped); every output whole afterwards."""
    done = subprocess.run(
        _command(sources, out, report, "-j", "1"), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(report.read_text())
    assert len(_assert_whole(sources, out)) == N_FILES
    return document["converted"], document["skipped"]


@pytest.mark.parametrize("how", ["sigterm-local-cluster", "ctrl-c"])
def test_a_stopped_batch_leaves_whole_outputs_and_resumes(sources: Path, tmp_path: Path, how: str) -> None:
    out, report = tmp_path / "out", tmp_path / "report.json"
    process = _start(sources, out, report, "-j", "2" if how.startswith("sigterm") else "1")
    _wait_for_outputs(out, 2, process)
    if how.startswith("sigterm"):
        process.send_signal(signal.SIGTERM)
    else:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("hub: error: interrupted after ") and "not run" in last, stderr
    assert "Traceback" not in stderr
    before = _assert_whole(sources, out)
    document = json.loads(report.read_text())
    assert document["interrupted"] and document["not_run"] > 0
    assert not (tmp_path / ".report.json.journal").exists()
    converted, skipped = _resume(sources, out, report)
    assert (converted, skipped) == (N_FILES - len(before), len(before))


def test_a_killed_batch_resumes_from_its_journal(sources: Path, tmp_path: Path) -> None:
    """SIGKILL: no cleanup ran, no report was written; the journal says what was planned and done."""
    out, report = tmp_path / "out", tmp_path / "report.json"
    process = _start(sources, out, report, "-j", "1")
    _wait_for_outputs(out, 3, process)
    process.kill()
    process.communicate(timeout=60)
    assert not report.exists() and (tmp_path / ".report.json.journal").exists()
    present = len(_outputs(out))
    converted, skipped = _resume(sources, out, report)
    assert (converted, skipped) == (N_FILES - present, present)
    assert not (tmp_path / ".report.json.journal").exists()
