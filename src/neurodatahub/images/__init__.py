"""Images on a voxel grid (plain volumes, lesion masks, scalar maps, parcellations, 4D series) and CIFTI-2
dense data: their classes' checks, how a file's class is decided, the volume formats, and the bridges to
nibabel's in-memory images."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodatahub.core.lazy import lazy_exports

if TYPE_CHECKING:
    from neurodatahub.images.bridges import (
        from_nibabel as from_nibabel,
        to_nibabel as to_nibabel,
    )
    from neurodatahub.images.classify import (
        image_class as image_class,
        image_classes as image_classes,
    )

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "from_nibabel": "bridges",
        "image_class": "classify",
        "image_classes": "classify",
        "to_nibabel": "bridges",
    },
)
