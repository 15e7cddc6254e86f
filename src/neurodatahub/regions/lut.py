"""Lookup tables for region statistics: the parsing is the core's (`core.imaging.lut`, shared with the
images kind); here the atlas name from the BIDS entities and the fall-back to a dseg image's labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neurodatahub.core.errors import InputError
from neurodatahub.core.imaging.lut import (
    build_lut as build_lut,
    infer_hemisphere as infer_hemisphere,
    lut_from_labels as lut_from_labels,
    parse_lut_text as parse_lut_text,
    read_lut,
)
from neurodatahub.regions.entities import split_name


def atlas_name_of(url: str, stem: bool = True) -> str:
    """The atlas a file belongs to: its atlas- or seg- entity, else (when `stem`) its name's stem."""
    entities, suffix, _ = split_name(url)
    return entities.get("atlas") or entities.get("seg") or (suffix or "" if stem else "")


def load_lut(
    source: str | None = None,
    atlas_name: str | None = None,
    *,
    dseg: Any = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """The lookup table at `source` (any URL, any table `core.imaging.lut` reads), or from the labels of
    `dseg` when None."""
    if source is None:
        if dseg is None:
            raise InputError("a lookup table needs a table file or a dseg image to take labels from")
        return lut_from_dseg(dseg, atlas_name, storage_options=storage_options)
    name = atlas_name if atlas_name is not None else atlas_name_of(str(source))
    return read_lut(str(source), name, storage_options)


def lut_from_dseg(dseg: Any, atlas_name: str | None = None, *, storage_options: Any = None) -> Any:
    from neurodatahub.regions.images import describe, label_volume

    volume = label_volume(dseg, storage_options)
    name = atlas_name if atlas_name is not None else atlas_name_of(describe(dseg))
    return lut_from_labels(volume.data, name, describe(dseg))
