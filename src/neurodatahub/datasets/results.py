"""What validating a dataset finds: problems, one result per file, and the report that sums them up.

Workers return `FileResult`s holding every problem found, with codes but without the run's choices;
`Report` applies the configuration (select, ignore, severities, fail-on) once, when the run ends, so a
cached result serves any configuration.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from neurodatahub.core.errors import ExitCode
from neurodatahub.datasets import checks

# what became of a file: read and checked, or skipped (not data the hub reads, or left out)
CHECKED, SKIPPED = "checked", "skipped"


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    file: str  # the file (or folder) as the run visited it: a path or URL
    location: str = ""  # inside the file: a dataset, a field, a row, a unit
    severity: str = ""  # set by the report from the check's default and the configuration

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class FileResult:
    url: str
    relpath: str
    status: str = CHECKED
    format: str | None = None
    kind: str | None = None
    model_class: str | None = None
    problems: list[Problem] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what checks across files need to know of it
    error: str | None = None  # the reader's message when it failed
    seconds: float = 0.0
    cached: bool = False
    # its HTML thumbnail (PNG bytes or None, and why not) when drawn in the scope that validated it; kept
    # in the cache's own table, not with the result
    thumbnail: tuple[bytes | None, str] | None = field(default=None, repr=False)

    def to_cache(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("cached")
        data.pop("thumbnail")
        return data

    @classmethod
    def from_cache(cls, data: dict[str, Any], url: str, relpath: str) -> FileResult:
        """A stored result for the file at `url` now (the same content may have moved)."""
        problems = [Problem(**{**problem, "file": url}) for problem in data.pop("problems")]
        return cls(**{**data, "url": url, "relpath": relpath, "problems": problems, "cached": True})


@dataclass
class Settings:
    """The run's choices about problems: which codes count, how severe, which severity fails the run."""

    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)  # code or prefix -> severity
    fail_on: str = "error"
    require_known: bool = False
    ignore_by_file: dict[str, tuple[str, ...]] = field(default_factory=dict)  # url -> ignored codes

    def resolve(self, problem: Problem) -> Problem | None:
        """The problem with its severity for this run, or None when the run does not report it."""
        ignored = (*self.ignore, *self.ignore_by_file.get(problem.file, ()))
        if not checks.matches(problem.code, self.select) or checks.matches(problem.code, ignored):
            return None
        severity = checks.get(problem.code).severity
        if problem.code == UNKNOWN_CODE and self.require_known:
            severity = "error"
        for pattern in sorted(self.severity, key=len):  # the longest (most specific) pattern wins
            if checks.matches(problem.code, [pattern]):
                severity = self.severity[pattern]
        return Problem(problem.code, problem.message, problem.file, problem.location, severity)

    def fails(self, problem: Problem) -> bool:
        return checks.rank(problem.severity) >= checks.rank(self.fail_on)


UNKNOWN_CODE = "NDH001"  # defined with its check in datasets.files; here for `require_known`


@dataclass
class Report:
    """Every file's result and the dataset-level problems, seen through the run's settings."""

    files: list[FileResult]
    dataset_problems: list[Problem]
    settings: Settings
    seconds: float
    inputs: list[str] = field(default_factory=list)
    config_source: str | None = None
    # how the run reached its files and where it kept results: writers that read the files again (the
    # HTML report's thumbnails) read them the same way and keep what they draw beside the results
    storage_options: dict[str, Any] = field(default_factory=dict, repr=False)
    cache_folder: Path | None = None

    def __post_init__(self) -> None:
        self._by_file: dict[str, list[Problem]] = {}
        for problem in [problem for result in self.files for problem in result.problems] + list(
            self.dataset_problems
        ):
            resolved = self.settings.resolve(problem)
            if resolved is not None:
                self._by_file.setdefault(problem.file, []).append(resolved)

    def problems_of(self, url: str) -> list[Problem]:
        """The reported problems located in a file, its own and those found across files."""
        return self._by_file.get(url, [])

    def problems(self) -> list[Problem]:
        return [problem for problems in self._by_file.values() for problem in problems]

    def status_of(self, result: FileResult) -> str:
        """valid, invalid (its data breaks a rule), error (it cannot be read), or skipped."""
        failing = [problem for problem in self.problems_of(result.url) if self.settings.fails(problem)]
        if result.status == SKIPPED and not failing:
            return "skipped"
        if not failing:
            return "valid"
        codes = {checks.get(problem.code).exit_code for problem in failing}
        return "invalid" if codes == {ExitCode.INVALID} else "error"

    @property
    def exit_code(self) -> int:
        """0, or the highest exit code among the checks of failing problems (1 data, 2 unreadable, 5)."""
        failing = [problem for problem in self.problems() if self.settings.fails(problem)]
        return max((checks.get(problem.code).exit_code for problem in failing), default=ExitCode.OK)

    def summary(self) -> dict[str, Any]:
        statuses = Counter(self.status_of(result) for result in self.files)
        severities = Counter(problem.severity for problem in self.problems())
        return {
            "files": len(self.files),
            "checked": sum(result.status == CHECKED for result in self.files),
            "valid": statuses["valid"],
            "invalid": statuses["invalid"],
            "errors": statuses["error"],
            "skipped": statuses["skipped"],
            "from_cache": sum(result.cached for result in self.files),
            "problems": {severity: severities[severity] for severity in reversed(checks.SEVERITIES)},
            "by_kind": dict(
                sorted(
                    Counter(
                        result.kind for result in self.files if result.status == CHECKED and result.kind
                    ).items()
                )
            ),
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
        }

    def file_entry(self, result: FileResult) -> dict[str, Any]:
        """One file as the JSON report gives it (the fields `hub validate --json` always had, and more)."""
        problems = self.problems_of(result.url)
        status = self.status_of(result)
        return {
            "path": result.url,
            "relpath": result.relpath,
            "status": status,
            "valid": status in ("valid", "skipped"),
            "format": result.format,
            "kind": result.kind,
            "model_class": result.model_class,
            "problems": [
                {
                    "code": problem.code,
                    "severity": problem.severity,
                    "location": problem.location,
                    "message": problem.message,
                }
                for problem in problems
            ],
            "error": result.error,
            "exit_code": max(
                (checks.get(problem.code).exit_code for problem in problems if self.settings.fails(problem)),
                default=ExitCode.OK,
            ),
            "cached": result.cached,
        }

    def dataset_entries(self) -> list[dict[str, Any]]:
        """Problems found across files that belong to no single file of the run (the dataset itself)."""
        urls = {result.url for result in self.files}
        return [problem.as_dict() for problem in self.problems() if problem.file not in urls]
