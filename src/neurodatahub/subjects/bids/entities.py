"""BIDS file names: entities in the order BIDS 1.11 fixes, parsed without cutting values at `_`.

A name is `key-value` pairs joined by `_`, then a suffix and an extension. Values are labels (letters
and digits only); `label()` makes one from free text so result keys and namespaces can become names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from neurodatahub.core.imaging.bids import (
    resolution_from_label as resolution_from_label,
    split_name as split_name,
)

# BIDS 1.11 entity order (short names), as in the specification's entity table
ENTITY_ORDER = (
    "sub", "tpl", "ses", "cohort", "sample", "task", "tracksys", "acq", "nuc", "voi", "ce", "trc", "stain",
    "rec", "dir", "run", "mod", "echo", "flip", "inv", "mt", "part", "proc", "hemi", "space", "split",
    "recording", "chunk", "atlas", "seg", "scale", "res", "den", "label", "desc",
)  # fmt: skip
LABEL = re.compile(r"^[A-Za-z0-9]+$")
NOT_LABEL = re.compile(r"[^A-Za-z0-9]+")


def label(text: str) -> str:
    """A BIDS label from free text: letters and digits kept, each word capitalised after the first."""
    words = [word for word in NOT_LABEL.split(text) if word]
    if not words:
        raise ValueError(f"{text!r} has no letter or digit to make a BIDS label from")
    return words[0] + "".join(word[:1].upper() + word[1:] for word in words[1:])


def resolution_label(resolution: float) -> str:
    """`res-` label of an isotropic voxel size: 2.0 -> "2", 1.5 -> "1p5" (labels cannot hold a dot)."""
    return f"{resolution:g}".replace(".", "p")


def build_name(entities: Mapping[str, str | None], suffix: str | None, extension: str) -> str:
    """A file name with the entities in BIDS order (and no suffix when None: lacuna's provenance name);
    unknown entities are an error, not appended."""
    unknown = set(entities) - set(ENTITY_ORDER)
    if unknown:
        raise ValueError(f"not BIDS entities: {', '.join(sorted(unknown))}")
    parts = []
    for key in ENTITY_ORDER:
        value = entities.get(key)
        if value is None:
            continue
        if not LABEL.match(value):
            raise ValueError(f"BIDS {key} label {value!r} must hold only letters and digits")
        parts.append(f"{key}-{value}")
    return "_".join([*parts, suffix] if suffix else parts) + extension
