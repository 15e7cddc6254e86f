"""Where the catalog lives, and its compiled index.

The entries are YAML files in `catalog/`, one per dataset. Parsing and validating 6+ YAML files costs
more than the 0.3 s a query may take, so `tools/build_catalog_index.py` compiles them into
`catalog/index.json` (validated documents, sorted by name), kept in sync like generated/ (a test
rebuilds it and compares). Queries read only that JSON; a folder without an index (a user's own
catalog) is compiled in memory.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from neurodatahub.core import kinds
from neurodatahub.core.errors import InputError, InvalidDataError

INDEX_NAME = "index.json"
INDEX_FORMAT = "neurodatahub-catalog-index"
# the class of each kind of entry, from the entry_class annotations of the schema's CatalogKind
ENTRY_CLASSES = kinds.enum_annotation("CatalogKind", "entry_class")
CONNECTOME_KINDS = [kind for kind, entry_class in ENTRY_CLASSES.items() if entry_class == "ConnectomeSource"]
ENTRY_SUFFIXES = (".yaml", ".yml")


def catalog_dir() -> Path:
    """NEURODATAHUB_CATALOG_DIR, else the catalog shipped in the package, else the checkout's catalog/."""
    if os.environ.get("NEURODATAHUB_CATALOG_DIR"):
        return Path(os.environ["NEURODATAHUB_CATALOG_DIR"]).expanduser()
    shipped = Path(__file__).resolve().parent / "data"
    return shipped if shipped.is_dir() else Path(__file__).resolve().parents[3] / "catalog"


def entry_files(directory: Path) -> list[Path]:
    return sorted(
        path
        for path in directory.iterdir()
        if path.suffix in ENTRY_SUFFIXES and not path.name.startswith(".")
    )


def class_for(document: Any) -> str:
    """ConnectomeSource or Atlas, decided by the entry's kind (the document says it; no guessing)."""
    kind = document.get("kind") if isinstance(document, dict) else None
    return ENTRY_CLASSES.get(str(kind), "Atlas")


def load_entry(path: Path) -> dict[str, Any]:
    """Read and validate one entry file; the validated document (JSON types) is returned."""
    from neurodatahub.core.documents import _document, load_yaml, to_model

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read ({error})") from error
    document = load_yaml(text, str(path))  # aliases, depth and malformed YAML: InputError
    if not isinstance(document, dict):
        raise InvalidDataError(
            f"{path}: a catalog entry is a mapping", [{"location": "(document)", "message": "not a mapping"}]
        )
    return {"class": class_for(document), **_document(to_model(document, str(path), class_for(document)))}


def build_index(directory: Path | None = None) -> dict[str, Any]:
    """The compiled index of a catalog folder (raises on the first invalid entry)."""
    directory = directory or catalog_dir()
    documents = [load_entry(path) for path in entry_files(directory)]
    names = [document["name"].lower() for document in documents]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidDataError(f"{directory}: duplicate entry names: {', '.join(duplicates)}")
    return {
        "format": INDEX_FORMAT,
        "generated_by": "tools/build_catalog_index.py",
        "fields": entry_fields(),
        "entries": sorted(documents, key=lambda document: document["name"].lower()),
    }


def entry_fields() -> list[str]:
    """Fields any entry may have (from the schema), so a query on an unset field is legal."""
    from neurodatahub.core import models

    return sorted({*models.ConnectomeSource.model_fields, *models.Atlas.model_fields})


def index_text(index: dict[str, Any]) -> str:
    return json.dumps(index, indent=1, ensure_ascii=False) + "\n"


def write_index(directory: Path | None = None, out: Path | None = None) -> Path:
    from neurodatahub.core.storage import atomic_write

    directory = directory or catalog_dir()
    target = out or directory / INDEX_NAME
    with atomic_write(str(target), overwrite=True) as tmp:
        tmp.write_text(index_text(build_index(directory)), encoding="utf-8")
    return target


def _stamp(directory: Path) -> int | None:
    """Modification time of the index: a rebuilt index is reloaded, an unchanged one is not."""
    try:
        return (directory / INDEX_NAME).stat().st_mtime_ns
    except OSError:
        return None


@cache
def _load_at(directory: Path, stamp: int | None) -> dict[str, Any]:
    path = directory / INDEX_NAME
    if not path.is_file():
        if not directory.is_dir():
            raise InputError(f"catalog folder {directory} does not exist (set NEURODATAHUB_CATALOG_DIR)")
        return build_index(directory)
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: unreadable catalog index ({error}); rebuild it") from error
    if index.get("format") != INDEX_FORMAT:
        raise InputError(f"{path} is not a catalog index; rebuild it with tools/build_catalog_index.py")
    return index


def entries(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every entry as a document (a fresh copy: callers may annotate it)."""
    return [dict(entry) for entry in _load(directory)["entries"]]


def fields(directory: Path | None = None) -> list[str]:
    return list(_load(directory)["fields"])


def _load(directory: Path | None) -> dict[str, Any]:
    resolved = (directory or catalog_dir()).resolve()
    return _load_at(resolved, _stamp(resolved))
