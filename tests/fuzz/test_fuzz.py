"""The fuzz suite: every reader, and `hub info`, `validate` and `convert`, on hostile and mutated files.

One worker process runs the whole corpus in-process under a memory cap (RLIMIT_AS) with a time limit
per command (fuzz_worker.py); the tests here read its report, one test per format family, so a failure
names the family, the case and the command. The default corpus keeps `make test` within its budget;
NEURODATAHUB_FUZZ_EXAMPLES (mutations per format, default 8) and NEURODATAHUB_FUZZ_TRUNCATIONS (cuts per
format, default 12) make it as large as a benchmark run wants (`NEURODATAHUB_FUZZ_EXAMPLES=500 pytest
tests/fuzz`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_corpus import SEEDS

WORKER = Path(__file__).resolve().parent / "fuzz_worker.py"
EXAMPLES = int(os.environ.get("NEURODATAHUB_FUZZ_EXAMPLES") or 8)
TRUNCATIONS = int(os.environ.get("NEURODATAHUB_FUZZ_TRUNCATIONS") or 12)
FAMILIES = ["hostile", *SEEDS]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("fuzz")
    done = subprocess.run(
        [sys.executable, str(WORKER), str(folder), str(EXAMPLES), str(TRUNCATIONS)],
        capture_output=True,
        text=True,
        timeout=60 * (10 + EXAMPLES),
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines and lines[0].get("summary"), done.stderr[-5000:]
    return {"runs": lines[0]["runs"], "failures": lines[1:]}


def test_the_corpus_ran(report: dict) -> None:
    assert report["runs"] >= len(SEEDS) * (EXAMPLES + 1)


@pytest.mark.parametrize("family", FAMILIES)
def test_no_hostile_or_mutated_file_escapes(report: dict, family: str) -> None:
    failures = [failure for failure in report["failures"] if failure["family"] == family]
    assert not failures, "\n".join(
        f"{failure['case']}: hub {failure['command']}: {failure['problem']}\n{failure['stderr']}"
        for failure in failures
    )
