"""What the schema says about kinds and classes (generated `facts`), and loading the code of a class.

Each class of the schema lives in a schema module whose `package` annotation names the package of its
code (`neurodatahub.<package>`); each kind has one pivot class. The core names no kind itself: a kind's
checks and summaries are imported from `neurodatahub.<package>.checks` the first time a model of one of
its classes is checked or summarised, and its formats from `neurodatahub.<package>.formats`.
"""

from __future__ import annotations

import importlib
from functools import cache

from neurodatahub_models.facts import CLASSES, ENUM_ANNOTATIONS, ENUMS, KINDS

from neurodatahub.core.errors import UsageError

CORE_PACKAGE = "core"
_loaded: set[str] = {CORE_PACKAGE}


def kind_names() -> list[str]:
    return list(KINDS)


def require_kind(kind: str) -> None:
    """A UsageError naming the kinds, when `kind` is not one of them (an empty answer would hide it)."""
    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}; kinds: {', '.join(sorted(KINDS))}")


def pivot_class(kind: str) -> str | None:
    """The class every format of `kind` reads into; None for documents (which hold any class)."""
    return KINDS[kind]["pivot"] if kind in KINDS else None


def kind_of_class(class_name: str) -> str | None:
    """The kind whose pivot `class_name` is (or inherits from), else None."""
    facts = CLASSES.get(class_name)
    if facts is None:
        return None
    for name in (class_name, *facts["parents"]):
        if CLASSES[name]["kind"]:
            return CLASSES[name]["kind"]
    return None


def package_of_class(class_name: str) -> str | None:
    """The package that holds a schema class's code (None for classes the schema does not define)."""
    facts = CLASSES.get(class_name)
    return facts["package"] if facts else None


def bulk_fields(class_name: str) -> dict[str, str | None]:
    """The attributes of a class that stream in chunks: field -> the field it offsets, or None."""
    facts = CLASSES.get(class_name)
    return dict(facts["bulk"]) if facts else {}


def bulk_axes(class_name: str) -> dict[str, int]:
    """Bulk attributes whose chunks split another axis than the first (-1: the last, a series' volumes)."""
    facts = CLASSES.get(class_name)
    return dict(facts.get("bulk_axes", {})) if facts else {}


def description(kind: str) -> str:
    return KINDS[kind]["description"]


@cache
def kind_packages() -> tuple[str, ...]:
    """Packages that hold the code of a kind, in a stable order (the core is not one)."""
    packages = {facts["package"] for facts in (*CLASSES.values(), *KINDS.values())}
    return tuple(sorted(packages - {CORE_PACKAGE}))


def enum_values(name: str) -> dict[str, str]:
    """An enum's permissible values with their descriptions, in the schema's order."""
    return ENUMS[name]


def enum_annotation(name: str, key: str) -> dict[str, str]:
    """The values of an enum that carry the annotation `key`, with its text."""
    return {value: found[key] for value, found in ENUM_ANNOTATIONS.get(name, {}).items() if key in found}


def package_of_kind(kind: str) -> str:
    return KINDS[kind]["package"]


def load_module(kind: str, module: str) -> None:
    """Import `neurodatahub.<package of kind>.<module>`, where the kind registers what the core asks of it."""
    importlib.import_module(f"neurodatahub.{package_of_kind(kind)}.{module}")


def load_code_for(cls: type) -> None:
    """Import the checks of every schema class `cls` is or inherits from (once per package)."""
    for base in cls.__mro__:
        facts = CLASSES.get(base.__name__)
        if facts is None or facts["package"] in _loaded:
            continue
        _loaded.add(facts["package"])
        importlib.import_module(f"neurodatahub.{facts['package']}.checks")
