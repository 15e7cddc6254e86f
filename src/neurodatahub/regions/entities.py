"""BIDS entities of a file name, values kept whole.

qsiparc matches `key-[A-Za-z0-9]+`, which cuts a value at its first other character (`desc-v1.2`
becomes `v1`, `seg-AAL-116` becomes `AAL`). Here the name is split at `_` into its parts, each part at
its first `-` into key and value, and only the suffix part loses its extension.
"""

from __future__ import annotations

from pathlib import PurePosixPath


def split_name(name: str) -> tuple[dict[str, str], str | None, str]:
    """(entities, suffix, extension) of a BIDS-like file name or path."""
    base = PurePosixPath(str(name).rstrip("/")).name
    parts = base.split("_")
    last = parts[-1]
    dot = last.find(".")
    stem, extension = (last[:dot], last[dot:]) if dot > 0 else (last, "")
    entities: dict[str, str] = {}
    for part in parts[:-1]:
        key, sep, value = part.partition("-")
        if sep and key:
            entities.setdefault(key, value)
    key, sep, value = stem.partition("-")
    if sep and key:
        entities.setdefault(key, value)
        return entities, None, extension
    return entities, stem or None, extension


def parse_entities(name: str) -> dict[str, str]:
    """{"sub": "001", "ses": "pre", "seg": "AAL116", ...} for a file name; values are never truncated."""
    return split_name(name)[0]


def with_prefix(label: str, prefix: str) -> str:
    """`001` or `sub-001` -> `sub-001`."""
    return label if label.startswith(f"{prefix}-") else f"{prefix}-{label}"
