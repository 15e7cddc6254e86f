"""Manifests: a CSV, TSV or YAML list of sources, each with its target and options.

Columns (or keys): `source` (required), `target` (else the destination given on the command line),
`from` and `to` (formats), and any other column is an option of that row, routed to the reader or the
writer as `--style`, `--fs` or `-O` are (`style=ragged`, `sampling_rate=30000`). Empty cells are absent.
Relative paths are relative to the manifest's own folder, so a manifest travels with its dataset.
YAML holds a list of mappings, or a mapping with an `entries` list; a row's options may also sit in an
`options` mapping of their own (`options: {style: ragged}`), as YAML is usually written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from neurodatahub.core import documents, storage
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.datasets.plan import Source

RESERVED = ("source", "target", "from", "to")
NESTED = "options"  # a YAML row's own mapping of options


def read_manifest(url: str, storage_options: Mapping[str, Any] | None = None) -> list[Source]:
    """The manifest's rows as sources, named directly (a row that is not convertible is a failure)."""
    with storage.open_read(url, storage_options) as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{url}: not UTF-8 text ({error.reason} at byte {error.start})") from error
    lowered = url.lower()
    if lowered.endswith((".yaml", ".yml", ".json")):
        rows = _yaml_rows(url, text)
    elif lowered.endswith((".csv", ".tsv", ".txt")):
        delimiter = "," if lowered.endswith(".csv") else "\t"
        try:
            rows = [_parsed_cells(row) for row in csv.DictReader(io.StringIO(text), delimiter=delimiter)]
        except csv.Error as error:  # a field past csv's limit, a NUL byte
            raise InputError(f"{url}: not a readable manifest ({error})") from error
    else:
        raise UsageError(f"{url}: a manifest is a .csv, .tsv, .yaml or .json file")
    folder = _folder_of(url)
    sources = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping) or not row.get("source"):
            raise InputError(f"{url}: row {number} has no source")
        source = _resolved(str(row["source"]), folder)
        target = _resolved(str(row["target"]), folder) if row.get("target") else None
        options = _options(row, url, number)
        sources.append(
            Source(
                url=source,
                relpath=PurePosixPath(source.rstrip("/")).name,
                named=True,
                target=target,
                from_format=row.get("from") or None,
                to_format=row.get("to") or None,
                options=options,
            )
        )
    if not sources:
        raise InputError(f"{url}: the manifest lists no source")
    return sources


def _options(row: Mapping[str, Any], url: str, number: int) -> dict[str, Any]:
    """A row's options: its other keys, and those of its `options` mapping (one key given both ways is
    refused rather than one of them silently winning)."""
    flat = {str(key): value for key, value in row.items() if key not in (*RESERVED, NESTED)}
    nested = row.get(NESTED) or {}
    if not isinstance(nested, Mapping):
        raise InputError(f"{url}: row {number}: '{NESTED}' must be a mapping of option names to values")
    twice = sorted(set(flat) & {str(key) for key in nested})
    if twice:
        raise InputError(f"{url}: row {number} gives option {twice[0]} twice (beside and in '{NESTED}')")
    merged = {**flat, **{str(key): value for key, value in nested.items()}}
    return {key: value for key, value in merged.items() if value not in ("", None)}


def _yaml_rows(url: str, text: str) -> list[Any]:
    loaded = documents.load_yaml(text, url)  # aliases counted expanded against the budget, depth bounded
    if isinstance(loaded, Mapping):
        loaded = loaded.get("entries")
    if not isinstance(loaded, list):
        raise InputError(f"{url}: a YAML manifest is a list of entries (or a mapping with 'entries')")
    return loaded


def _parsed_cells(row: Mapping[str, str | None]) -> dict[str, Any]:
    """Cells of a CSV/TSV row; option cells are read as YAML scalars, as -O KEY=VALUE values are."""
    from neurodatahub.core.terminal import pairs

    cells: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or value.strip() == "":
            continue
        key = key.strip()
        cells[key] = value.strip() if key in RESERVED else pairs([f"{key}={value.strip()}"], key)[key]
    return cells


def _folder_of(url: str) -> str:
    if storage.is_local(url):
        return str(storage.local_path(url).resolve().parent)
    return url.rsplit("/", 1)[0]


def _resolved(path: str, folder: str) -> str:
    """A path of the manifest, relative to its folder unless absolute or a URL."""
    if "://" in path or path.startswith("/"):
        return path
    if storage.is_local(folder):
        return str(storage.local_path(folder) / path)
    return f"{folder}/{path}"
