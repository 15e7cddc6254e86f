"""Queries over the catalog: `key=value` filters with the same meaning in Python and on the CLI.

- Text compares without case; `*`, `?` and `[...]` are globs (`name=schaefer*`).
- Values of schema enums accept their aliases from the schema (`modality=dwi` finds dMRI).
- A list of values means any of them: `space=["MNI152NLin6Asym", "fsaverage"]` (CLI: `space=A,B`).
- A field holding a list matches when any of its items does (`n_regions=400` finds Schaefer2018).
- Numbers compare as numbers (`resolution=2` finds 2.0), and accept `>`, `>=`, `<`, `<=`, `!=`
  (`n_subjects=">=900"`; CLI: `n_subjects>=900`).
- `key=` (None or "") means the field is absent.
- `available=true` keeps entries registered locally; a bare word searches names and descriptions.

Entry queries (`search`) look at entries; file queries (`files`, behind `ls` and `get`) look at each file,
where the file's facts are its own and the entry's other fields (kind, license...) apply to every file.
Nothing matching is a NoMatchError that names the nearest values of the fields asked about.
"""

from __future__ import annotations

import difflib
import fnmatch
import operator
import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from neurodatahub.catalog.errors import NoMatchError
from neurodatahub.core.errors import UsageError

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
CLI_FILTER = re.compile(r"^(?P<key>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=|!=|>|<|=)(?P<value>.*)$")
VIRTUAL_KEYS = ("available", "text")
ENTRY_ONLY = ("name",)  # a file's `name` is its file name: `file=` asks for that
FILE_NAME_KEY = "file"
GLOB = re.compile(r"[*?\[]")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


@cache
def _index_facts() -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """(field -> enum, entry fields, file fields), from the shipped compiled index."""
    from neurodatahub.catalog.index import folder_index, shipped_dir

    index = folder_index(shipped_dir())
    return dict(index.get("enums", {})), tuple(index["fields"]), tuple(index.get("file_fields", ()))


@cache
def _synonyms(enum: str) -> dict[str, str]:
    """Lower-cased value or alias -> the schema's value."""
    from neurodatahub.core import kinds

    found = {value.casefold(): value for value in kinds.enum_values(enum)}
    for value, aliases in kinds.enum_annotation(enum, "aliases").items():
        for alias in aliases.split(","):
            found.setdefault(alias.strip().casefold(), value)
    return found


def canonical(key: str, wanted: Any) -> Any:
    """The schema's value for an alias (`dwi` -> `dMRI`), for fields whose values come from an enum."""
    enum = _index_facts()[0].get(key)
    if enum is None or not isinstance(wanted, str):
        return wanted
    symbol = next((s for s in (">=", "<=", "!=", ">", "<") if wanted.startswith(s)), "")
    value = _synonyms(enum).get(wanted[len(symbol) :].strip().casefold())
    return symbol + value if value else wanted


def _split_operator(wanted: Any) -> tuple[Callable[[Any, Any], bool], Any]:
    if isinstance(wanted, str):
        for symbol in sorted(COMPARISONS, key=len, reverse=True):
            if wanted.startswith(symbol) and symbol != "=":
                return COMPARISONS[symbol], wanted[len(symbol) :].strip()
    return operator.eq, wanted


def _matches_one(have: Any, wanted: Any) -> bool:
    compare, wanted = _split_operator(wanted)
    have_number, wanted_number = _number(have), _number(wanted)
    if have_number is not None and wanted_number is not None:
        return compare(have_number, wanted_number)
    if isinstance(have, bool) or isinstance(wanted, bool):
        return compare(str(have).lower(), str(wanted).lower())
    if compare is operator.eq and isinstance(wanted, str) and GLOB.search(wanted):
        return fnmatch.fnmatchcase(str(have).casefold(), wanted.casefold())
    if compare is operator.eq or compare is operator.ne:
        return compare(str(have).casefold(), str(wanted).casefold())
    return False  # an order between text and a number means nothing


def _absent(value: Any) -> bool:
    return value is None or value == [] or value == ""


def matches(document: dict[str, Any], key: str, wanted: Any) -> bool:
    have = document.get(key)
    wanted_values = wanted if isinstance(wanted, list | tuple | set) else [wanted]
    if any(_absent(value) for value in wanted_values):
        return _absent(have)
    if _absent(have):
        return False
    have_values = have if isinstance(have, list) else [have]
    if key == "text":
        return any(str(value).casefold() in str(have).casefold() for value in wanted_values)
    wanted_values = [canonical(key, value) for value in wanted_values]
    negated = [value for value in wanted_values if isinstance(value, str) and value.startswith("!=")]
    if negated:  # "not any of": every item differs from every excluded value
        return all(_matches_one(item, value) for item in have_values for value in negated)
    return any(_matches_one(item, value) for item in have_values for value in wanted_values)


def known_keys() -> set[str]:
    """Every field an entry of the schema may have, plus the query's own keys."""
    return set(_index_facts()[1]) | set(VIRTUAL_KEYS)


def file_keys() -> set[str]:
    """What a file query may ask: the entry's fields, the file's, and `file` (the file's name)."""
    return known_keys() | set(_index_facts()[2]) | {FILE_NAME_KEY}


def _annotate(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add what is not in the catalog itself: local availability and a free-text field."""
    from neurodatahub.catalog.registry import local_locations

    local = local_locations()
    for document in documents:
        document["available"] = document["name"].lower() in local
        document["local_path"] = local.get(document["name"].lower())
        document["text"] = " ".join(
            str(document.get(field, "")) for field in ("name", "display_name", "description", "modality")
        )
    return documents


def _check_keys(filters: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(filters) - allowed)
    if unknown:
        raise UsageError(
            f"unknown catalog field(s) {', '.join(unknown)}; fields: {', '.join(sorted(allowed))}"
        )


def find(filters: dict[str, Any] | None = None, *, required: bool = False) -> list[dict[str, Any]]:
    """Entries (documents, annotated with `available`, `local_path` and `source`) matching every filter;
    with `required`, none is a NoMatchError naming the nearest values."""
    from neurodatahub.catalog.stack import entries

    documents = _annotate(entries())
    filters = filters or {}
    _check_keys(filters, known_keys())
    found = [doc for doc in documents if all(matches(doc, key, value) for key, value in filters.items())]
    if required and not found:
        raise NoMatchError(f"no catalog entry matches {describe(filters)}{nearest(documents, filters)}")
    for document in documents:
        document.pop("text", None)
    return found


def files(
    entry: str | None = None, filters: dict[str, Any] | None = None, *, required: bool = False
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(entry, file) pairs whose file matches every filter; `entry` names one entry or a glob of them.

    The file's own facts (space, resolution, n_regions...) are its own; the entry's other fields (kind,
    license, modality...) apply to each of its files. `file=` matches the file's name.
    """
    filters = dict(filters or {})
    _check_keys(filters, file_keys())
    chosen = find({"name": entry}) if entry else find({})
    if entry and not chosen:
        names = ", ".join(document["name"] for document in find({}))
        raise NoMatchError(
            f"no catalog entry is called {entry!r}{nearest(find({}), {'name': entry})}; entries: {names}"
        )
    found, seen = [], []
    per_file = set(_index_facts()[2]) - set(ENTRY_ONLY)
    for document in chosen:
        shared = {key: value for key, value in document.items() if key not in per_file}
        for file in document.get("files") or []:
            view = {**shared, **{k: v for k, v in file.items() if k != "name"}, FILE_NAME_KEY: file["name"]}
            seen.append(view)
            if all(matches(view, key, value) for key, value in filters.items()):
                found.append((document, file))
    if required and not found:
        where = f"in {entry} " if entry else ""
        raise NoMatchError(f"no file {where}matches {describe(filters)}{nearest(seen, filters)}")
    return found


def describe(filters: dict[str, Any]) -> str:
    if not filters:
        return "no filter"
    return " ".join(
        f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in filters.items()
    )


def nearest(documents: list[dict[str, Any]], filters: dict[str, Any]) -> str:
    """'; nearest: key: a, b' for each filter whose values match nothing, from the values present."""
    notes = []
    for key, wanted in filters.items():
        present: set[str] = set()
        for document in documents:
            have = document.get(key)
            for item in have if isinstance(have, list) else [have]:
                if not _absent(item) and not isinstance(item, dict | list):
                    present.add(str(item))
        if any(matches(document, key, wanted) for document in documents):
            continue
        values = wanted if isinstance(wanted, list) else [wanted]
        close: list[str] = []
        for value in values:
            text = str(_split_operator(value)[1]).replace("*", "")
            lowered = {item.casefold(): item for item in present}
            close += [
                lowered[c] for c in difflib.get_close_matches(text.casefold(), list(lowered), n=3, cutoff=0.4)
            ]
        shown = (
            list(dict.fromkeys(close))
            or sorted(present, key=lambda v: (_number(v) is None, _number(v) or 0, v))[:8]
        )
        notes.append(f"{key}: {', '.join(shown) if shown else 'no entry sets it'}")
    return f"; nearest values: {'; '.join(notes)}" if notes else ""


def parse_filters(terms: Iterable[str]) -> dict[str, Any]:
    """CLI terms (`key=value`, `key>=3`, `key=a,b`, `key=`, or a bare word for free text) as filters."""
    filters: dict[str, Any] = {}
    for term in terms:
        found = CLI_FILTER.match(term)
        if not found:
            filters.setdefault("text", []).append(term)
            continue
        key, symbol, value = found["key"], found["op"], found["value"].strip()
        values = [part.strip() for part in value.split(",")] if value else [""]
        if symbol != "=":
            values = [f"{symbol}{part}" for part in values]
        filters.setdefault(key, []).extend(values)
    return filters


def search(**filters: Any) -> list[Any]:
    """Validated catalog entries (ConnectomeSource, Atlas or Template models) matching every filter."""
    return [model_of(document) for document in find(filters)]


def model_of(document: dict[str, Any]) -> Any:
    from neurodatahub.core import models

    return models.model_class(document["class"]).model_validate(_entry_fields(document))


def get_one(**filters: Any) -> Any:
    """The one entry matching the filters; zero or several matches is an error naming the candidates."""
    found = find(filters, required=True)
    if len(found) == 1:
        return model_of(found[0])
    names = ", ".join(document["name"] for document in found)
    raise UsageError(f"{len(found)} catalog entries match {describe(filters)}: {names}; narrow the query")


def _entry_fields(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in ("class", "available", "local_path", "source")}


def lookup(name: str) -> dict[str, Any]:
    """The entry called `name` (any case), as an annotated document."""
    everything = find({})
    found = [document for document in everything if document["name"].lower() == name.lower()]
    if not found:
        names = ", ".join(document["name"] for document in everything)
        raise UsageError(
            f"no catalog entry is called {name!r}{nearest(everything, {'name': name})}; entries: {names}"
        )
    return found[0]
