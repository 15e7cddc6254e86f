"""The report for people: one block per file (ok, invalid, error; skipped ones with -v), then a summary."""

from __future__ import annotations

from neurodatahub.core.terminal import printable
from neurodatahub.datasets.results import Report

INDENT = " " * 9


def render(report: Report, verbose: bool) -> str:
    lines: list[str] = []
    skipped = []
    for result in report.files:
        status = report.status_of(result)
        problems = report.problems_of(result.url)
        if status == "skipped":
            skipped.append(result)
            if verbose:
                lines.append(f"skipped  {result.url} ({result.error or 'left out'})")
            continue
        if status == "valid":
            lines.append(f"ok       {result.url} ({result.format}, {result.model_class or result.kind})")
        elif status == "invalid":
            lines.append(f"invalid  {result.url} ({result.format})")
        else:
            lines.append(f"error    {result.error or result.url}")
        lines += [
            f"{INDENT}{problem.code} {problem.severity:<7} {_where(problem.location)}"
            f"{_without_file(problem.message, result.url)}"
            for problem in problems
            if not (status == "error" and problem.message == result.error)
        ]
    for entry in report.dataset_entries():
        lines.append(f"dataset  {entry['code']} {entry['severity']:<7} {entry['message']}")
    if skipped and not verbose:
        lines.append(f"skipped  {len(skipped)} file(s) the hub does not read (-v lists them)")
    lines.append(summary_line(report))
    return "\n".join(_shown(line) for line in lines) + "\n"


def _shown(line: str) -> str:
    """One line with its control characters escaped: names and messages come from files anyone can
    write, and must neither drive the terminal nor split a line of the report."""
    return printable(" ".join(line.splitlines()))


def _where(location: str) -> str:
    return f"{location}: " if location else ""


def _without_file(message: str, url: str) -> str:
    """Under a file's line its problems need not repeat its path."""
    return message.removeprefix(f"{url}: ")


def summary_line(report: Report) -> str:
    summary = report.summary()
    kinds = ", ".join(f"{kind} {count}" for kind, count in summary["by_kind"].items())
    problems = ", ".join(f"{count} {severity}" for severity, count in summary["problems"].items() if count)
    parts = [
        f"{summary['files']} files: {summary['valid']} valid, {summary['invalid']} invalid,"
        f" {summary['errors']} unreadable, {summary['skipped']} skipped",
        f"by kind: {kinds}" if kinds else "",
        f"problems: {problems}" if problems else "no problems",
        f"{summary['seconds']:.2f} s ({summary['from_cache']} from cache)",
    ]
    return "; ".join(part for part in parts if part)
