"""JUnit XML as Jenkins, GitLab and Azure read it (the Ant/Surefire schema): one test case per file.

A file whose data breaks a rule is a failure, one that cannot be read an error, a skipped file a skipped
test; warnings and notes go to the case's system-out. Problems across files belong to their file's case.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from neurodatahub.core.terminal import printable
from neurodatahub.datasets.results import Report

SUITE = "hub validate"


def render(report: Report, verbose: bool) -> str:
    summary = report.summary()
    counts = {
        "tests": str(summary["files"]),
        "failures": str(summary["invalid"]),
        "errors": str(summary["errors"]),
    }
    suites = ET.Element("testsuites", name=SUITE, time=_seconds(report.seconds), **counts)
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=SUITE,
        skipped=str(summary["skipped"]),
        time=_seconds(report.seconds),
        timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        **counts,
    )
    for result in report.files:
        case = ET.SubElement(
            suite,
            "testcase",
            name=result.url,
            classname=result.kind or "unknown",
            time=_seconds(result.seconds),
        )
        status = report.status_of(result)
        problems = report.problems_of(result.url)
        failing = [problem for problem in problems if report.settings.fails(problem)]
        if status == "skipped":
            ET.SubElement(case, "skipped", message=result.error or "not data the hub reads")
        elif failing:
            element = ET.SubElement(
                case,
                "failure" if status == "invalid" else "error",
                type=failing[0].code,
                message=failing[0].message,
            )
            element.text = "\n".join(_line(problem) for problem in failing)
        others = [problem for problem in problems if problem not in failing]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(_line(problem) for problem in others)
    dataset = report.dataset_entries()
    if dataset:
        ET.SubElement(suite, "system-out").text = "\n".join(
            f"{entry['code']} {entry['severity']}: {entry['message']}" for entry in dataset
        )
    for element in suites.iter():  # XML 1.0 cannot hold control characters a file's name or text may
        element.text = printable(element.text) if element.text else element.text
        for name, value in element.attrib.items():
            element.set(name, printable(value))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _line(problem) -> str:
    where = f" {problem.location}:" if problem.location else ""
    return f"{problem.code} {problem.severity}:{where} {problem.message}"


def _seconds(value: float) -> str:
    return f"{value:.3f}"
