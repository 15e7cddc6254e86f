"""The report as one self-contained HTML page: summary, each file's problems with codes and severities,
a thumbnail of each file's data, filters by kind and severity.

Self-contained so that it can be mailed or kept as a CI artifact: the style and the few lines of script
are in the page, the thumbnails are inlined as data: URIs, nothing is fetched. The page is a Jinja2
template (`report.html.j2` beside this module), autoescaped: file names and messages are data.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from neurodatahub import __version__
from neurodatahub.datasets import checks, thumbnails
from neurodatahub.datasets.results import Report
from neurodatahub.datasets.writers.text import summary_line

TEMPLATE = "report.html.j2"
NO_PROBLEMS = "none"  # the severity filter's value for files without problems


def render(report: Report, verbose: bool) -> str:
    import jinja2

    pictures = thumbnails.thumbnails(report)
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(resources.files(__package__).joinpath(TEMPLATE).read_text("utf-8"))
    files = [
        _file(report.file_entry(result), pictures.get(result.url))
        for result in report.files
        if verbose or report.status_of(result) != "skipped" or report.problems_of(result.url)
    ]
    return template.render(
        version=__version__,
        inputs=report.inputs,
        summary=report.summary(),
        summary_line=summary_line(report),
        files=files,
        hidden_skipped=sum(report.status_of(result) == "skipped" for result in report.files)
        - sum(entry["status"] == "skipped" for entry in files),
        dataset=report.dataset_entries(),
        kinds=sorted({entry["kind"] for entry in files if entry["kind"]}),
        severities=list(reversed(checks.SEVERITIES)),
        no_problems=NO_PROBLEMS,
    )


def _file(entry: dict[str, Any], picture: thumbnails.Thumbnail | None) -> dict[str, Any]:
    severities = sorted({problem["severity"] for problem in entry["problems"]}) or [NO_PROBLEMS]
    return {
        **entry,
        "severities": " ".join(severities),
        "thumbnail": picture.data_uri() if picture is not None and picture.png else None,
        "thumbnail_note": picture.note if picture is not None else "",
    }
