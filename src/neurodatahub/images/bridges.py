"""Images to and from nibabel's in-memory images, without a file (for notebooks and pipelines).

`to_nibabel` gives a Nifti1Image (NIfTI-2 past NIfTI-1's 32767 voxels per axis) with the header the
NIfTI writer would write (intent, map name, description, repetition time), or a Cifti2Image for
grayordinate data. `from_nibabel` takes any nibabel volume (NIfTI-1/2, MGH, Analyze...) or a dense
Cifti2Image and classifies it as a file would be (the caller's class, else the header) into a validated
model. A parcellation's lookup table has no place in a nibabel volume: pass it back with `lut=`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodatahub.images import classify, volumes

SOURCE = "in-memory image"


def to_nibabel(model: Any) -> Any:
    """A nibabel image of an image model (voxel data shared, not copied, where the types allow)."""
    import nibabel as nib

    from neurodatahub.images.formats import cifti, nifti

    if type(model).__name__ in ("GrayordinateMaps", "GrayordinateParcellation", "GrayordinateSeries"):
        return cifti.to_image(model)
    header = nifti.header_of(volumes.plan_of(model))
    klass = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
    return klass(np.asarray(model.data), np.asarray(model.affine, dtype=np.float64), header)


def from_nibabel(image: Any, class_name: str | None = None, **options: Any) -> Any:
    """A validated model of a nibabel image; `options` as the readers take them (space, resolution, name,
    lut: a table's URL or an AtlasLUT); a broken invariant is an InvalidDataError, as from a file."""
    from nibabel import cifti2

    from neurodatahub.core.conversion import invalid_data_of

    with invalid_data_of(SOURCE):
        return _model(image, class_name, options, cifti2)


def _model(image: Any, class_name: str | None, options: dict[str, Any], cifti2: Any) -> Any:
    from neurodatahub.images.formats import cifti, nifti

    if isinstance(image, cifti2.Cifti2Image):
        return cifti.from_image(image, SOURCE, class_name, options.get("space"))
    header = image.header
    if "intent_code" in header:
        volume = nifti.volume_of(SOURCE, image, np.asarray(image.dataobj[..., 0:0]).dtype)
    else:  # MGH, Analyze: no intent
        volume = volumes.Volume(
            shape=tuple(int(size) for size in image.shape),
            dtype=np.asarray(image.dataobj[..., 0:0]).dtype,
            affine=np.asarray(image.affine, dtype=np.float64),
            read=lambda start, stop: np.asarray(image.dataobj[..., start:stop]),
        )
    lut = options.get("lut")
    if lut is not None and not isinstance(lut, str):
        options = {key: value for key, value in options.items() if key != "lut"}
    model = volumes.build(SOURCE, volume, classify.image_class(SOURCE, volume.facts, class_name), (), options)
    if lut is not None and not isinstance(lut, str):
        model = type(model)(**{**dict(model), "lut": lut})
    return model
