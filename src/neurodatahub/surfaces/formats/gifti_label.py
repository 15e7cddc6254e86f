"""GIfTI label files (.label.gii): per-vertex keys (one int32 NIFTI_INTENT_LABEL array) and a LabelTable.

What FreeSurfer's mris_convert --annot and Workbench write: the keys array, the LabelTable with each
label's key, name and RGBA colour as floats 0-1 (the hub's 0-255 integers divided by 255, so they come
back exact), the hemisphere as AnatomicalStructurePrimary (CortexLeft, CortexRight). The space and other
metadata go under the file metadata keys `neurodatahub.space` and `neurodatahub.metadata`: lossless.
A label without a colour reads as transparent black.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.codecs.metadata import to_json
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.surfaces import labels as common
from neurodatahub.surfaces.formats.gifti import (
    ENCODING,
    HEMISPHERE_OF,
    LABEL,
    METADATA_KEY,
    SPACE_KEY,
    STRUCTURE_OF,
    _gifti_intents,
    _strings,
    _xml_head,
    intent_of,
    load_image,
)
from neurodatahub.surfaces.labels import KIND

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceLabels

INT32 = np.iinfo(np.int32)
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> SurfaceLabels:
    from neurodatahub.core.models import CoordinateSpace

    image = load_image(url, storage_options)
    arrays = [array for array in image.darrays if intent_of(array) == LABEL]
    if len(arrays) != 1:
        raise InputError(f"{url} has {len(arrays)} NIFTI_INTENT_LABEL arrays; a label file has one")
    keys = np.asarray(arrays[0].data)
    if keys.ndim == 2 and keys.shape[1] == 1:
        keys = keys[:, 0]
    table = [
        (label.key, label.label or "", _color(label))
        for label in image.labeltable.labels
        if label.key is not None
    ]
    meta = {**_strings(image.meta), **_strings(arrays[0].meta)}
    structure = meta.get("AnatomicalStructurePrimary")
    space = meta.get(SPACE_KEY)
    metadata = None
    if METADATA_KEY in meta:
        try:
            metadata = json.loads(meta[METADATA_KEY])
        except ValueError as error:
            raise InputError(f"{url}: {METADATA_KEY} is not JSON ({error})") from error
    return common.build(
        keys,
        table,
        url=url,
        hemisphere=HEMISPHERE_OF.get(structure or ""),
        space=space if space in {item.value for item in CoordinateSpace} else None,
        metadata=metadata,
    )


def _color(label: Any) -> list[int]:
    rgba = [label.red, label.green, label.blue, label.alpha]
    if any(value is None for value in rgba):
        return [0, 0, 0, 0]
    return [round(float(value) * 255) for value in rgba]


def write(labels: SurfaceLabels, path: Path) -> None:
    for entry in labels.label_table:
        if XML_ILLEGAL.search(entry.name):
            raise UsageError(f"label name {entry.name!r} holds control characters, which XML cannot hold")
    from nibabel.gifti import GiftiDataArray, GiftiImage, GiftiLabel, GiftiLabelTable, GiftiMetaData

    table = GiftiLabelTable()
    for entry in labels.label_table:
        label = GiftiLabel(int(entry.key), *(int(value) / 255 for value in entry.color))
        label.label = entry.name
        table.labels.append(label)
    array_meta = {}
    if labels.hemisphere in STRUCTURE_OF:
        array_meta["AnatomicalStructurePrimary"] = STRUCTURE_OF[labels.hemisphere]
    file_meta = {}
    if labels.space:
        file_meta[SPACE_KEY] = str(labels.space)
    if labels.metadata is not None:
        file_meta[METADATA_KEY] = to_json(labels.metadata)
    keys = GiftiDataArray(
        np.asarray(labels.keys).astype(np.int32),
        intent=LABEL,
        datatype="NIFTI_TYPE_INT32",
        encoding=ENCODING,
        meta=GiftiMetaData(array_meta),
    )
    image = GiftiImage(darrays=[keys], labeltable=table, meta=GiftiMetaData(file_meta))
    path.write_bytes(image.to_bytes())


def losses(labels: SurfaceLabels) -> list[Any]:
    found = []
    if labels.hemisphere not in (None, *STRUCTURE_OF):
        found.append(common.loss("hemisphere", "GIfTI names only the left and right cortex"))
    padded = sum(entry.name != entry.name.strip() for entry in labels.label_table)
    if padded:
        found.append(common.loss("label_table", "GIfTI label names lose leading and trailing spaces", padded))
    keys = [entry.key for entry in labels.label_table]
    if keys and (min(keys) < INT32.min or max(keys) > INT32.max):
        raise InputError("label keys beyond int32 cannot be stored in GIfTI")
    return found


def sniff(probe: Probe) -> bool:
    """A label array in the head, or a label table with entries (FreeSurfer's table comes before the
    arrays and can fill the head; surfaces and data files have an empty one)."""
    intents = _gifti_intents(probe)
    return intents is not None and (LABEL in intents or b"<Label " in _xml_head(probe.head))


register_format(
    FormatSpec(
        name="gifti-label",
        kind=KIND,
        description="GIfTI label file (.label.gii): int32 keys and a LabelTable (mris_convert --annot)",
        extensions=(".label.gii",),
        read=read,
        write=write,
        sniff=sniff,
        cannot_store=("hemispheres other than L and R",),
        losses=losses,
    )
)
