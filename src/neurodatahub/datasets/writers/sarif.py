"""SARIF 2.1.0, the format GitHub code scanning (and other CI systems) reads: one rule per check code,
one result per problem, located at its file (and, by name, at the place inside it)."""

from __future__ import annotations

import json
from pathlib import Path

from neurodatahub import __version__
from neurodatahub.core import storage
from neurodatahub.datasets import checks
from neurodatahub.datasets.results import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
INFORMATION_URI = "https://pypi.org/project/neurodatahub/"


def render(report: Report, verbose: bool) -> str:
    rules = checks.all_checks()
    index = {check.code: position for position, check in enumerate(rules)}
    results = []
    for problem in report.problems():
        result = {
            "ruleId": problem.code,
            "ruleIndex": index[problem.code],
            "level": LEVELS[problem.severity],
            "message": {"text": problem.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": artifact_uri(problem.file)},
                        "region": {"startLine": 1},
                    },
                    **(
                        {"logicalLocations": [{"fullyQualifiedName": problem.location}]}
                        if problem.location
                        else {}
                    ),
                }
            ],
        }
        results.append(result)
    run = {
        "tool": {
            "driver": {
                "name": "neurodatahub",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [
                    {
                        "id": check.code,
                        "name": check.name,
                        "shortDescription": {"text": check.summary},
                        "defaultConfiguration": {"level": LEVELS[check.severity]},
                    }
                    for check in rules
                ],
            }
        },
        "invocations": [
            {"executionSuccessful": True, "exitCode": report.exit_code, "commandLine": _command(report)}
        ],
        "results": results,
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def artifact_uri(url: str) -> str:
    """Local files below the working folder as relative URIs (GitHub resolves them against the
    checkout), others as file:// URIs; remote URLs are URIs already."""
    from urllib.parse import quote

    if not storage.is_local(url):
        return url
    return quote(shown_path(url)) if not shown_path(url).startswith("/") else Path(url).resolve().as_uri()


def shown_path(url: str) -> str:
    """A local path relative to the working folder when it is below it (as CI systems want), else
    absolute; remote URLs unchanged."""
    if not storage.is_local(url):
        return url
    path = storage.local_path(url).resolve()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _command(report: Report) -> str:
    return " ".join(["hub", "validate", *report.inputs])
