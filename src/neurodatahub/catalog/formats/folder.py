"""A catalog folder (one YAML entry per dataset) read as one unit, so `hub validate catalog/` checks it all.

Beyond each entry's schema (through the document reader, so the answer agrees with any JSON Schema
validator) the folder needs what no single file can show: unique names, file names that match entry
names, a licence and a citation that say something, and an index in sync with the entries.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurodatahub.core.errors import HubError, InputError, InvalidDataError
from neurodatahub.core.registry import FormatSpec, Probe, register_format

if TYPE_CHECKING:
    from neurodatahub.core.models import CatalogFolder


def _problem(location: str, message: str) -> dict[str, str]:
    return {"location": location, "message": message}


def _entry_problems(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    from neurodatahub.catalog.index import load_entry

    try:
        document = load_entry(path)
    except InvalidDataError as error:
        return None, [_problem(f"{path.name}: {p['location']}", p["message"]) for p in error.problems] or [
            _problem(path.name, str(error))
        ]
    except (HubError, ValueError) as error:  # ValueError: an invariant the models check
        return None, [_problem(path.name, str(error))]
    problems = []
    if path.stem != document["name"]:
        problems.append(
            _problem(f"{path.name}: name", f"entry {document['name']!r} must be in {document['name']}.yaml")
        )
    for field in ("license", "citation", "facts_source"):
        if not str(document.get(field, "")).strip():
            problems.append(_problem(f"{path.name}: {field}", f"{field} must say something"))
    return document, problems


def _index_problems(directory: Path, documents: list[dict[str, Any]]) -> list[dict[str, str]]:
    from neurodatahub.catalog.index import INDEX_NAME, build_index, index_text

    index = directory / INDEX_NAME
    if not index.exists():
        return []
    if index.read_text(encoding="utf-8") != index_text(build_index(directory)):
        return [_problem(INDEX_NAME, "stale: rebuild it with `python tools/build_catalog_index.py`")]
    return []


def read_catalog(url: str, *, storage_options: Any = None) -> CatalogFolder:
    """Validate every entry of a local catalog folder; all problems are reported together."""
    from neurodatahub.catalog.index import entry_files
    from neurodatahub.core import storage

    if not storage.is_local(url):
        raise InputError(f"{url}: catalog folders are checked on local disk only")
    directory = storage.local_path(url)
    documents, problems = [], []
    for path in entry_files(directory):
        document, found = _entry_problems(path)
        problems += found
        if document is not None:
            documents.append(document)
    seen: dict[str, str] = {}
    for document in documents:
        key = document["name"].lower()
        if key in seen:
            problems.append(_problem(document["name"], f"duplicate name (also in {seen[key]})"))
        seen[key] = document["name"]
    if not problems:
        problems = _index_problems(directory, documents)
    if problems:
        first = problems[0]
        raise InvalidDataError(f"{url}: {first['location']}: {first['message']}", problems)
    from neurodatahub.core.models import CatalogFolder

    return CatalogFolder(entries=documents)


def sniff_catalog(probe: Probe) -> bool:
    """A folder of YAML entries (and perhaps the compiled index) whose first entry says a catalog kind at
    its top level: a folder of other YAML documents is not a catalog."""
    names = [name for name in probe.names if not name.startswith(".")]
    entries = [name for name in names if name.endswith((".yaml", ".yml"))]
    others = [name for name in names if name not in entries and name not in ("index.json", "README.md")]
    if not entries or others:
        return False
    from neurodatahub.core import kinds, storage

    head = storage.read_head(storage.join(probe.url, entries[0]), storage_options=probe.storage_options)
    lines = head.decode("utf-8", errors="replace").splitlines()
    return any(line.strip() == f"kind: {kind}" for line in lines for kind in kinds.enum_values("CatalogKind"))


register_format(
    FormatSpec(
        name="catalog",
        kind="catalog",
        description="A catalog folder: one YAML entry (ConnectomeSource or Atlas) per dataset + index.json",
        extensions=(".catalog",),  # folders are told by their content; the suffix is a convention
        read=read_catalog,
        sniff=sniff_catalog,
        directory=True,
    )
)
