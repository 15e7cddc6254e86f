"""JSON for metadata stored in attributes and table metadata, and text fields read from containers."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from neurodatahub.core.errors import InputError


def to_json(value: Any) -> str:
    """JSON for metadata stored in attributes; numpy values become plain numbers and lists."""
    return json.dumps(value, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def metadata_from_json(text: Any, url: str) -> Any:
    try:
        return json.loads(str(text))
    except ValueError as error:
        raise InputError(f"{url}: metadata is not JSON text ({error})") from error


def optional_text(value: Any) -> str | None:
    """Text fields from a container (bytes, numpy strings, JSON numbers) as str; absent as None."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.item()
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
