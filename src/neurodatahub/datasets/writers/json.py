"""The whole report as JSON: the summary, every file with its problems, and the dataset's own problems."""

from __future__ import annotations

import json

from neurodatahub import __version__
from neurodatahub.datasets.results import Report

REPORT_VERSION = 1


def render(report: Report, verbose: bool) -> str:
    return json.dumps(as_data(report), indent=2, default=str) + "\n"


def as_data(report: Report) -> dict:
    return {
        "report_version": REPORT_VERSION,
        "tool": {"name": "neurodatahub", "version": __version__},
        "inputs": report.inputs,
        "config": report.config_source,
        "summary": report.summary(),
        "files": [report.file_entry(result) for result in report.files],
        "dataset": report.dataset_entries(),
    }
