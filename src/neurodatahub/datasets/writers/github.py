"""GitHub Actions workflow commands: one annotation per problem on its file, then the summary line.

GitHub shows `::error file=...::` lines of a step's output on the pull request's files; data and
properties are escaped as its toolkit does (% CR LF, and : , in properties).
"""

from __future__ import annotations

from neurodatahub.core.terminal import printable
from neurodatahub.datasets import checks
from neurodatahub.datasets.results import Report
from neurodatahub.datasets.writers.sarif import shown_path
from neurodatahub.datasets.writers.text import summary_line

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def render(report: Report, verbose: bool) -> str:
    lines = []
    for problem in report.problems():
        title = f"{problem.code} {checks.get(problem.code).name}"
        where = f"{problem.location}: " if problem.location else ""
        lines.append(
            f"::{COMMANDS[problem.severity]} file={_property(shown_path(problem.file))},"
            f"title={_property(title)}::{_data(where + problem.message)}"
        )
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def _data(text: str) -> str:
    """Escaped as GitHub's toolkit does, after the control characters a file's text may hold."""
    return printable(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
