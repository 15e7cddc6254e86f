"""The codes of `hub validate`: every problem it reports has one, with a severity and a summary.

Each code is defined by `define` in the module whose checks report it (files, bids, dataset_checks), so
the code, its default severity and what it means sit beside the check; `all_checks` gathers them and
`table` prints the documentation table (`hub validate --list-checks`), which a test keeps in sync with the
README. Codes are stable: a check that goes away leaves its number unused.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from neurodatahub.core.errors import ExitCode

SEVERITIES = ("info", "warning", "error")  # in rising order; `fail-on` names the lowest that fails a run
CODE = re.compile(r"^NDH\d{3}$")
# the modules that define codes, imported by all_checks (their checks run elsewhere, in workers)
CHECK_MODULES = (
    "neurodatahub.datasets.files",
    "neurodatahub.datasets.bids",
    "neurodatahub.datasets.dataset_checks",
)


@dataclass(frozen=True)
class Check:
    code: str  # NDH and three digits: 0xx files, 1xx data, 2xx across files, 3xx BIDS
    name: str  # a short slug, for people and SARIF rule names
    severity: str  # the default; a configuration may change it per code
    summary: str
    exit_code: int  # of a run that fails on it: 1 invalid data, 2 unreadable input, 5 storage

    def as_row(self) -> dict[str, str | int]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "exit_code": self.exit_code,
            "summary": self.summary,
        }


_CHECKS: dict[str, Check] = {}


def define(code: str, name: str, severity: str, summary: str, exit_code: int = ExitCode.INVALID) -> Check:
    """Register a code (at import of the module that reports it); a code is defined once."""
    if not CODE.match(code):
        raise ValueError(f"check code {code!r} must be NDH and three digits")
    if severity not in SEVERITIES:
        raise ValueError(f"check {code}: severity {severity!r} is none of {', '.join(SEVERITIES)}")
    if code in _CHECKS and _CHECKS[code].name != name:
        raise ValueError(f"check code {code} is defined twice ({_CHECKS[code].name}, {name})")
    check = Check(code, name, severity, summary, exit_code)
    _CHECKS[code] = check
    return check


def all_checks() -> list[Check]:
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return sorted(_CHECKS.values(), key=lambda check: check.code)


def get(code: str) -> Check:
    if code not in _CHECKS:
        all_checks()
    return _CHECKS[code]


def known_code_or_prefix(pattern: str) -> bool:
    """`NDH102`, a prefix such as `NDH1` or `NDH` (a family), or ALL."""
    return pattern.upper() == "ALL" or any(check.code.startswith(pattern.upper()) for check in all_checks())


def matches(code: str, patterns: Iterable[str]) -> bool:
    return any(pattern.upper() == "ALL" or code.startswith(pattern.upper()) for pattern in patterns)


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def table() -> str:
    """The codes as a Markdown table, as the README documents them."""
    lines = ["| code | name | severity | exit | meaning |", "|---|---|---|---|---|"]
    lines += [
        f"| {check.code} | {check.name} | {check.severity} | {check.exit_code} | {check.summary} |"
        for check in all_checks()
    ]
    return "\n".join(lines) + "\n"
