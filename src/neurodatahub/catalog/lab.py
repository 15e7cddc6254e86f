"""A lab's own entries: `hub catalog register NAME FILES --kind ...` (or `--entry entry.yaml`) checks the
files, writes a schema-valid entry of source type `local` into the registry, and the entry joins the stack
(`list`, `search`, `show`, `ls`, `get`, `load`); `hub catalog new` writes an entry skeleton for a lab's
published catalog.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neurodatahub.catalog import checking, registry
from neurodatahub.core.errors import InputError, UsageError

FILE_ONLY_FACTS = ("suffix", "hemisphere", "density", "desc")  # the others describe the entry and its files
UNPUBLISHED = "Unpublished; registered locally with hub catalog register"


def _catalog_entry(name: str) -> dict[str, Any] | None:
    from neurodatahub.catalog.query import find

    found = [
        doc for doc in find({}) if doc["name"].lower() == name.lower() and doc.get("source") != "registered"
    ]
    return found[0] if found else None


def register_entry(
    name: str,
    paths: list[str | Path],
    *,
    facts: dict[str, Any] | None = None,
    entry_file: str | Path | None = None,
    force: bool = False,
    processed: bool = False,
) -> dict[str, Any]:
    """Register local data: under a catalog entry's name, the data of that entry (checked against it);
    under a new name with facts (or an entry file), a lab's own entry. Returns the registry record."""
    facts = {key: value for key, value in (facts or {}).items() if value not in (None, "", [])}
    locations = [Path(path).expanduser().resolve() for path in paths]
    for location in locations:
        if not location.exists():
            raise InputError(f"cannot register {name}: {location} does not exist")
    existing = _catalog_entry(name)
    if existing is not None and not facts and entry_file is None:
        if len(locations) != 1:
            raise UsageError(f"{existing['name']} is registered at one file or folder, not {len(locations)}")
        checking.check_catalog_location(existing, locations[0])
        return registry.register(
            name,
            locations[0],
            catalog_name=existing["name"],
            kind=existing["kind"],
            downloaded=True,
            processed=processed,
            force=force,
        )
    if existing is not None:
        raise UsageError(
            f"{existing['name']} is an entry of catalog {existing.get('source')}; register its data without"
            " facts, or give your own entry another name"
        )
    document = _entry_document(name, locations, facts, entry_file)
    common = locations[0] if len(locations) == 1 else Path(_common_folder(locations))
    return registry.register(
        document["name"],
        common,
        kind=document["kind"],
        downloaded=True,
        processed=processed,
        force=force,
        entry=document,
    )


def _common_folder(locations: list[Path]) -> str:
    import os

    return os.path.commonpath([str(path if path.is_dir() else path.parent) for path in locations])


def _entry_document(
    name: str, locations: list[Path], facts: dict[str, Any], entry_file: str | Path | None
) -> dict[str, Any]:
    from neurodatahub.catalog.index import format_of, validate_entry
    from neurodatahub.core.storage import checksum_of

    document: dict[str, Any] = {}
    if entry_file is not None:
        import yaml

        try:
            document = yaml.safe_load(Path(entry_file).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise InputError(
                f"{entry_file}: cannot read the entry ({' '.join(str(error).split())})"
            ) from error
        if not isinstance(document, dict):
            raise InputError(f"{entry_file}: an entry is a mapping")
    document.update({key: value for key, value in facts.items() if key not in FILE_ONLY_FACTS})
    document["name"] = name
    kind = document.get("kind")
    if kind is None:
        raise UsageError(f"{name} is not a catalog entry: give its facts (--kind and others) or --entry FILE")
    today = datetime.now(UTC).date().isoformat()
    document.setdefault("display_name", name)
    document.setdefault("description", f"Registered by a lab from {', '.join(map(str, locations))}.")
    document.setdefault("license", "NOASSERTION")
    document.setdefault("citation", UNPUBLISHED)
    document["facts_source"] = f"hub catalog register on {today} (facts as given by the user)"
    document["source_type"] = "local"
    if kind.endswith("_connectome"):
        document.setdefault("type", kind.removesuffix("_connectome"))
    for field in ("space", "resolution", "n_regions", "networks"):
        if field in document and not isinstance(document[field], list):
            document[field] = [document[field]]
    listed = {file["name"]: file for file in document.get("files") or []}
    files = []
    for path in checking.ensure_exists(locations):
        file = dict(listed.get(path.name, {}))
        file.update(
            {
                "name": path.name,
                "url": str(path),
                "size_bytes": path.stat().st_size,
                "checksum": {"algorithm": "sha256", "value": checksum_of(str(path), "sha256")},
            }
        )
        file.setdefault("format", format_of(path.name))
        for key in ("space", "resolution", "n_regions", "networks"):
            values = document.get(key) or []
            if key not in file and len(values) == 1:
                file[key] = values[0]
        for key in FILE_ONLY_FACTS:
            if facts.get(key) is not None:
                file.setdefault(key, facts[key])
        file.setdefault("suffix", checking.infer_suffix(path, kind, file.get("format")))
        file = {key: value for key, value in file.items() if value is not None}
        for key, value in checking.check_file(path, document, file).items():
            file.setdefault(key, value)
        files.append(file)
    document["files"] = files
    for key in ("space", "resolution", "n_regions", "networks"):
        found = sorted({file[key] for file in files if key in file}, key=str)
        if found and not document.get(key):
            document[key] = found
    return validate_entry(document, f"entry {name}")


def skeleton(name: str, kind: str) -> str:
    """A schema-valid entry for a lab catalog, to fill in (validated before it is returned)."""
    import yaml

    from neurodatahub.catalog.index import ENTRY_CLASSES, validate_entry

    if kind not in ENTRY_CLASSES:
        raise UsageError(f"unknown kind {kind!r}; kinds: {', '.join(ENTRY_CLASSES)}")
    document: dict[str, Any] = {
        "name": name,
        "display_name": f"{name} (to describe)",
        "kind": kind,
        "description": "What the dataset is, for users.",
        "license": "NOASSERTION",
        "citation": "How to cite it (authors, year, title, journal).",
        "facts_source": "The public page every fact of this entry comes from.",
        "source_type": "http",
        "download_url": "https://example.org/where/the/files/are",
        "files": [
            {
                "name": f"{name}_file.nii.gz",
                "suffix": checking.allowed_suffixes(kind)[0],
                "checksum": {"algorithm": "unknown"},
            }
        ],
    }
    if kind.endswith("_connectome"):
        document["type"] = kind.removesuffix("_connectome")
    validate_entry(document, f"skeleton {name}")
    header = (
        "# A catalog entry (schema: CatalogEntry and its classes, `hub schema Atlas`). Replace every\n"
        "# value, give each file its facts (space, resolution, n_regions, networks, hemisphere, suffix),\n"
        "# its size and the hash its publisher gives (else algorithm: unknown), then `hub validate`.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
