"""Lookup tables of parcellations from every source qsiparc reads (docs/kinds/regions.md), as validated
AtlasLUT models, and BIDS `dseg.tsv` text to write one: what the regions and images kinds share.

Sources: a TSV (or CSV) with a header, whose index column is the first of index, id, region_id (else
column 0) and name column the first of name, label, region, label_name, region_name (else column 1),
with an optional hemisphere column; a header-less FreeSurfer `index name R G B A` text; JSON as
`{"1": "name"}` or `[{"index": 1, "name": "..."}]`; or, with no table at all, the labels of the image
named `region_0001`... Index 0 (background) is skipped. Where qsiparc would pass a bad index on (NaN,
text) or crash, the hub names the row and stops.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import ValidationError

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError, InvalidDataError

INDEX_COLUMNS = ("index", "id", "region_id")
NAME_COLUMNS = ("name", "label", "region", "label_name", "region_name")
HEMISPHERE_WORDS = {
    "l": "L",
    "lh": "L",
    "left": "L",
    "r": "R",
    "rh": "R",
    "right": "R",
    "bilateral": "bilateral",
    "b": "bilateral",
    "both": "bilateral",
}
LEFT_PREFIXES = ("lh_", "lh-", "lh.", "left_", "left-", "l_")
LEFT_SUFFIXES = ("_lh", "-lh", "_left", "-left", "_l")
RIGHT_PREFIXES = ("rh_", "rh-", "rh.", "right_", "right-", "r_")
RIGHT_SUFFIXES = ("_rh", "-rh", "_right", "-right", "_r")


def infer_hemisphere(name: str) -> str:
    """L, R or bilateral from a region name: lh_/left_/l_ prefixes, _lh/_l suffixes, _LH_ inside."""
    lower = name.lower()
    if lower.startswith(LEFT_PREFIXES) or lower.endswith(LEFT_SUFFIXES):
        return "L"
    if lower.startswith(RIGHT_PREFIXES) or lower.endswith(RIGHT_SUFFIXES):
        return "R"
    if "_lh_" in lower:
        return "L"
    if "_rh_" in lower:
        return "R"
    return "bilateral"


def _index(value: Any, where: str, source: str) -> int:
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number != int(number):
        raise InvalidDataError(f"{source}: {where}: region index {text!r} is not an integer")
    if number < 0:
        raise InvalidDataError(f"{source}: {where}: region index {int(number)} is negative")
    return int(number)


def _hemisphere(value: Any, name: str, where: str, source: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text or text.lower() in ("nan", "n/a"):
        return infer_hemisphere(name)
    found = HEMISPHERE_WORDS.get(text.lower())
    if found is None:
        raise InvalidDataError(f"{source}: {where}: hemisphere {text!r} is not L, R or bilateral")
    return found


def _color(value: Any) -> list[int] | None:
    """A `#rrggbb[aa]` colour (BIDS dseg.tsv) as RGBA."""
    text = str(value or "").strip().lstrip("#")
    if len(text) not in (6, 8):
        return None
    try:
        channels = [int(text[i : i + 2], 16) for i in range(0, len(text), 2)]
    except ValueError:
        return None
    return channels + [255] * (4 - len(channels))


def build_lut(entries: Sequence[Mapping[str, Any]], atlas_name: str, source: str | None) -> Any:
    """A validated AtlasLUT from region entries (index 0 dropped), with one clear error when invalid."""
    from neurodatahub.core.models import AtlasLUT

    regions = [entry for entry in entries if entry["index"] != 0]
    try:
        return AtlasLUT(atlas_name=atlas_name, regions=regions, source=source)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidDataError(f"{source or 'lookup table'}: {where}: {message}") from error


def _delimited(lines: list[str], delimiter: str, source: str) -> list[dict[str, Any]]:
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = [name.strip().lower() for name in rows[0]]
    if len(header) < 2:
        raise InvalidDataError(f"{source}: a lookup table needs an index and a name column, found {header}")
    index_at = next((header.index(c) for c in INDEX_COLUMNS if c in header), 0)
    name_at = next((header.index(c) for c in NAME_COLUMNS if c in header), 1)
    hemi_at = header.index("hemisphere") if "hemisphere" in header else None
    color_at = header.index("color") if "color" in header else None
    entries = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(index_at, name_at):
            raise InvalidDataError(f"{source}: line {number} has {len(row)} fields for {len(header)} columns")
        where = f"line {number}"
        name = row[name_at].strip()
        entry = {"index": _index(row[index_at], where, source), "name": name}
        entry["hemisphere"] = _hemisphere(row[hemi_at] if hemi_at is not None else None, name, where, source)
        if color_at is not None and _color(row[color_at]):
            entry["color"] = _color(row[color_at])
        entries.append(entry)
    return entries


def _freesurfer(lines: list[str], source: str) -> list[dict[str, Any]]:
    """`index name [R G B A]` lines; comments and blank lines skipped."""
    entries = []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 2:
            raise InvalidDataError(f"{source}: line {number}: expected `index name [R G B A]`, got {line!r}")
        entry: dict[str, Any] = {"index": _index(parts[0], f"line {number}", source), "name": parts[1]}
        entry["hemisphere"] = infer_hemisphere(parts[1])
        if len(parts) >= 6 and all(part.isdigit() for part in parts[2:6]):
            red, green, blue, alpha = (int(part) for part in parts[2:6])
            entry["color"] = [red, green, blue, 255 - alpha]  # FreeSurfer's A is transparency
        entries.append(entry)
    return entries


def _json_entries(data: Any, source: str) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        return [
            {
                "index": _index(key, f"key {key!r}", source),
                "name": str(name),
                "hemisphere": infer_hemisphere(str(name)),
            }
            for key, name in data.items()
        ]
    if not isinstance(data, list):
        raise InvalidDataError(f"{source}: a JSON lookup table is an object or a list of objects")
    entries = []
    for number, item in enumerate(data):
        if not isinstance(item, dict) or not ({"index", "id"} & set(item)):
            raise InvalidDataError(f"{source}: entry {number} has no index")
        index = _index(item.get("index", item.get("id")), f"entry {number}", source)
        name = str(item.get("name", item.get("label", f"region_{index}")))
        hemisphere = _hemisphere(item.get("hemisphere"), name, f"entry {number}", source)
        entries.append({"index": index, "name": name, "hemisphere": hemisphere})
    return entries


def parse_lut_text(text: str, source: str) -> list[dict[str, Any]]:
    """Region entries from the text of any table format, told apart by content, not by extension."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        try:
            return _json_entries(json.loads(stripped), source)
        except json.JSONDecodeError as error:
            raise InputError(f"{source}: invalid JSON at line {error.lineno}: {error.msg}") from error
    lines = stripped.splitlines()
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), None)
    if first is None:
        raise InvalidDataError(f"{source}: the lookup table is empty")
    delimiter = "\t" if "\t" in first else ("," if "," in first else None)
    leading = (first.split(delimiter) if delimiter else first.split())[0].strip()
    if leading.lstrip("-").isdigit():
        return _freesurfer(lines, source)
    if delimiter is None and len(first.split()) < 2:
        raise InvalidDataError(f"{source}: a lookup table needs an index and a name column, found {first!r}")
    if delimiter is None:
        raise InvalidDataError(f"{source}: a lookup table with a header must be tab- or comma-separated")
    return _delimited(lines[lines.index(first) :], delimiter, source)


def read_lut(source: str, atlas_name: str, storage_options: Mapping[str, Any] | None = None) -> Any:
    """The lookup table at `source` (any URL, any format above)."""
    with storage.open_read(str(source), storage_options) as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{source}: a lookup table must be UTF-8 text") from error
    return build_lut(parse_lut_text(text, str(source)), atlas_name, str(source))


def lut_from_labels(labels: np.ndarray, atlas_name: str, source: str | None = None) -> Any:
    """Every non-zero label of an image, named region_0001...; qsiparc's fall-back when no table exists."""
    found = np.unique(labels)
    entries = [
        {"index": int(index), "name": f"region_{int(index):04d}", "hemisphere": "bilateral"}
        for index in found[found > 0].tolist()
    ]
    return build_lut(entries, atlas_name, source)


def dseg_tsv(lut: Any) -> str:
    """A BIDS `dseg.tsv` (index, name, hemisphere[, color]) that `read_lut` reads back equal (an unknown
    hemisphere is left empty: the reader infers it from the name, as from any table without one)."""
    with_color = any(region.color is not None for region in lut.regions)
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(["index", "name", "hemisphere", *(["color"] if with_color else [])])
    for region in lut.regions:
        hemisphere = getattr(region.hemisphere, "value", region.hemisphere) or ""
        row = [region.index, region.name, hemisphere]
        if with_color:
            row.append("" if region.color is None else "#" + "".join(f"{int(v):02x}" for v in region.color))
        writer.writerow(row)
    return out.getvalue()
