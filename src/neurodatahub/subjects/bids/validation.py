"""`validate_bids_derivatives`: lacuna's checks, plus those the official BIDS validator leaves out.

lacuna's rules. Errors: dataset_description.json missing, not JSON or not an object; Name, BIDSVersion
or GeneratedBy missing; GeneratedBy not a list of objects. Warnings: no subject folder; a top-level
folder that is neither a subject nor one BIDS allows; a subject (or session) folder without anat, func
or dwi.

Added, because bids-validator 2.x does not check them for derivatives: DatasetType must be "derivative";
every GeneratedBy entry needs a Name; every `atlas-<label>_description.json` needs Name and License; every
`*_dseg.tsv` needs the columns index and name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError
from neurodatahub.subjects.bids import BidsError
from neurodatahub.subjects.bids.tree import walk

SUBJECT_FOLDER = re.compile(r"^sub-[A-Za-z0-9]+$")
SESSION_FOLDER = re.compile(r"^ses-[A-Za-z0-9]+$")
ATLAS_FOLDER = re.compile(r"^atlas-[A-Za-z0-9]+$")
ATLAS_DESCRIPTION = re.compile(r"(^|/)atlas-[A-Za-z0-9]+_description\.json$")
DATA_FOLDERS = ("anat", "func", "dwi")  # lacuna's list
# top-level folders BIDS 1.11 allows besides subjects; QSIRecon keeps its atlases in atlases/
KNOWN_FOLDERS = ("code", "derivatives", "sourcedata", "stimuli", "phenotype", "atlases", "logs")
REQUIRED_FIELDS = ("Name", "BIDSVersion", "GeneratedBy")
Problem = tuple[str, str]  # (location relative to the root, message)


def _read_json(url: str, storage_options: Mapping[str, Any] | None) -> tuple[Any, str | None]:
    with storage.open_read(url, storage_options) as handle:
        raw = handle.read()
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"not valid JSON ({error})"


def _description(root: str, storage_options: Mapping[str, Any] | None) -> tuple[dict | None, list[Problem]]:
    where = "dataset_description.json"
    url = storage.join(root, where)
    if not storage.exists(url, storage_options):
        return None, [(where, "dataset_description.json is missing")]
    content, problem = _read_json(url, storage_options)
    if problem:
        return None, [(where, problem)]
    if not isinstance(content, dict):
        return None, [(where, "must be a JSON object")]
    errors = [
        (where, f"required field {field} is missing") for field in REQUIRED_FIELDS if field not in content
    ]
    generated = content.get("GeneratedBy")
    if "GeneratedBy" in content:
        if not isinstance(generated, list) or not all(isinstance(entry, dict) for entry in generated):
            errors.append((where, "GeneratedBy must be a list of objects"))
        else:
            errors += [
                (where, f"GeneratedBy[{index}] has no Name")
                for index, entry in enumerate(generated)
                if not isinstance(entry.get("Name"), str) or not entry["Name"]
            ]
            if not generated:
                errors.append((where, "GeneratedBy must name at least one pipeline"))
    if content.get("DatasetType") != "derivative":
        errors.append((where, f"DatasetType must be 'derivative', got {content.get('DatasetType')!r}"))
    return content, errors


def _layout(folders: list[str]) -> list[Problem]:
    warnings: list[Problem] = []
    top = [folder for folder in folders if "/" not in folder]
    subjects = [folder for folder in top if SUBJECT_FOLDER.match(folder)]
    if not subjects:
        warnings.append((".", "no subject folders (sub-<label>)"))
    for folder in top:
        if folder not in subjects and folder not in KNOWN_FOLDERS and not ATLAS_FOLDER.match(folder):
            warnings.append((folder, "unexpected folder: not sub-<label> nor a folder BIDS allows here"))
    for subject in subjects:
        children = {folder.split("/")[1] for folder in folders if folder.startswith(subject + "/")}
        sessions = [child for child in children if SESSION_FOLDER.match(child)]
        units = [(f"{subject}/{session}", f"{subject}/{session}/") for session in sessions] or [
            (subject, subject + "/")
        ]
        for unit, prefix in units:
            inside = {folder[len(prefix) :] for folder in folders if folder.startswith(prefix)}
            if not inside & set(DATA_FOLDERS):
                warnings.append((unit, f"no {', '.join(DATA_FOLDERS)} folder"))
    return warnings


def _atlas_descriptions(root: str, files: list[str], storage_options: Any) -> list[Problem]:
    errors = []
    for path in (path for path in files if ATLAS_DESCRIPTION.search(path)):
        content, problem = _read_json(storage.join(root, path), storage_options)
        if problem or not isinstance(content, dict):
            errors.append((path, problem or "must be a JSON object"))
            continue
        errors += [
            (path, f"atlas description needs {field}")
            for field in ("Name", "License")
            if not content.get(field)
        ]
    return errors


def _dseg_tables(root: str, files: list[str], storage_options: Any) -> list[Problem]:
    errors = []
    for path in (path for path in files if path.endswith("_dseg.tsv")):
        with storage.open_read(storage.join(root, path), storage_options) as handle:
            header = handle.readline().decode("utf-8", errors="replace").rstrip("\r\n").split("\t")
        missing = [column for column in ("index", "name") if column not in header]
        if missing:
            errors.append(
                (path, f"dseg.tsv needs the column(s) {', '.join(missing)} (has {', '.join(header)})")
            )
    return errors


def check_derivatives(
    root: str, storage_options: Mapping[str, Any] | None = None
) -> tuple[dict | None, list[Problem], list[Problem]]:
    """The dataset description (when readable), the errors and the warnings, located."""
    if not storage.is_dir(root, storage_options):
        raise InputError(f"{root}: no such folder")
    tree = walk(root, storage_options=storage_options)
    description, errors = _description(root, storage_options)
    errors += _atlas_descriptions(root, tree.files, storage_options)
    errors += _dseg_tables(root, tree.files, storage_options)
    return description, errors, _layout(tree.folders)


def as_lines(problems: list[Problem]) -> list[str]:
    return [message if location == "." else f"{location}: {message}" for location, message in problems]


def validate_bids_derivatives(
    derivatives_dir: str,
    raise_on_error: bool = True,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> dict[str, list[str]]:
    """{'errors': [...], 'warnings': [...]}; with raise_on_error, errors raise BidsError (lacuna's API)."""
    _, errors, warnings = check_derivatives(derivatives_dir, storage_options)
    if errors and raise_on_error:
        raise invalid(derivatives_dir, errors)
    return {"errors": as_lines(errors), "warnings": as_lines(warnings)}


def invalid(root: str, errors: list[Problem]) -> BidsError:
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return BidsError(
        f"{root} is not a valid BIDS derivatives dataset: {as_lines(errors[:1])[0]}{more}",
        [{"location": location, "message": message} for location, message in errors],
    )
