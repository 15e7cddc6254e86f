"""Numbers given as text (environment variables, storage and format options): one reading rule and one
message.

A malformed value is a UsageError naming the variable or option (exit 2), never a traceback or a silent
default.
"""

from __future__ import annotations

import math
import os
from typing import TypeVar

from neurodatahub.core.errors import UsageError

Number = TypeVar("Number", int, float)


def number(
    variable: str,
    default: Number,
    *,
    whole: bool = False,
    minimum: float | None = None,
    above: float | None = None,
    unit: str = "",
) -> Number:
    """`variable` as a number (`whole`: an int), `default` when unset or empty; at least `minimum` and
    more than `above` when given."""
    return parse(
        os.environ.get(variable), variable, default, whole=whole, minimum=minimum, above=above, unit=unit
    )


def parse(
    value: object,
    what: str,
    default: Number | None,
    *,
    whole: bool = False,
    minimum: float | None = None,
    above: float | None = None,
    unit: str = "",
) -> Number | None:
    """`value` (text or a number) read by the rule of `number`; `what` names it in messages."""
    text = "" if value is None else str(value).strip()
    if not text:
        return default
    kind = ("a whole number" if whole else "a number") + (f" of {unit}" if unit else "")
    try:
        parsed = int(text) if whole else float(text)
    except ValueError:
        raise UsageError(f"{what} must be {kind}, got {value!r}") from None
    if not math.isfinite(parsed):
        raise UsageError(f"{what} must be {kind}, got {value!r}")
    if minimum is not None and parsed < minimum:
        raise UsageError(f"{what} must be at least {minimum:g}, got {value!r}")
    if above is not None and not parsed > above:
        wanted = "positive" if above == 0 else f"more than {above:g}"
        raise UsageError(f"{what} must be {wanted}, got {value!r}")
    return parsed  # type: ignore[return-value]
