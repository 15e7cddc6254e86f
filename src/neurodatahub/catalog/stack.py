"""The stack of catalogs a query sees: the shipped catalog, then the others, in this order:

1. `catalogs:` in the config file (a list of URLs, or of {url, name, overrides});
2. those added with `hub catalog source add` (kept in catalogs.json beside the config file);
3. NEURODATAHUB_CATALOG_PATH (entries separated by `;`, or by `:` before a local path);
4. the lab entries registered with `hub catalog register` (in the data directory's registry).

Each is a local folder or an fsspec URL (https, s3...). An entry name defined twice is an error naming
both catalogs, unless the later entry says `overrides: true` or its catalog was added as overriding.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from neurodatahub.catalog import index as catalog_index, state
from neurodatahub.core.errors import InputError, InvalidDataError, UsageError

SOURCES_FORMAT = "neurodatahub-catalog-sources"
SHIPPED = "shipped"
REGISTERED = "registered"
PATH_VARIABLE = "NEURODATAHUB_CATALOG_PATH"
# `;` always; on POSIX also `:` before a local path (`/`, `~`, `.`), never the one of `https://` or a port
PATH_SEPARATOR = re.compile(r";|:(?=[/~.])(?!//)") if os.pathsep == ":" else re.compile(r";")


@dataclass(frozen=True)
class Source:
    """One catalog of the stack; `origin` says where it was named (for `hub catalog source list`)."""

    name: str
    url: str
    overrides: bool = False
    origin: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sources_file() -> Path:
    """catalogs.json beside the config file (so NEURODATAHUB_CONFIG moves both)."""
    from neurodatahub.catalog.sources import config_path

    return config_path().with_name("catalogs.json")


def _name_for(url: str, taken: set[str]) -> str:
    stem = (
        re.sub(r"[^A-Za-z0-9_.-]+", "-", url.rstrip("/").rsplit("/", 1)[-1] or url).strip("-.") or "catalog"
    )
    name, number = stem, 2
    while name.lower() in taken:
        name, number = f"{stem}-{number}", number + 1
    return name


def _config_sources() -> list[dict[str, Any]]:
    from neurodatahub.catalog.sources import config_path, read_config

    listed = read_config().get("catalogs") or []
    if not isinstance(listed, list):
        raise InputError(f"{config_path()}: `catalogs` must be a list of URLs or of {{url, name, overrides}}")
    return [item if isinstance(item, dict) else {"url": str(item)} for item in listed]


def catalog_sources() -> list[Source]:
    """The catalogs of the stack, in order (the public name of `configured`)."""
    return configured()


def configured() -> list[Source]:
    """Every catalog of the stack, in order (the shipped one first, the registered entries last)."""
    found = [Source(SHIPPED, str(catalog_index.shipped_dir()), False, "installed with neurodatahub")]
    taken = {SHIPPED, REGISTERED}

    def add(item: dict[str, Any], origin: str) -> None:
        url = str(item["url"])
        name = str(item.get("name") or _name_for(url, taken))
        taken.add(name.lower())
        found.append(Source(name, url, bool(item.get("overrides")), origin))

    from neurodatahub.catalog.sources import config_path

    for item in _config_sources():
        add(item, f"config file {config_path()}")
    document = state.read_json(sources_file(), SOURCES_FORMAT) or {}
    for item in document.get("sources", []):
        add(item, f"hub catalog source add ({sources_file()})")
    for url in PATH_SEPARATOR.split(os.environ.get(PATH_VARIABLE, "")):
        if url.strip():
            add({"url": url.strip()}, PATH_VARIABLE)
    found.append(Source(REGISTERED, "registry", False, "hub catalog register (the data directory)"))
    return found


def add_source(url: str, name: str | None = None, overrides: bool = False) -> Source:
    """Add a catalog after checking that it loads (a wrong URL is refused, not kept)."""
    from neurodatahub.core import storage

    if storage.is_local(url):
        url = str(storage.local_path(url).expanduser().resolve())
    taken = {source.name.lower() for source in configured()}
    chosen = name or _name_for(url, taken)
    if chosen.lower() in taken:
        raise UsageError(f"a catalog called {chosen!r} is already in the stack; choose another --name")
    if any(source.url == url for source in configured()):
        raise UsageError(f"{url} is already in the stack")
    source = Source(chosen, url, overrides, "hub catalog source add")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", chosen):
        raise UsageError(f"catalog name {chosen!r}: letters, digits, _ . - only")
    load(source)  # refuses what is not a catalog before it is recorded
    record = {"name": chosen, "url": url, "overrides": overrides}

    def change(document: dict[str, Any]) -> None:
        document.setdefault("sources", []).append(record)

    state.update(sources_file(), SOURCES_FORMAT, change)
    return source


def remove_source(name_or_url: str) -> Source:
    """Forget a catalog added with `add_source` (the others are edited where they are named)."""
    for source in configured():
        if name_or_url in (source.name, source.url) and not source.origin.startswith(
            "hub catalog source add"
        ):
            raise UsageError(f"catalog {source.name} comes from {source.origin}; remove it there")

    def change(document: dict[str, Any]) -> dict[str, Any] | None:
        kept, removed = [], None
        for item in document.get("sources", []):
            if removed is None and name_or_url in (item["name"], item["url"]):
                removed = item
            else:
                kept.append(item)
        document["sources"] = kept
        return removed

    removed = state.update(sources_file(), SOURCES_FORMAT, change)
    if removed is None:
        names = ", ".join(source.name for source in configured())
        raise UsageError(f"no catalog {name_or_url!r} in the stack; catalogs: {names}")
    return Source(removed["name"], removed["url"], bool(removed.get("overrides")), "removed")


def load(source: Source) -> list[dict[str, Any]]:
    """The entry documents of one catalog."""
    from neurodatahub.core import storage

    if source.name == REGISTERED and source.url == "registry":  # a lab's entries, registered with facts
        return [
            dict(record["entry"])
            for _, record in sorted(state.registry_records().items())
            if record.get("entry")
        ]
    if storage.is_local(source.url):
        return catalog_index.folder_index(storage.local_path(source.url).expanduser())["entries"]
    from neurodatahub.catalog import remote

    return remote.load(source.url)["entries"]


def entries() -> list[dict[str, Any]]:
    """Every entry of the stack (fresh copies, annotated with `source`), sorted by name."""
    chosen: dict[str, tuple[dict[str, Any], Source]] = {}
    for source in configured():
        for document in load(source):
            key = document["name"].lower()
            if key in chosen and not (document.get("overrides") or source.overrides):
                earlier = chosen[key][1]
                raise InvalidDataError(
                    f"catalog entry {document['name']!r} is defined by catalog {earlier.name} ({earlier.url})"
                    f" and by catalog {source.name} ({source.url}); remove one, or mark the later one"
                    " `overrides: true`"
                )
            chosen[key] = (document, source)
    return [{**document, "source": source.name} for _, (document, source) in sorted(chosen.items())]


def fields() -> list[str]:
    """Fields an entry may have (from the schema, as the shipped index lists them: no models to import)."""
    return list(catalog_index.folder_index(catalog_index.shipped_dir())["fields"])
