"""The local registry: which datasets are on this machine, where, and in what state; and a lab's own
entries (registered with their facts, they join the catalog stack as the `registered` catalog).

lacuna keeps its registry in memory, so a fetched connectome is forgotten at exit. Here it
is a JSON file in the data directory, rewritten atomically under a lock on every change (`state.py`), so
it survives processes, concurrent registrations both land, and an interrupted write never leaves it half
written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neurodatahub.catalog import state
from neurodatahub.catalog.errors import NotRegisteredError
from neurodatahub.core import words
from neurodatahub.core.errors import InputError, OutputError, UsageError

REGISTRY_NAME = state.REGISTRY_NAME
REGISTRY_FORMAT = state.REGISTRY_FORMAT


def get_data_dir() -> Path:
    """NEURODATAHUB_DATA_DIR, else $XDG_CACHE_HOME/neurodatahub, else ~/.cache/neurodatahub (absolute)."""
    return state.data_dir()


def registry_path() -> Path:
    return get_data_dir() / REGISTRY_NAME


def _read() -> dict[str, dict[str, Any]]:
    return state.registry_records()


def _change(change: Callable[[dict[str, dict[str, Any]]], Any]) -> Any:
    """Edit the records under the registry's lock (read, change, atomic replace)."""
    return state.update(
        registry_path(), REGISTRY_FORMAT, lambda document: change(document.setdefault("entries", {}))
    )


def _key(name: str) -> str:
    return name.lower()


def registered() -> list[dict[str, Any]]:
    """Every registered record, sorted by name."""
    return [record for _, record in sorted(_read().items())]


def register(
    name: str,
    path: str | Path,
    *,
    catalog_name: str | None = None,
    kind: str | None = None,
    downloaded: bool = False,
    processed: bool = False,
    files: list[dict[str, Any]] | None = None,
    force: bool = False,
    entry: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record `name` -> `path` (which must exist); a different path under a taken name needs force."""
    from neurodatahub.core.storage import size_of

    location = Path(path).expanduser().resolve()
    if not location.exists():
        raise InputError(f"cannot register {name}: {location} does not exist")
    catalog_kind = kind
    if catalog_name is None or kind is None:
        catalog_name, catalog_kind = _catalog_match(catalog_name or name, kind)
    record = {
        "name": name,
        "catalog_name": catalog_name,
        "kind": catalog_kind,
        "path": str(location),
        "downloaded": downloaded,
        "processed": processed,
        "size_bytes": size_of(str(location)),
        "files": files or [],
        "registered_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

    def change(records: dict[str, dict[str, Any]]) -> None:
        previous = records.get(_key(name))
        if previous and previous["path"] != str(location) and not force:
            raise OutputError(
                f"{name} is already registered at {previous['path']};"
                f" unregister it or pass {words.option('force')}"
            )
        if previous and previous.get("entry") and not entry:
            record["entry"] = previous["entry"]  # a new location of a lab entry keeps its facts
        records[_key(name)] = record

    if entry is not None:
        record["entry"] = entry
    _change(change)
    return record


def _catalog_match(name: str, kind: str | None) -> tuple[str | None, str | None]:
    """The catalog entry a user's registration refers to, when its name is a catalog name."""
    from neurodatahub.catalog.index import folder_index, shipped_dir

    for entry in folder_index(shipped_dir())["entries"]:
        if entry["name"].lower() == name.lower():
            return entry["name"], kind or entry["kind"]
    return None, kind


def unregister(name: str) -> dict[str, Any]:
    """Forget `name` (the files stay where they are)."""

    def change(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
        record = records.pop(_key(name), None)
        if record is None:
            known = ", ".join(r["name"] for r in records.values()) or "none"
            raise UsageError(f"{name} is not registered; registered: {known}")
        return record

    return _change(change)


def find_record(name: str) -> dict[str, Any] | None:
    """The record registered as `name`, or else the one fetched from the catalog entry `name`."""
    records = _read()
    if _key(name) in records:
        return records[_key(name)]
    for record in records.values():
        if (record.get("catalog_name") or "").lower() == name.lower():
            return record
    return None


def local_locations() -> dict[str, str]:
    """Catalog name (lower case) -> path of what is registered for it, for queries to show."""
    found: dict[str, str] = {}
    for record in _read().values():
        for name in (record.get("catalog_name"), record["name"]):
            if name and Path(record["path"]).exists():
                found.setdefault(name.lower(), record["path"])
    return found


def get_connectome_path(name_or_path: str | Path) -> Path:
    """A registered name's path, or an existing path itself; else NotRegisteredError (FileNotFoundError)."""
    record = find_record(str(name_or_path))
    if record is not None:
        location = Path(record["path"])
        if not location.exists():
            raise NotRegisteredError(f"{name_or_path} is registered at {location}, which no longer exists")
        return location
    candidate = Path(name_or_path).expanduser()
    if candidate.exists():
        return candidate.resolve()
    known = ", ".join(r["name"] for r in registered()) or "none"
    raise NotRegisteredError(f"{name_or_path} is neither a registered name nor a path; registered: {known}")


def default_location(name: str, kind: str | None) -> Path:
    """Where a fetch puts an entry unless told otherwise (lacuna: connectomes/<name>/)."""
    folder = "atlases" if kind == "atlas" else "connectomes"
    return get_data_dir() / folder / name.lower()


def get_fetch_status(name: str) -> dict[str, Any]:
    """downloaded, processed, registered, location and size_bytes of an entry or a registered name."""
    record = find_record(name)
    if record is not None and Path(record["path"]).exists():
        return {
            "name": record["name"],
            "downloaded": bool(record.get("downloaded")),
            "processed": bool(record.get("processed")),
            "registered": True,
            "location": Path(record["path"]),
            "size_bytes": record.get("size_bytes"),
        }
    location = default_location(name, None)
    if not location.exists():
        location = default_location(name, "atlas")
    present = location.is_dir() and any(not p.name.endswith(".partial") for p in location.iterdir())
    return {
        "name": name,
        "downloaded": present,
        "processed": False,
        "registered": False,
        "location": location if present else None,
        "size_bytes": _size(location) if present else None,
    }


def _size(location: Path) -> int:
    from neurodatahub.core.storage import size_of

    return size_of(str(location))
