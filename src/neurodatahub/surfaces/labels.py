"""Surface parcellations (SurfaceLabels): building them, and what FreeSurfer and GIfTI tables can hold.

A FreeSurfer .annot gives every vertex an annotation code (the label's colour packed as
r + g*2^8 + b*2^16 + t*2^24, t = 255 - alpha) and a colour table whose entries are numbered 0..K-1; a
GIfTI label file gives every vertex a key of its LabelTable (any integers, colours as floats 0-1). The
hub keeps keys, names and RGBA colours 0-255, so both convert into each other; -1 marks a vertex with
no label (nibabel's value for a code absent from the table).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.errors import InputError
from neurodatahub.surfaces.common import header_losses as header_losses, loss as loss

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceLabels

KIND = "surface-labels"
UNLABELLED = -1


def build(
    keys: Any,
    table: Iterable[tuple[int, str, Sequence[int]]],
    *,
    url: str,
    hemisphere: str | None = None,
    space: str | None = None,
    metadata: Any = None,
) -> SurfaceLabels:
    """A validated SurfaceLabels from per-vertex keys and (key, name, RGBA 0-255) entries."""
    from neurodatahub.core.models import SurfaceLabels

    values = np.asarray(keys)
    if values.ndim != 1 or values.dtype.kind not in "iu":
        raise InputError(f"{url}: labels must be one integer per vertex, got {values.dtype} {values.shape}")
    return SurfaceLabels(
        keys=values.astype(np.int64),
        label_table=[
            {"key": int(key), "name": str(name), "color": np.asarray(color, dtype=np.int64)}
            for key, name, color in table
        ],
        hemisphere=hemisphere,
        space=space,
        metadata=metadata if metadata else None,
    )


def hemisphere_from_name(url: str) -> str | None:
    """L or R from FreeSurfer's lh./rh. file name prefix."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    return {"lh.": "L", "rh.": "R"}.get(name[:3])
