"""BIDS file names and JSON sidecars of images: what the subjects and images kinds both read.

A name is `key-value` pairs joined by `_`, then a suffix and an extension; values are kept whole (a value
holds everything up to the next `_`). The sidecar of `x.nii.gz` is `x.json` beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from neurodatahub.core import storage
from neurodatahub.core.budget import BudgetError
from neurodatahub.core.documents import load_json, load_text
from neurodatahub.core.errors import InputError
from neurodatahub.core.imaging.nifti import stem as nifti_stem

EXTENSION = re.compile(r"(\.[A-Za-z0-9]+)+$")


def split_name(name: str) -> tuple[dict[str, str], str | None, str]:
    """Entities, suffix and extension of a file name (`sub-01_label-WMH_mask.nii.gz`).

    A part without `-` is the suffix only when it is the last part; a value keeps everything up to the
    next `_`, so `desc-my-thing` gives `my-thing` rather than being dropped or truncated.
    """
    match = EXTENSION.search(name)
    extension = match.group(0) if match else ""
    stem = name[: len(name) - len(extension)]
    entities: dict[str, str] = {}
    suffix = None
    parts = stem.split("_")
    for position, part in enumerate(parts):
        key, sep, value = part.partition("-")
        if sep and key:
            entities[key] = value
        elif position == len(parts) - 1:
            suffix = part
    return entities, suffix, extension


def resolution_from_label(text: str) -> float | None:
    """A `res-` label as a voxel size ("1p5" -> 1.5); None when it is not a number (templateflow's "hi")."""
    try:
        return float(text.replace("p", "."))
    except ValueError:
        return None


def read_sidecar(url: str, storage_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON next to a NIfTI file (same name, .json), or {} when there is none."""
    sidecar = url[: len(url) - len(url.rstrip("/").rsplit("/", 1)[-1])] + nifti_stem(url) + ".json"
    if not storage.exists(sidecar, storage_options):
        return {}
    try:  # within the memory budget; too deep nesting and too long numbers are refused as bad JSON
        content = load_json(load_text(sidecar, storage_options), sidecar)
    except BudgetError:
        raise
    except InputError as error:
        reason = str(error).removeprefix(f"{sidecar}: ")
        raise InputError(f"{sidecar}: not a JSON sidecar ({reason})") from error
    if not isinstance(content, dict):
        raise InputError(f"{sidecar}: a JSON sidecar is an object")
    return content


def sidecar_resolution(sidecar: Mapping[str, Any]) -> float | None:
    """A number, or text starting with one ("2 mm isotropic"); BIDS lets Resolution be free text."""
    value = sidecar.get("Resolution")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.split():
        try:
            return float(value.split()[0])
        except ValueError:
            return None
    return None


def name_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]
