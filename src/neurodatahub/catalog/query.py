"""Queries over the catalog: `key=value` filters with the same meaning in Python and on the CLI.

- A list of values means any of them: `space=["MNI152NLin6Asym", "fsaverage"]` (CLI: `space=A,B`).
- A field holding a list matches when any of its items does (`n_regions=400` finds Schaefer2018).
- Numbers compare as numbers (`resolution=2` finds 2.0), and accept `>`, `>=`, `<`, `<=`, `!=`
  (`n_subjects=">=900"`; CLI: `n_subjects>=900`).
- `key=` (None or "") means the field is absent.
- Text compares without case. `available=true` keeps entries registered locally.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from typing import Any

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


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


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
    if compare is operator.eq or compare is operator.ne:
        return compare(str(have).casefold(), str(wanted).casefold())
    return False  # an order between text and a number means nothing


def _absent(value: Any) -> bool:
    return value is None or value == [] or value == ""


def matches(entry: dict[str, Any], key: str, wanted: Any) -> bool:
    have = entry.get(key)
    wanted_values = wanted if isinstance(wanted, list | tuple | set) else [wanted]
    if any(_absent(value) for value in wanted_values):
        return _absent(have)
    if _absent(have):
        return False
    have_values = have if isinstance(have, list) else [have]
    if key == "text":
        return any(str(value).casefold() in str(have).casefold() for value in wanted_values)
    negated = [value for value in wanted_values if isinstance(value, str) and value.startswith("!=")]
    if negated:  # "not any of": every item differs from every excluded value
        return all(_matches_one(item, value) for item in have_values for value in negated)
    return any(_matches_one(item, value) for item in have_values for value in wanted_values)


def known_keys() -> set[str]:
    """Every field an entry of the schema may have, plus the query's own keys."""
    from neurodatahub.catalog.index import fields

    return set(fields()) | set(VIRTUAL_KEYS)


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


def find(filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Entries (documents, annotated with `available` and `local_path`) matching every filter."""
    from neurodatahub.catalog.index import entries

    documents = _annotate(entries())
    filters = filters or {}
    unknown = sorted(set(filters) - known_keys())
    if unknown:
        known = ", ".join(sorted(known_keys()))
        raise UsageError(f"unknown catalog field(s) {', '.join(unknown)}; fields: {known}")
    found = [doc for doc in documents if all(matches(doc, key, value) for key, value in filters.items())]
    for document in found:
        document.pop("text", None)
    return found


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
    """Validated catalog entries (ConnectomeSource or Atlas models) matching every filter."""
    from neurodatahub.core import models

    return [
        models.model_class(document["class"]).model_validate(_entry_fields(document))
        for document in find(filters)
    ]


def get_one(**filters: Any) -> Any:
    """The one entry matching the filters; zero or several matches is an error naming the candidates."""
    found = find(filters)
    if len(found) == 1:
        from neurodatahub.core import models

        return models.model_class(found[0]["class"]).model_validate(_entry_fields(found[0]))
    described = ", ".join(f"{key}={value!r}" for key, value in filters.items()) or "no filter"
    if not found:
        names = ", ".join(document["name"] for document in find({}))
        raise UsageError(f"no catalog entry matches {described}; entries: {names}")
    names = ", ".join(document["name"] for document in found)
    raise UsageError(f"{len(found)} catalog entries match {described}: {names}; narrow the query")


def _entry_fields(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in ("class", "available", "local_path")}


def lookup(name: str) -> dict[str, Any]:
    """The entry called `name` (any case), as an annotated document."""
    found = [document for document in find({}) if document["name"].lower() == name.lower()]
    if not found:
        names = ", ".join(document["name"] for document in find({}))
        raise UsageError(f"no catalog entry is called {name!r}; entries: {names}")
    return found[0]
