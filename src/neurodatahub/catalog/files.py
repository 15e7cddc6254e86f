"""Catalog queries down to files: `ls` (what matches, and whether it is here), `get` (local paths,
downloading only the matching files that are missing), `load` (the validated model of one file) and
`verify` (re-hash what is local against the published or first-use digest).

TemplateFlow's `api.get('MNI152NLin6Asym', atlas='Schaefer2018', desc='400Parcels7Networks',
resolution=2, suffix='dseg')` is `get('schaefer2018', space='MNI152NLin6Asym', n_regions=400, networks=7,
resolution=2, suffix='dseg')` here: the facts are fields of each file in the schema, not parts of a name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurodatahub.catalog import query, registry, trust
from neurodatahub.core import kinds
from neurodatahub.core.errors import InputError, UsageError

LOCAL_SOURCE = "local"
LUT_SUFFIX = "lut"
FILE_COLUMNS = (
    "entry",
    "file",
    "suffix",
    "space",
    "resolution",
    "density",
    "hemisphere",
    "n_regions",
    "networks",
    "desc",
)


def local_path(entry: dict[str, Any], file: dict[str, Any]) -> Path:
    """Where a file of an entry is (or will be) on this machine."""
    if entry["source_type"] == LOCAL_SOURCE:
        return Path(file["url"])
    record = registry.find_record(entry["name"])
    if record is not None:
        location = Path(record["path"])
        if location.is_file():
            return location if location.name == file["name"] else location.with_name(file["name"])
        return location / file["name"]
    return registry.default_location(entry["name"], entry["kind"]) / file["name"]


def hash_reference(
    entry: dict[str, Any], file: dict[str, Any], trusted_hashes: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """What a file is checked against: the published digest, the first-use one, or nothing yet."""
    checksum = file.get("checksum") or {}
    if checksum.get("algorithm", "unknown") != "unknown":
        return {"algorithm": checksum["algorithm"], "digest": checksum["value"], "origin": "published"}
    hashes = trust.records() if trusted_hashes is None else trusted_hashes
    trusted = hashes.get(trust.key(entry["name"], file["name"]))
    if trusted is not None:
        return {
            "algorithm": "sha256",
            "digest": trusted["sha256"],
            "origin": f"first use {trusted['recorded_at']}",
        }
    return {"algorithm": "unknown", "digest": None, "origin": "none yet (recorded on first download)"}


def ls(entry: str | None = None, **filters: Any) -> list[dict[str, Any]]:
    """One row per matching file: its facts, where it is if it is here, and what it is checked against."""
    rows = []
    hashes = trust.records()
    for document, file in query.files(entry, filters, required=True):
        path = local_path(document, file)
        reference = hash_reference(document, file, hashes)
        rows.append(
            {
                "entry": document["name"],
                "file": file["name"],
                **{key: file.get(key) for key in FILE_COLUMNS[2:]},
                "format": file.get("format"),
                "size_bytes": file.get("size_bytes"),
                "hash": reference["algorithm"],
                "hash_origin": reference["origin"],
                "local_path": str(path) if path.exists() else None,
                "source": document.get("source"),
            }
        )
    return rows


def get(
    entry: str | None = None,
    *,
    api_key: str | None = None,
    force: bool = False,
    progress_callback: Callable[[Any], None] | None = None,
    **filters: Any,
) -> list[Path]:
    """Local paths of the matching files, downloading (and verifying) only those that are missing."""
    from neurodatahub.catalog.fetching import download_files

    matched = query.files(entry, filters, required=True)
    paths = [local_path(document, file) for document, file in matched]
    missing: dict[str, tuple[dict[str, Any], set[str], Path]] = {}
    for (document, file), path in zip(matched, paths, strict=True):
        if path.exists() and not force:
            continue
        if document["source_type"] == LOCAL_SOURCE:
            raise InputError(f"{document['name']}: its file {path} is no longer there")
        _, names, folder = missing.setdefault(document["name"], (document, set(), path.parent))
        names.add(file["name"])
    for name, (_, names, folder) in missing.items():
        download_files(name, names, folder, api_key=api_key, force=force, progress_callback=progress_callback)
    return paths


def load(entry: str | None = None, *, api_key: str | None = None, **filters: Any) -> Any:
    """The validated model of the one file matching the query (read through the format registry), its
    lookup table downloaded beside it and handed to readers that take one, with the space the catalog
    gives it."""
    from neurodatahub.core import conversion, registry as formats

    matched = query.files(entry, filters, required=True)
    tables = {
        (document["name"], file.get("lookup_table")) for document, file in matched if file.get("lookup_table")
    }
    chosen = [
        (document, file) for document, file in matched if (document["name"], file["name"]) not in tables
    ]
    if len(chosen) != 1:
        listed = ", ".join(f"{document['name']}/{file['name']}" for document, file in chosen[:10])
        raise UsageError(
            f"load reads one file; {len(chosen)} match {query.describe(filters)}: {listed}; narrow the query"
        )
    document, file = chosen[0]
    wanted = {file["name"], *([file["lookup_table"]] if file.get("lookup_table") else [])}
    paths = get(document["name"], api_key=api_key, file=sorted(wanted))
    path = next(p for p in paths if p.name == file["name"])
    spec = formats.input_format(str(path))
    options: dict[str, Any] = {}
    if file.get("lookup_table"):
        lut = next(str(p) for p in paths if p.name == file["lookup_table"])
        options.update({name: lut for name in ("lut", "lookup_table") if spec.reads_option(name)})
    if file.get("space") and spec.reads_option("space"):  # the catalog knows what the header may not say
        options["space"] = file["space"]
    expected = kinds.enum_annotation("FileSuffix", "kind").get(file.get("suffix") or "")
    if expected and spec.kind != expected:
        raise InputError(
            f"{path}: a {file.get('suffix')} file should read as {expected} data,"
            f" but it reads as {spec.kind} ({spec.name})"
        )
    return conversion.read_as(spec, str(path), **options)


def verify(entry: str | None = None) -> list[dict[str, Any]]:
    """Re-hash every local file (of one entry, or all) against its reference; one row per file."""
    from neurodatahub.core.storage import checksum_of

    rows = []
    hashes = trust.records()
    for document, file in query.files(entry, {}, required=False):
        path = local_path(document, file)
        if not path.is_file():
            continue
        reference = hash_reference(document, file, hashes)
        row = {
            "entry": document["name"],
            "file": file["name"],
            "path": str(path),
            "reference": reference["origin"],
        }
        if reference["digest"] is None:
            row["status"] = "unchecked"
        else:
            actual = checksum_of(str(path), reference["algorithm"])
            row["status"] = "ok" if actual == reference["digest"].lower() else "changed"
            row["actual"] = actual
        rows.append(row)
    return rows
