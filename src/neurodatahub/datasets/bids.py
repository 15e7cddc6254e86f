"""BIDS datasets inside a validated dataset: their metadata files, names and sidecars.

A folder with a `dataset_description.json` of a raw dataset is walked like any folder (derivatives are
one item, read by the `bids` format); below it, sidecars (`.json`), BIDS tables (`participants.tsv`,
`*_events.tsv`, ...) and the top-level texts are BIDS metadata: checked here by BIDS's rules instead of
being taken for data (a `participants.tsv` is no spike table). Data files keep their entities, and the
checks across files ask that each has the sidecars BIDS requires for its suffix, inherited from the
folders above as BIDS 1.11 says (same suffix, entities a subset of the file's).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from neurodatahub.core import storage
from neurodatahub.core.documents import load_json, load_text, read_text_bytes
from neurodatahub.core.errors import InputError
from neurodatahub.datasets.checks import define
from neurodatahub.datasets.inputs import Item
from neurodatahub.datasets.results import FileResult, Problem
from neurodatahub.subjects.bids.entities import split_name

BAD_JSON = define(
    "NDH301",
    "bids-json",
    "error",
    "A BIDS JSON file (sidecar, dataset_description.json) is not a JSON object",
)
DESCRIPTION = define(
    "NDH302", "bids-description", "error", "dataset_description.json lacks Name or BIDSVersion (BIDS 1.11)"
)
BAD_TABLE = define(
    "NDH303",
    "bids-table",
    "error",
    "A BIDS table (participants.tsv, *_events.tsv, a dseg lookup table...) is not a tab-separated table with"
    " a header and its required columns",
)
SIDECAR = define(
    "NDH304",
    "bids-sidecar",
    "error",
    "A BIDS data file lacks the sidecar its suffix requires, or a field the sidecar must hold (a BOLD run's"
    " RepetitionTime and TaskName, a DWI run's .bval and .bvec), inheritance included",
)
NAMING = define(
    "NDH305",
    "bids-name",
    "warning",
    "A file below sub-<label>/ (ses-<label>/) whose name does not start with the same sub- (ses-) entities",
)

DESCRIPTION_NAME = "dataset_description.json"
TOP_LEVEL_TEXTS = ("README", "CHANGES", "LICENSE", "CITATION.cff")
# BIDS tables (by suffix) and their required columns
TABLE_COLUMNS = {
    "participants": ("participant_id",),
    "samples": ("sample_id", "participant_id"),
    "sessions": ("session_id",),
    "scans": ("filename",),
    "events": ("onset", "duration"),
    "channels": ("name", "type", "units"),
    "electrodes": ("name", "x", "y", "z"),
    "dseg": ("index", "name"),
}
# fields a data file's sidecars must hold, by suffix; companions it needs beside it, by suffix
REQUIRED_FIELDS = {"bold": ("RepetitionTime", "TaskName"), "cbv": ("RepetitionTime",), "asl": ("M0Type",)}
REQUIRED_COMPANIONS = {"dwi": (".bval", ".bvec")}
METADATA_EXTENSIONS = (".json", ".bval", ".bvec")  # sidecars and gradient tables: no hub data


def roots(items: Iterable[Item], storage_options: Mapping[str, Any] | None) -> list[str]:
    """The raw BIDS datasets the items lie in: folders whose dataset_description.json is an item, or, for
    local files, sits in a folder above them (a pre-commit hook passes single files)."""
    candidates = {
        _absolute(item.url)[: -len(DESCRIPTION_NAME)].rstrip("/")
        for item in items
        if PurePosixPath(item.relpath).name == DESCRIPTION_NAME
    }
    looked: set[str] = set()
    for item in items:
        if not storage.is_local(item.url):
            continue
        folder = os.path.dirname(_absolute(item.url))
        while folder not in looked:
            looked.add(folder)
            if os.path.isfile(os.path.join(folder, DESCRIPTION_NAME)):
                candidates.add(folder)
            folder = os.path.dirname(folder)
    return sorted(root for root in candidates if _is_raw(root, storage_options))


def _is_raw(root: str, storage_options: Mapping[str, Any] | None) -> bool:
    url = storage.join(root, DESCRIPTION_NAME)
    try:
        description = load_json(load_text(url, storage_options), url)
    except InputError:
        return True  # a broken description still makes a BIDS dataset: its check says why
    return not isinstance(description, dict) or description.get("DatasetType", "raw") in ("raw", "study")


def _absolute(url: str) -> str:
    return os.path.abspath(storage.local_path(url)) if storage.is_local(url) else url


def root_of(url: str, bids_roots: Iterable[str]) -> str | None:
    absolute = _absolute(url)
    for root in sorted(bids_roots, key=len, reverse=True):
        if absolute.startswith(root.rstrip("/") + "/"):
            return root
    return None


def is_metadata(url: str, root: str | None) -> bool:
    """A BIDS sidecar, table or top-level text; `_dseg.tsv` lookup tables count anywhere."""
    name = PurePosixPath(url).name
    _, suffix, extension = split_name(name)
    if extension == ".tsv" and suffix == "dseg":
        return True
    if root is None:
        return False
    at_top = _absolute(url)[len(root.rstrip("/")) + 1 :].count("/") == 0
    if at_top and (name.startswith(TOP_LEVEL_TEXTS) or name == DESCRIPTION_NAME):
        return True
    return extension in METADATA_EXTENSIONS or (extension == ".tsv" and suffix in TABLE_COLUMNS)


def check_metadata(item: Item, storage_options: Mapping[str, Any] | None) -> FileResult:
    """A BIDS metadata file read as BIDS says; facts keep a sidecar's keys and a lookup table's labels."""
    result = FileResult(item.url, item.relpath, format="bids", kind="bids-metadata")
    name = PurePosixPath(item.url).name
    _, suffix, extension = split_name(name)
    raw = read_text_bytes(item.url, storage_options)  # within the memory budget: as untrusted as data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        result.problems.append(Problem(BAD_JSON.code, f"{item.url}: not UTF-8 text ({error})", item.url))
        return result
    if extension == ".json":
        result.problems += _json_problems(item.url, name, text, result.facts)
    elif extension == ".tsv":
        result.problems += _table_problems(item.url, suffix, text, result.facts)
    return result


def _json_problems(url: str, name: str, text: str, facts: dict[str, Any]) -> list[Problem]:
    try:  # nesting too deep and numbers too long are invalid JSON too (load_json)
        content = load_json(text, url)
    except InputError as error:
        return [Problem(BAD_JSON.code, str(error), url)]
    if not isinstance(content, dict):
        return [Problem(BAD_JSON.code, f"{url}: must be a JSON object", url)]
    facts["sidecar_keys"] = sorted(content)
    if name != DESCRIPTION_NAME:
        return []
    return [
        Problem(DESCRIPTION.code, f"{url}: required field {field} is missing", url, field)
        for field in ("Name", "BIDSVersion")
        if field not in content
    ]


def _table_problems(url: str, suffix: str | None, text: str, facts: dict[str, Any]) -> list[Problem]:
    rows = [line.split("\t") for line in text.splitlines() if line.strip()]
    if not rows:
        return [Problem(BAD_TABLE.code, f"{url}: empty table (a BIDS table has a header row)", url)]
    header = rows[0]
    problems = [
        Problem(
            BAD_TABLE.code,
            f"{url}: line {number} has {len(row)} cells where the header has {len(header)}",
            url,
            f"line {number}",
        )
        for number, row in enumerate(rows[1:], start=2)
        if len(row) != len(header)
    ]
    missing = [column for column in TABLE_COLUMNS.get(suffix or "", ()) if column not in header]
    if missing:
        problems.append(
            Problem(BAD_TABLE.code, f"{url}: needs the column(s) {', '.join(missing)}", url, "header")
        )
    if suffix == "dseg" and not problems:
        index, name = header.index("index"), header.index("name")
        try:
            facts["lut"] = sorted(int(row[index]) for row in rows[1:])
        except ValueError as error:
            return [Problem(BAD_TABLE.code, f"{url}: an index is not a whole number ({error})", url)]
        facts["region_names"] = [row[name] for row in rows[1:]]
    return problems


def check_dataset(results: list[FileResult], bids_roots: list[str]) -> list[Problem]:
    """Sidecars and names of the data files of each BIDS dataset (no file is read: facts only)."""
    problems: list[Problem] = []
    sidecars = _by_folder(
        {result.url: result.facts.get("sidecar_keys") for result in results if result.kind == "bids-metadata"}
    )
    companions = _by_folder({result.url: [] for result in results if result.url.endswith((".bval", ".bvec"))})
    for result in results:
        root = root_of(result.url, bids_roots)
        if root is None or result.kind == "bids-metadata":
            continue
        entities, suffix, _ = split_name(PurePosixPath(result.url).name)
        problems += _naming(result.url, root, entities)
        inherited = _inherited(result.url, root, entities, suffix, sidecars)
        keys = {key for _, found in inherited for key in (found or [])}
        missing = [field for field in REQUIRED_FIELDS.get(suffix or "", ()) if field not in keys]
        if missing:
            where = ", ".join(url for url, _ in inherited) if inherited else "no sidecar"
            problems.append(
                Problem(
                    SIDECAR.code,
                    f"{result.url}: its sidecars ({where}) lack {', '.join(missing)}",
                    result.url,
                )
            )
        for companion in REQUIRED_COMPANIONS.get(suffix or "", ()):
            found = _inherited(result.url, root, entities, suffix, companions)
            if not any(url.endswith(companion) for url, _ in found):
                problems.append(
                    Problem(SIDECAR.code, f"{result.url}: no {companion} file for it", result.url)
                )
    return problems


def _by_folder(files: Mapping[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """Files by the absolute folder they lie in, with their facts."""
    folders: dict[str, list[tuple[str, Any]]] = {}
    for url, facts in files.items():
        folders.setdefault(os.path.dirname(_absolute(url)), []).append((url, facts))
    return folders


def _naming(url: str, root: str, entities: Mapping[str, str]) -> list[Problem]:
    folders = _absolute(url)[len(root.rstrip("/")) + 1 :].split("/")[:-1]
    problems = []
    for folder in folders[:2]:
        key, _, value = folder.partition("-")
        if key in ("sub", "ses") and value and entities.get(key) != value:
            problems.append(
                Problem(
                    NAMING.code, f"{url}: lies in {folder}/ but its name says {key}-{entities.get(key)}", url
                )
            )
    return problems


def _inherited(
    url: str,
    root: str,
    entities: Mapping[str, str],
    suffix: str | None,
    by_folder: Mapping[str, list[tuple[str, Any]]],
) -> list[tuple[str, Any]]:
    """The files that apply to `url` by BIDS inheritance, nearest last: in its folder or one above it up
    to the root, of the same suffix, with entities a subset of its own."""
    found = []
    folder = os.path.dirname(_absolute(url))
    while folder.startswith(root.rstrip("/")):
        for candidate, facts in by_folder.get(folder, ()):
            their, their_suffix, _ = split_name(PurePosixPath(candidate).name)
            if their_suffix == suffix and all(entities.get(key) == value for key, value in their.items()):
                found.append((candidate, facts))
        if folder == root.rstrip("/"):
            break
        folder = os.path.dirname(folder)
    return found[::-1]
