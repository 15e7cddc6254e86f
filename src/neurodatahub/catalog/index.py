"""A catalog folder and its compiled index.

The entries are YAML files, one per dataset. Parsing and validating them costs more than the 0.3 s a query
may take, so `tools/build_catalog_index.py` (or `hub catalog index FOLDER`) compiles them into `index.json`
(validated documents, sorted by name, each file's format told from its name); the shipped one is kept in
sync like generated/ (a test rebuilds it and compares). Queries read only compiled indexes: a folder
without one (a lab's own catalog) is compiled once and kept in the data directory until its files change.
Which folders and URLs make up the catalog is `stack.py`'s business.
"""

from __future__ import annotations

import json
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


def shipped_dir() -> Path:
    """The catalog shipped in the package, else (a checkout) the repository's catalog/."""
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
    from neurodatahub.core.documents import load_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read ({error})") from error
    document = load_yaml(text, str(path))  # aliases, depth and malformed YAML: InputError
    return validate_entry(document, str(path))


def validate_entry(document: Any, where: str) -> dict[str, Any]:
    """One entry document checked against its class (and the invariants); the validated document, with
    each file's format told from its name when the entry does not give it."""
    from neurodatahub.core.documents import _document, to_model

    if not isinstance(document, dict):
        raise InvalidDataError(
            f"{where}: a catalog entry is a mapping", [{"location": "(document)", "message": "not a mapping"}]
        )
    document = {key: value for key, value in document.items() if key != "class"}
    validated = _document(to_model(document, where, class_for(document)))
    for file in validated.get("files") or []:
        if "format" not in file:
            found = format_of(file["name"])
            if found:
                file["format"] = found
    return {"class": class_for(document), **validated}


def format_of(name: str) -> str | None:
    """The FileFormat whose extension ends `name` (longest extension first), from the schema."""
    lowered = name.lower()
    candidates = [
        (extension, value)
        for value, extensions in kinds.enum_annotation("FileFormat", "extensions").items()
        for extension in extensions.split()
    ]
    for extension, value in sorted(candidates, key=lambda pair: len(pair[0]), reverse=True):
        if lowered.endswith(extension):
            return value
    return None


def build_index(directory: Path | None = None) -> dict[str, Any]:
    """The compiled index of a catalog folder (raises on the first invalid entry)."""
    directory = directory or shipped_dir()
    documents = [load_entry(path) for path in entry_files(directory)]
    names = [document["name"].lower() for document in documents]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidDataError(f"{directory}: duplicate entry names: {', '.join(duplicates)}")
    return {
        "format": INDEX_FORMAT,
        "generated_by": "tools/build_catalog_index.py",
        "fields": entry_fields(),
        "file_fields": file_fields(),
        "enums": field_enums(),
        "entries": sorted(documents, key=lambda document: document["name"].lower()),
    }


def entry_fields() -> list[str]:
    """Fields any entry may have (from the schema), so a query on an unset field is legal."""
    from neurodatahub.core import models

    return sorted(
        {field for name in set(ENTRY_CLASSES.values()) for field in models.model_class(name).model_fields}
    )


def file_fields() -> list[str]:
    """Fields a file of an entry may have (CatalogFile, from the schema)."""
    from neurodatahub.core import models

    return sorted(models.model_class("CatalogFile").model_fields)


def field_enums() -> dict[str, str]:
    """Field -> the schema enum its values come from, for entries and files (synonyms, suggestions)."""
    import enum
    import typing

    from neurodatahub.core import models

    found: dict[str, str] = {}
    for name in {*ENTRY_CLASSES.values(), "CatalogFile"}:
        for field, info in models.model_class(name).model_fields.items():
            stack = [info.annotation]
            while stack:
                annotation = stack.pop()
                if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
                    found[field] = annotation.__name__
                stack.extend(typing.get_args(annotation))
    return dict(sorted(found.items()))


def index_text(index: dict[str, Any]) -> str:
    return json.dumps(index, indent=1, ensure_ascii=False) + "\n"


def write_index(directory: Path | None = None, out: Path | None = None) -> Path:
    from neurodatahub.core.storage import atomic_write

    directory = directory or shipped_dir()
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
    return read_index((directory / INDEX_NAME).read_bytes(), str(directory / INDEX_NAME))


def read_index(data: bytes, where: str) -> dict[str, Any]:
    """A compiled index from its bytes (JSON of the right format)."""
    try:
        index = json.loads(data)
    except ValueError as error:
        raise InputError(f"{where}: unreadable catalog index ({error}); rebuild it") from error
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT:
        raise InputError(f"{where} is not a catalog index; rebuild it with `hub catalog index FOLDER`")
    return index


def folder_index(directory: Path) -> dict[str, Any]:
    """The index of a local catalog folder: its index.json when newer than every entry, else compiled."""
    if not directory.is_dir():
        raise InputError(f"catalog folder {directory} does not exist")
    stamp = _stamp(directory)
    files = entry_files(directory)
    if stamp is not None and all(path.stat().st_mtime_ns <= stamp for path in files):
        return _load_at(directory.resolve(), stamp)
    return _compiled(
        directory.resolve(), tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    )


@cache
def _compiled(directory: Path, stamps: tuple[tuple[str, int, int], ...]) -> dict[str, Any]:
    """A folder without an up-to-date index, compiled once and kept in the data directory until one of
    its entry files changes (its names, times and sizes are the key)."""
    import hashlib

    from neurodatahub.catalog import state

    key = hashlib.sha256(json.dumps([str(directory), stamps]).encode()).hexdigest()[:32]
    cached = state.data_dir() / "catalog-cache" / f"folder-{key}.json"
    if cached.is_file():
        return read_index(cached.read_bytes(), str(cached))
    index = build_index(directory)
    state.write(cached, json.dumps(index, ensure_ascii=False))
    return index
