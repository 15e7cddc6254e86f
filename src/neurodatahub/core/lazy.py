"""Package APIs whose names are imported on first use, so that loading a package (to register its formats
or its command group) costs nothing for the names a command does not touch."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], list[str]]:
    """`__getattr__` and `__all__` for a package whose public `names` live in its submodules.

    `names` maps each public name to the submodule (relative to `package`) that defines it.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__, sorted(names)
