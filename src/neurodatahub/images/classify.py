"""Which class an image file is: a lesion mask, a scalar map, a parcellation, a 4D series or a plain volume.

Precedence, highest first:

1. the caller's choice: `--class`, the reader option `class_name`, or a dataset configuration's per-glob
   class (which reaches the reader as `class_name` too);
2. the BIDS suffix of the file name, from the schema's `ImageSuffix` enum: `_mask` -> LesionMask, `_dseg`
   -> Parcellation, `_bold`/`_dwi` -> ImageSeries, `_FA`/`_dwimap`/`_statmap`/`_map` -> VoxelMap,
   `_T1w` -> ImageVolume...;
3. the header: the class the file records itself (OME-Zarr and NRRD written by the hub), else a label
   intent -> Parcellation, a statistic or estimate intent -> VoxelMap, a time-series
   intent or more than one volume -> ImageSeries; anything else -> ImageVolume (a plain volume). The
   data type picks no class: an integer anatomical scan is a plain volume, not a parcellation, unless
   its intent or its name says so; what the type decides is validity (labels must be whole numbers,
   complex and RGB voxels fit no image class).

The class names the kind (each image class is the pivot of one kind), so the registry reads a file with
the format of that kind (`registry.input_format(..., class_name=...)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from neurodatahub.core import kinds
from neurodatahub.core.errors import UsageError
from neurodatahub.core.imaging.bids import name_of, split_name

BASE_CLASS = "ImageVolume"
# NIfTI-1 statistic intents (NIFTI_FIRST_STATCODE..NIFTI_LAST_STATCODE): all are scalar maps, even those
# the schema's ImageIntent does not name
STATISTIC_CODES = range(2, 25)
CLASS_OF_INTENT = {"label": "Parcellation", "neuroname": "Parcellation", "time_series": "ImageSeries"}


@dataclass(frozen=True)
class HeaderFacts:
    """What a header says, read from the first bytes of a file: enough to classify it."""

    shape: tuple[int, ...]
    intent_code: int = 0
    class_name: str | None = None  # what the file records itself, in formats with room for it


@cache
def image_classes() -> tuple[str, ...]:
    """ImageVolume and every class of the schema that is one, each the pivot of an image kind."""
    from neurodatahub_models.facts import CLASSES

    return tuple(
        name for name, facts in CLASSES.items() if name == BASE_CLASS or BASE_CLASS in facts["parents"]
    )


@cache
def image_kinds() -> tuple[str, ...]:
    return tuple(sorted({kinds.kind_of_class(name) for name in image_classes()} - {None}))


@cache
def intent_names() -> dict[int, str]:
    """NIfTI intent code -> the schema's ImageIntent value."""
    return {int(code): name for name, code in kinds.enum_annotation("ImageIntent", "nifti_code").items()}


@cache
def intent_codes() -> dict[str, int]:
    return {name: code for code, name in intent_names().items()}


@cache
def suffix_classes() -> dict[str, str]:
    return kinds.enum_annotation("ImageSuffix", "image_class")


def checked_class(class_name: str) -> str:
    if class_name not in image_classes():
        raise UsageError(f"{class_name!r} is not an image class; image classes: {', '.join(image_classes())}")
    return class_name


def suffix_class(url: str) -> str | None:
    """The class the BIDS suffix of the file name says, if it says one."""
    return suffix_classes().get(split_name(name_of(url))[1] or "")


def header_class(facts: HeaderFacts) -> str:
    if facts.class_name in image_classes():
        return facts.class_name
    if facts.intent_code in intent_names() and intent_names()[facts.intent_code] in CLASS_OF_INTENT:
        return CLASS_OF_INTENT[intent_names()[facts.intent_code]]
    if facts.intent_code in STATISTIC_CODES or intent_names().get(facts.intent_code, "none") != "none":
        return "VoxelMap"
    if len(facts.shape) > 3 and int(np.prod(facts.shape[3:])) > 1:
        return "ImageSeries"
    return BASE_CLASS


def image_class(url: str, facts: HeaderFacts, class_name: str | None = None) -> str:
    """The class of an image file, by the precedence above."""
    if class_name is not None:
        return checked_class(class_name)
    return suffix_class(url) or header_class(facts)


def kind_of(class_name: str) -> str:
    kind = kinds.kind_of_class(class_name)
    assert kind is not None, f"{class_name} has no kind in the schema"
    return kind
