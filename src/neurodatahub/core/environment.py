"""Numbers set in environment variables (chunk sizes, limits, retries): one reading rule and one message.

A malformed value is a UsageError naming the variable (exit 2), never a traceback or a silent default.
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
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    kind = ("a whole number" if whole else "a number") + (f" of {unit}" if unit else "")
    try:
        parsed = int(value) if whole else float(value)
    except ValueError:
        raise UsageError(f"{variable} must be {kind}, got {value!r}") from None
    if not math.isfinite(parsed):
        raise UsageError(f"{variable} must be {kind}, got {value!r}")
    if minimum is not None and parsed < minimum:
        raise UsageError(f"{variable} must be at least {minimum:g}, got {value!r}")
    if above is not None and not parsed > above:
        raise UsageError(f"{variable} must be more than {above:g}, got {value!r}")
    return parsed  # type: ignore[return-value]
