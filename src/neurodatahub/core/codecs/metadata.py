"""JSON for metadata stored in attributes and table metadata."""

from __future__ import annotations

import json
from typing import Any

import numpy as np


def to_json(value: Any) -> str:
    """JSON for metadata stored in attributes; numpy values become plain numbers and lists."""
    return json.dumps(value, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
