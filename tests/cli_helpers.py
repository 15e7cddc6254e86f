"""Running `hub` in-process for CLI tests (tests/ is on sys.path through tests/conftest.py)."""

from __future__ import annotations

import pytest

from neurodatahub.cli import main


def hub(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one `hub` call."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    """The single line a failure must print: no traceback, nothing else."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
