"""The voxel grid a tractogram refers to: from an image or tractogram file, or a template space.

TRK and TRX store a grid (dimensions and voxel-to-RAS+ affine); TCK stores none. Writing a TCK's
streamlines to TRK or TRX therefore needs a grid from somewhere, and inventing one (nibabel writes an
identity affine with dimensions 1,1,1 without a word) would produce a file every viewer misplaces. The grid
comes from the `reference` option (a NIfTI image, TRK or TRX file, on any storage URL; only its header is
read), or `space` plus `resolution` (a template grid of `subjects.spaces.TEMPLATE_GRIDS`), or the
tractogram itself; with none of them the write fails before any output exists.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import environment, storage
from neurodatahub.core.codecs.gzip import gunzipped_head
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.options import Options, Positive, choice
from neurodatahub.tractograms.common import grid

if TYPE_CHECKING:
    from neurodatahub.core.models import Tractogram


class ReferenceOptions(Options):
    """The grid of streamlines for formats that need one (TRK, TRX): a file's header, or a template grid."""

    reference: str | None = Field(
        None, description="grid of the streamlines: URL of a NIfTI image, TRK or TRX file (its header only)"
    )
    space: choice("CoordinateSpace") | None = Field(
        None,
        description="template space of the grid, e.g. MNI152NLin2009cAsym (with resolution when it has"
        " several)",
    )
    resolution: Positive | None = Field(
        None, description="voxel size in mm of the template grid that space names"
    )


NEEDS_REFERENCE = (
    "give reference=<NIfTI, TRK or TRX URL> or space=<template> resolution=<mm>"
    " (hub convert in.tck out.trk -O reference=t1.nii.gz)"
)
HEADER_BYTES = 1 << 16  # enough for any NIfTI-1/2 header with extensions' start, and a TRK header


def resolve(
    reference: Any = None,
    space: Any = None,
    resolution: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    fallback: Any = None,
) -> tuple[Any, str | None]:
    """(grid or None, space or None) from the options, in this order: `reference`, the template grid of
    `space` at `resolution`, `fallback` (the tractogram's own grid), the only template grid of `space`.

    An unknown space, an unknown or ambiguous template grid, or a reference that contradicts the space
    or resolution given with it is a UsageError.
    """
    name = space_of(space)
    size = environment.parse(resolution, "resolution", None, above=0)
    if reference not in (None, ""):
        found = from_url(str(reference), storage_options)
        if size is not None:
            _check_resolution(found, size, str(reference))
        if name is not None:
            _agrees_with_template(found, name, str(reference))
        return found, name
    if size is not None and name is None:
        raise UsageError("resolution needs space=<template> (or use reference=<image>)")
    if size is not None or (name is not None and fallback is None):
        return template_grid(name, size), name
    return fallback, name


def space_of(space: Any) -> str | None:
    """A space option checked against the schema's spaces (None when not given)."""
    from neurodatahub.core.models import CoordinateSpace

    if space in (None, ""):
        return None
    text = str(getattr(space, "value", space))
    if text not in {member.value for member in CoordinateSpace}:
        known = ", ".join(member.value for member in CoordinateSpace)
        raise UsageError(f"unknown space {text!r}; known spaces: {known}")
    return text


def required(model: Tractogram, format_name: str, reference: Any, space: Any, resolution: Any) -> Any:
    """The grid to write (see `resolve`); none at all is a UsageError, raised before any output exists."""
    chosen, _ = resolve(reference, space, resolution, fallback=model.reference)
    if chosen is None:
        raise UsageError(
            f"a {format_name} file needs the voxel grid the streamlines refer to and this tractogram has none"
            f" (TCK files carry none); {NEEDS_REFERENCE}"
        )
    return chosen


def template_grid(space: str, resolution: float | None) -> Any:
    """The template grid of `space` at `resolution` mm; none or several is a clear error."""
    from neurodatahub.core.imaging.spaces import TEMPLATE_GRIDS

    of_space = [item for item in TEMPLATE_GRIDS if item.space == space]
    known = ", ".join(sorted({f"{item.space} {abs(item.zooms[0]):g} mm" for item in TEMPLATE_GRIDS}))
    if not of_space:
        raise UsageError(f"no template grid is known for space {space!r} (known: {known}); {NEEDS_REFERENCE}")
    matching = [
        item for item in of_space if resolution is None or abs(abs(item.zooms[0]) - resolution) < 1e-6
    ]
    if not matching:
        raise UsageError(f"space {space} has no {resolution:g} mm template grid (known: {known})")
    if len(matching) > 1:
        shapes = "; ".join(f"{abs(item.zooms[0]):g} mm {'x'.join(map(str, item.shape))}" for item in matching)
        hint = "name resolution=<mm>" if resolution is None else "give reference=<image> on the grid you need"
        raise UsageError(f"space {space} has several template grids ({shapes}): {hint}")
    return grid(matching[0].shape, matching[0].affine())


def _check_resolution(found: Any, size: float, url: str) -> None:
    from neurodatahub.core.checks import RESOLUTION_TOLERANCE_MM

    sizes = np.linalg.norm(found.affine[:3, :3], axis=0)
    if np.abs(sizes - size).max() > RESOLUTION_TOLERANCE_MM:
        raise UsageError(
            f"resolution {size:g} mm disagrees with the voxel sizes {np.round(sizes, 3).tolist()} of {url}"
        )


def _agrees_with_template(found: Any, space: str, url: str | None) -> None:
    """A reference on another template's grid contradicts the space named with it."""
    from neurodatahub.core.imaging.spaces import detect_space

    if found is None or url is None:
        return
    detected = detect_space(found.shape.tolist(), found.affine)
    if detected is not None and detected != space:
        raise UsageError(f"space {space} disagrees with {url}, which is on the {detected} template grid")


def from_url(url: str, storage_options: Mapping[str, Any] | None = None) -> Any:
    """The grid of a NIfTI image, TRK or TRX file, read from its header alone."""
    head = storage.read_head(url, HEADER_BYTES, storage_options)
    if head.startswith(b"PK\x03\x04"):
        return _trx_grid(url, storage_options)
    raw = gunzipped_head(head, url, HEADER_BYTES)
    if raw.startswith(b"TRACK"):
        from neurodatahub.tractograms.trk_header import parse_header

        parsed = parse_header(raw[:1000], url)
        if parsed.grid is None:
            raise InputError(
                f"{url}: this TRK file records no voxel-to-RAS affine, so it cannot be a reference"
            )
        return parsed.grid
    return _nifti_grid(raw, url)


def _nifti_grid(raw: bytes, url: str) -> Any:
    from neurodatahub.core.imaging.nifti import header_from_bytes

    header = header_from_bytes(raw, url)
    if header is None:
        raise InputError(f"{url}: not a NIfTI image, TRK or TRX file, so it cannot give a reference grid")
    try:
        shape = header.get_data_shape()
        affine = header.get_best_affine()
    except Exception as error:  # nibabel raises several unrelated types for a damaged header
        raise InputError(f"{url}: damaged NIfTI header ({' '.join(str(error).split())})") from error
    if len(shape) < 3:
        raise InputError(f"{url}: a {len(shape)}D image has no 3D grid to refer streamlines to")
    return valid_grid(shape[:3], affine, url)


def _trx_grid(url: str, storage_options: Mapping[str, Any] | None) -> Any:
    with storage.open_read(url, storage_options) as handle:
        try:
            with zipfile.ZipFile(handle) as archive, archive.open("header.json") as member:
                header = json.load(member)
            return valid_grid(header["DIMENSIONS"], np.reshape(header["VOXEL_TO_RASMM"], (4, 4)), url)
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as error:
            raise InputError(f"{url}: not a TRX file with a readable header.json ({error})") from error


def valid_grid(shape: Any, affine: Any, url: str) -> Any:
    from pydantic import ValidationError

    try:
        return grid(shape, affine)
    except ValidationError as error:
        message = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise InputError(f"{url}: its grid cannot serve as a reference ({message})") from error
