"""The hook every generated model calls after validation (and after each assignment).

The generated package knows nothing of the invariants the schema cannot express; neurodatahub's core
installs its checker here when its models are imported. Copied into the generated package by
tools/generate.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_checker: Callable[[Any], None] | None = None


def install(checker: Callable[[Any], None]) -> None:
    """Run `checker(model)` after every validation; it raises ValueError for a broken invariant."""
    global _checker
    _checker = checker


def run_checks(model: Any) -> None:
    if _checker is not None:
        _checker(model)
