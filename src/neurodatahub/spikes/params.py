"""KiloSort/Phy `params.py`: read without running it, written so that it reads back the same.

Phy, spikeinterface and phylib `exec()` this file, so a hostile folder runs code on whoever opens it.
The hub parses it with `ast` instead and accepts only `name = literal` lines (numbers, strings, lists,
tuples, dicts, True/False/None); anything else is refused with the line it is on, before any value is
used. Nothing in this module imports, calls or evaluates what the file says.
"""

from __future__ import annotations

import ast
import keyword
import math
from collections.abc import Callable, Mapping
from typing import Any

from neurodatahub.core.errors import InputError

MAX_BYTES = 1024 * 1024  # a real params.py is a few hundred bytes; refuse to parse megabytes of "literals"


def parse(source: bytes, where: str = "params.py") -> dict[str, Any]:
    """The names and literal values a params.py assigns; the last assignment of a name wins, as in Python."""
    if len(source) > MAX_BYTES:
        raise InputError(f"{where}: {len(source)} bytes is too large for a params file")
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{where}: not UTF-8 text ({error.reason} at byte {error.start})") from error
    try:
        tree = ast.parse(text, filename=where)
    except SyntaxError as error:
        raise InputError(f"{where} line {error.lineno}: invalid Python syntax ({error.msg})") from error
    except (RecursionError, MemoryError, ValueError) as error:
        raise InputError(f"{where}: cannot be parsed ({type(error).__name__})") from error
    values: dict[str, Any] = {}
    for statement in tree.body:
        if _is_docstring(statement):
            continue
        targets = statement.targets if isinstance(statement, ast.Assign) else []
        if not targets or not all(isinstance(target, ast.Name) for target in targets):
            raise _refused(statement, where)
        try:
            value = _plain(ast.literal_eval(statement.value))
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as error:
            raise _refused(statement, where) from error
        for target in targets:
            values[target.id] = value
    return values


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _refused(statement: ast.stmt, where: str) -> InputError:
    return InputError(
        f"{where} line {statement.lineno}: only literal assignments (name = number, string, list...)"
        " are allowed; the file is never executed"
    )


def _plain(value: Any) -> Any:
    """Values as JSON-like data (tuples become lists), so they can live in SpikeData.metadata."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _plain(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{type(value).__name__} values are not supported")


def positive_number(value: Any) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _paths(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(item, str) for item in value)
    )


# the entries Phy itself uses: what each must be, when present
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "sample_rate": (positive_number, "a positive number (Hz)"),
    "dat_path": (_paths, "a path or a list of paths"),
    "n_channels_dat": (_count, "a non-negative integer"),
    "offset": (_count, "a non-negative integer"),
    "dtype": (lambda value: isinstance(value, str), "a numpy dtype name such as 'int16'"),
    "hp_filtered": (lambda value: isinstance(value, bool), "True or False"),
}


def check(params: Mapping[str, Any], where: str = "params.py") -> None:
    """The entries Phy itself uses must have the types Phy expects."""
    for name, value in params.items():
        if not valid(name, value):
            raise InputError(f"{where}: {name} must be {RULES[name][1]}, got {value!r}")


def valid(name: str, value: Any) -> bool:
    return name not in RULES or RULES[name][0](value)


def writable(name: Any, value: Any) -> bool:
    """Whether `name = repr(value)` is a line `parse` and `check` read back as the same value."""
    if not (
        isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name) and valid(name, value)
    ):
        return False
    try:
        return _plain(ast.literal_eval(repr(value))) == value and _plain(value) == value
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return False


def render(params: Mapping[str, Any]) -> str:
    """params.py text: one `name = literal` line per entry, in the given order."""
    return "".join(f"{name} = {value!r}\n" for name, value in params.items())
