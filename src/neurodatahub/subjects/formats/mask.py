"""Lesion masks as NIfTI (`*_mask.nii.gz`, BIDS naming): read into a validated LesionMask, written as uint8.

Reading settles the space and resolution like `from_nifti` (sidecar, entities, affine) but accepts a
mask whose space nothing tells, since a LesionMask may leave it open; SubjectData may not.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from neurodatahub.core.errors import InvalidDataError
from neurodatahub.core.options import Options, Positive, choice
from neurodatahub.core.registry import FormatSpec, Probe, register_format

MASK_NAMES = ("mask.nii.gz", "mask.nii")  # BIDS suffix _mask; other NIfTI files need --from nifti-mask
NIFTI1_MAGICS = (b"n+1\x00", b"ni1\x00")
GZIP_MAGIC = b"\x1f\x8b"


def _header(head: bytes) -> bytes:
    if head.startswith(GZIP_MAGIC):
        try:
            return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 600)
        except zlib.error:
            return b""
    return head


def is_nifti(head: bytes) -> bool:
    """NIfTI-1 (magic at byte 344) or NIfTI-2 (header size 540 and magic n+2 at byte 4)."""
    header = _header(head)
    return header[344:348] in NIFTI1_MAGICS or header[4:8] == b"n+2\x00"


def _sniff(probe: Probe) -> bool:
    name = probe.url.rstrip("/").rsplit("/", 1)[-1].lower()
    return not probe.is_dir and name.endswith(MASK_NAMES) and is_nifti(probe.head)


class ReadOptions(Options):
    space: choice("CoordinateSpace") | None = Field(
        None, description="coordinate space, when nothing else says it"
    )
    resolution: Positive | None = Field(None, description="voxel size in mm")


def read(url: str, *, storage_options: Any = None, space: str | None = None, resolution: Any = None) -> Any:
    from neurodatahub.core.imaging.nifti import read_image
    from neurodatahub.subjects.loading import lesion_mask, read_sidecar

    return lesion_mask(
        url,
        read_image(url, storage_options),
        space=space,
        resolution=float(resolution) if resolution is not None else None,
        sidecar=read_sidecar(url, storage_options),
        require_space=False,
    )


def describe(
    url: str, *, storage_options: Any = None, space: str | None = None, resolution: Any = None
) -> dict[str, Any]:
    """`hub info` from the header alone (the first bytes, also of a .nii.gz): shape, space, resolution and
    voxel sizes. Whether the voxels make a binary, non-empty mask, and its volume, need them all: that
    is `hub validate`'s to say."""
    from neurodatahub.core.errors import InputError
    from neurodatahub.core.imaging.nifti import read_header
    from neurodatahub.core.imaging.spaces import voxel_sizes
    from neurodatahub.subjects.loading import read_sidecar, settled_grid

    header = read_header(url, storage_options)
    if header is None:
        raise InputError(f"{url}: not a NIfTI image")
    shape = [int(size) for size in header.get_data_shape()]
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3:
        raise InvalidDataError(f"{url}: a lesion mask must be 3D, got shape {shape}")
    affine = header.get_best_affine()
    settled_space, settled_resolution = settled_grid(
        url,
        shape,
        affine,
        space=space,
        resolution=float(resolution) if resolution is not None else None,
        sidecar=read_sidecar(url, storage_options),
        require_space=False,
    )
    return {
        "class": "LesionMask",
        "shape": shape,
        "space": settled_space,
        "resolution_mm": settled_resolution,
        "voxel_sizes_mm": [round(float(size), 4) for size in voxel_sizes(affine)],
        "data_type": str(header.get_data_dtype()),
    }


def write(mask: Any, path: Path) -> None:
    from neurodatahub.core.imaging.nifti import write_image

    write_image(np.asarray(mask.data).astype(np.uint8), mask.affine, path, compressed=".nii.gz" in path.name)


def losses(mask: Any) -> list[Any]:
    """NIfTI headers have no template name; a BIDS space- entity or a sidecar must carry it."""
    from neurodatahub.core.models import Loss

    if mask.space is None:
        return []
    return [Loss(field="space", reason="NIfTI has no place for it (name the file with space-<label>)")]


def verify(mask: Any, path: Path) -> None:
    """Reopen the bytes (the temporary name has no extension nibabel knows) and compare voxels and grid."""
    import nibabel as nib

    raw = path.read_bytes()
    image = nib.Nifti1Image.from_bytes(gzip.decompress(raw) if raw.startswith(GZIP_MAGIC) else raw)
    if not (np.array_equal(np.asarray(image.dataobj), mask.data) and np.allclose(image.affine, mask.affine)):
        raise InvalidDataError(f"{path.name}: the mask written does not read back equal")


SPEC = register_format(
    FormatSpec(
        name="nifti-mask",
        kind="lesion-mask",
        description="Binary lesion mask as NIfTI-1 (BIDS *_mask.nii.gz); space and resolution from the "
        "file name, sidecar or template grid",
        extensions=(".nii.gz", ".nii"),
        read=read,
        write=write,
        verify=verify,
        describe=describe,
        sniff=_sniff,
        read_options=ReadOptions,
        cannot_store=("space (kept by a space- entity in the name or a sidecar)",),
        losses=losses,
    )
)
