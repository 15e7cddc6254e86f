"""Short, comparable summaries of models: what `hub info` prints and what a conversion checks on reopen."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel

from neurodatahub.core import kinds

Summarizer = Callable[[Any], dict[str, Any]]
_SUMMARIES: dict[str, Summarizer] = {}


def summarizes(class_name: str) -> Callable[[Summarizer], Summarizer]:
    def register(function: Summarizer) -> Summarizer:
        _SUMMARIES[class_name] = function
        return function

    return register


def summarize(model: BaseModel) -> dict[str, Any]:
    """Class name plus the numbers that describe the data; class-specific where its kind registers one."""
    kinds.load_code_for(type(model))
    for cls in type(model).__mro__:
        if cls.__name__ in _SUMMARIES:
            return {"class": type(model).__name__, **_SUMMARIES[cls.__name__](model)}
    return {"class": type(model).__name__, **_generic(model)}


def same(left: Any, right: Any) -> bool:
    """Equality of summaries: NaN equals NaN (a region without value), floats to 1e-9 (unit changes)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) and isinstance(right, float):
        both_nan = np.isnan(left) and np.isnan(right)
        return both_nan or math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    return left == right


# how data is expressed, which a writer's options may change, as opposed to what the data is
REPRESENTATION_KEYS = {"time_unit", "start_time", "sampling_rate_hz"}


def fingerprint(model: BaseModel) -> dict[str, Any]:
    """The summary without representation details: what a reopened file must still say."""
    return {key: value for key, value in summarize(model).items() if key not in REPRESENTATION_KEYS}


def _generic(model: BaseModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None:
            continue
        if isinstance(value, np.ndarray) or hasattr(value, "shape"):
            out[f"{name}_shape"] = list(value.shape)
        elif isinstance(value, list):
            out[f"n_{name}"] = len(value)
        elif isinstance(value, str | int | float | bool):
            out[name] = value
    return out
