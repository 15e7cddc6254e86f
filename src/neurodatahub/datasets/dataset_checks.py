"""Checks across the files of a dataset, on the facts workers sent back (no file is read again).

A subject's images declared in one space must share one grid; a subject's images should sit in one
space; a parcellation's labels must all be in its lookup table; a connectome's labels must be its
atlas's regions where the atlas's table is in the dataset; a format's companion files (the JSON sidecar
of an MRtrix CSV) must be beside it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import PurePosixPath

from neurodatahub.datasets.checks import define
from neurodatahub.datasets.results import CHECKED, FileResult, Problem
from neurodatahub.subjects.bids.entities import split_name

GRID = define(
    "NDH201",
    "subject-grid",
    "error",
    "Images of one subject declared in the same space and resolution are on different grids (shape or"
    " affine)",
)
SPACES = define(
    "NDH202",
    "subject-spaces",
    "warning",
    "The images of one subject are not all in one space (several spaces, or some with none)",
)
LUT_LABELS = define(
    "NDH203",
    "parcellation-lut",
    "error",
    "A parcellation holds labels its lookup table (its own, or the table beside it in the dataset) lacks",
)
ATLAS_LABELS = define(
    "NDH204",
    "connectome-atlas",
    "error",
    "A connectome's region labels are not the regions of its atlas, whose lookup table is in the dataset",
)
COMPANION = define(
    "NDH205",
    "companion-file",
    "warning",
    "A file lacks the companion its format keeps beside it (the JSON sidecar of an MRtrix CSV connectome, a"
    " parcellation's table when no table of its atlas is in the dataset)",
)
SUBJECT_FOLDER = re.compile(r"^sub-([A-Za-z0-9]+)$")
SHOWN = 5  # labels named in a message


def check(results: list[FileResult], scopes: Mapping[str, str] | None = None) -> list[Problem]:
    """The problems across files; `scopes` maps each file to its dataset (a BIDS root, an input), so
    that sub-01 of one dataset is not sub-01 of another."""
    checked = [result for result in results if result.status == CHECKED]
    return [
        *_grids(checked, scopes or {}),
        *_luts(checked, results),
        *_atlases(checked, results),
        *_companions(results),
    ]


@lru_cache(maxsize=65536)
def entities_of(url: str) -> dict[str, str]:
    return split_name(PurePosixPath(url).name)[0]


def subject_of(url: str) -> str | None:
    """The sub- entity of the name, else of a folder above it."""
    entities = entities_of(url)
    if "sub" in entities:
        return entities["sub"]
    for part in reversed(PurePosixPath(url).parts[:-1]):
        match = SUBJECT_FOLDER.match(part)
        if match:
            return match.group(1)
    return None


def _grids(results: Iterable[FileResult], scopes: Mapping[str, str]) -> list[Problem]:
    by_subject: dict[tuple[str, str], list[FileResult]] = defaultdict(list)
    for result in results:
        subject = subject_of(result.url)
        if "grid" in result.facts and subject is not None:
            by_subject[(scopes.get(result.url, ""), subject)].append(result)
    problems = []
    for (_, subject), images in sorted(by_subject.items()):
        spaces = {_space(image) for image in images}
        if len(spaces) > 1 and spaces != {None}:
            named = ", ".join(sorted(space or "none" for space in spaces))
            problems += [
                Problem(
                    SPACES.code,
                    f"{image.url}: subject {subject}'s images are in several spaces ({named})",
                    image.url,
                )
                for image in images
            ]
        groups: dict[tuple, list[FileResult]] = defaultdict(list)
        for image in images:
            if _space(image) is not None:
                groups[(_space(image), _resolution(image))].append(image)
        for (space, _), members in sorted(groups.items(), key=lambda pair: str(pair[0])):
            reference = members[0]
            for image in members[1:]:
                if image.facts["grid"] != reference.facts["grid"]:
                    problems.append(
                        Problem(
                            GRID.code,
                            f"{image.url}: grid {_grid_text(image)} differs from {reference.url}"
                            f" ({_grid_text(reference)}), both subject {subject} in {space}",
                            image.url,
                        )
                    )
    return problems


def _space(result: FileResult) -> str | None:
    return result.facts.get("space") or entities_of(result.url).get("space")


def _resolution(result: FileResult) -> str | None:
    return entities_of(result.url).get("res") or (
        str(result.facts["resolution"]) if result.facts.get("resolution") else None
    )


def _grid_text(result: FileResult) -> str:
    shape = "x".join(str(size) for size in result.facts["grid"]["shape"])
    diagonal = [row[axis] for axis, row in enumerate(result.facts["grid"]["affine"][:3])]
    return f"{shape}, affine diagonal {diagonal}"


def _stem(url: str) -> str:
    name = PurePosixPath(url).name
    return url[: len(url) - len(name)] + name.split(".", 1)[0]


def _atlas_of(url: str) -> str | None:
    return entities_of(url).get("atlas") or entities_of(url).get("seg")


def _tables(results: Iterable[FileResult]) -> list[FileResult]:
    """Lookup tables: files whose facts list region indices and names (dseg.tsv, tables read as LUTs)."""
    return [result for result in results if "region_names" in result.facts and "lut" in result.facts]


def _table_for(result: FileResult, tables: list[FileResult]) -> FileResult | None:
    """The table beside a file (same stem), else one of the same atlas- (seg-) entity."""
    for table in tables:
        if _stem(table.url) == _stem(result.url):
            return table
    atlas = result.facts.get("atlas") or _atlas_of(result.url)
    matching = [table for table in tables if atlas is not None and _atlas_of(table.url) == atlas]
    return matching[0] if len(matching) == 1 else None


def _luts(checked: list[FileResult], results: list[FileResult]) -> list[Problem]:
    tables = _tables(results)
    problems = []
    for result in checked:
        if "labels" not in result.facts:
            continue
        table = _table_for(result, tables)
        known = set(result.facts.get("lut") or []) or (set(table.facts["lut"]) if table else set())
        if not known:
            continue
        missing = sorted(set(result.facts["labels"]) - known)
        if missing:
            source = table.url if table is not None and not result.facts.get("lut") else "its own table"
            problems.append(
                Problem(
                    LUT_LABELS.code,
                    f"{result.url}: {len(missing)} label(s) not in {source}: {_listed(missing)}",
                    result.url,
                )
            )
    return problems


def _atlases(checked: list[FileResult], results: list[FileResult]) -> list[Problem]:
    tables = _tables(results)
    problems = []
    for result in checked:
        labels = result.facts.get("region_labels")
        if labels is None:
            continue
        table = _table_for(result, tables)
        if table is None:
            continue
        names = set(table.facts["region_names"])
        indices = {str(index) for index in table.facts["lut"]}
        unknown = [label for label in labels if label not in names and label not in indices]
        if unknown or len(labels) != len(names):
            problems.append(
                Problem(
                    ATLAS_LABELS.code,
                    f"{result.url}: {len(labels)} region labels against {len(names)} regions of"
                    f" {table.url}" + (f"; not in it: {_listed(unknown)}" if unknown else ""),
                    result.url,
                )
            )
    return problems


def _companions(results: list[FileResult]) -> list[Problem]:
    """Companions a format writes beside its files; a parcellation whose labels a table of its atlas in
    the dataset names needs none beside it."""
    from neurodatahub.core.registry import formats_named

    urls = {result.url for result in results}
    tables = _tables(results)
    problems = []
    for result in results:
        if result.format is None or result.kind in (None, "bids-metadata"):
            continue
        if "labels" in result.facts and (result.facts.get("lut") or _table_for(result, tables)):
            continue
        spec = next((spec for spec in formats_named(result.format) if spec.kind == result.kind), None)
        if spec is None or spec.sidecars is None:
            continue
        for companion in spec.sidecars(result.url):
            if companion not in urls:
                problems.append(Problem(COMPANION.code, f"{result.url}: {companion} is missing", result.url))
    return problems


def _listed(values: list) -> str:
    shown = ", ".join(str(value) for value in values[:SHOWN])
    return shown + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")
