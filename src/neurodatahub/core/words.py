"""How a message tells the user what to pass: in the CLI's words under `hub`, in Python's words elsewhere.

The library raises the same errors for both audiences; a message that says what to add must say
`--fs 30000` to someone typing `hub convert` and `sampling_rate=30000` to someone calling `convert()`.
`hub` switches the wording for the duration of a command (`cli_words`); every message that names an
option goes through `option()`, so neither audience reads the other's spelling.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

# options the CLI spells as flags of their own (the shortcut flags of core.terminal, and the commands'
# switches); any other option is passed as -O NAME=VALUE to a writer or -R NAME=VALUE to a reader
FLAGS = {
    "sampling_rate": "--fs",
    "style": "--style",
    "time_unit": "--time-unit",
    "bin_size_ms": "--bin-size-ms",
    "units_path": "--units-path",
    "allow_pickle": "--allow-pickle",
    "overwrite": "--overwrite",
    "force": "--force",
    "strict": "--strict",
    "kind": "--kind",
}

_in_cli: ContextVar[bool] = ContextVar("neurodatahub_cli_words", default=False)


@contextlib.contextmanager
def cli_words() -> Iterator[None]:
    """Messages raised inside name options as `hub` spells them."""
    token = _in_cli.set(True)
    try:
        yield
    finally:
        _in_cli.reset(token)


def in_cli() -> bool:
    return _in_cli.get()


class Placeholder(str):
    """A value to fill in (HZ, MS): shown as it is, never quoted."""


def option(name: str, value: Any = True, *, reader: bool = False) -> str:
    """How to pass option `name` with `value` (a Placeholder is shown as it is).

    CLI: `--overwrite`, `--fs 30000`, `-O allow_vertex_reorder=true` (`-R` for a reader's option).
    Python: `overwrite=True`, `sampling_rate=30000`, `allow_vertex_reorder=True`.
    """
    if not _in_cli.get():
        return f"{name}={value}" if isinstance(value, Placeholder) else f"{name}={value!r}"
    flag = FLAGS.get(name)
    if flag is not None:
        return flag if value is True else f"{flag} {_cli_text(value)}"
    return f"{'-R' if reader else '-O'} {name}={_cli_text(value)}"


def _cli_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
