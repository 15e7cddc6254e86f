"""NIfTI in and out through the storage layer: nibabel needs a real path, so remote files are copied."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurodatahub.core import budget, storage
from neurodatahub.core.errors import InputError, InvalidDataError

NIFTI_EXTENSIONS = (".nii.gz", ".nii")
HEADER_BYTES = 4096  # compressed bytes that always hold the 540-byte NIfTI-2 header (and NIfTI-1's 348)


@dataclass(frozen=True)
class Image:
    data: np.ndarray
    affine: np.ndarray
    size_bytes: int
    checksum: str  # xxh3_128 of the file, for provenance


def load(path: Path, url: str, first_volume: bool = False) -> Any:
    """nibabel's image of a local file, once the data its header declares (or its first 3D volume)
    fits the memory budget and, for .gz, the decompression limit (core.budget).

    nibabel reads only the header here; the data come later, from `image.dataobj`.
    """
    import nibabel as nib

    image = nib.load(path)
    header = image.header
    shape = tuple(int(size) for size in header.get_data_shape())
    if first_volume:
        shape = shape[:3]
    scaled = any(
        value not in (None, 0.0, 1.0) and np.isfinite(value)
        for value in (header.get_slope_inter() if hasattr(header, "get_slope_inter") else (None, None))
    )
    dtype = np.float64 if scaled else header.get_data_dtype()
    what = f"the NIfTI image {shape} of {np.dtype(dtype).name}"
    size = budget.require_array(shape, dtype, what, url)
    if str(path).endswith(".gz"):
        budget.require_inflation(size, Path(path).stat().st_size, what, url)
    return image


def finite_affine(affine: Any, url: str) -> np.ndarray:
    """The affine as float64, refused (exit 1) when it holds NaN or infinite values: said as such, not as
    the negative resolution or unknown space computed from it."""
    affine = np.asarray(affine, dtype=np.float64)
    if not np.isfinite(affine).all():
        raise InvalidDataError(
            f"{url}: the affine holds NaN or infinite values (sform/qform {affine.tolist()})",
            [{"location": "affine", "message": "holds NaN or infinite values"}],
        )
    return affine


def read_image(url: str, storage_options: Mapping[str, Any] | None = None) -> Image:
    """Voxel data (fully read, so a truncated file fails here and not later) and the affine."""
    import nibabel as nib

    with storage.local_copy(url, storage_options) as path:
        try:
            image = load(path, url)
            data = np.asanyarray(image.dataobj)
        except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error) as error:
            raise InputError(f"{url}: not a readable NIfTI image ({error})") from error
        affine = finite_affine(image.affine, url)
        return Image(
            data=data,
            affine=affine,
            size_bytes=path.stat().st_size,
            checksum=storage.checksum_of(str(path), "xxh3_128") or "",
        )


def write_image(data: np.ndarray, affine: np.ndarray, path: Path, *, compressed: bool = True) -> None:
    """A NIfTI-1 file with millimetre units and the affine as both sform and qform.

    Bytes are made in memory because the path is a temporary name whose extension nibabel cannot read.
    """
    import nibabel as nib

    image = nib.Nifti1Image(np.asarray(data), np.asarray(affine, dtype=np.float64))
    image.header.set_xyzt_units("mm")
    image.set_sform(image.affine, code=1)
    image.set_qform(image.affine, code=1)
    raw = image.to_bytes()
    path.write_bytes(gzip.compress(raw, compresslevel=6, mtime=0) if compressed else raw)


def read_header(url: str, storage_options: Mapping[str, Any] | None = None) -> Any | None:
    """The NIfTI-1 or NIfTI-2 header of `url` from its first bytes only (one small read, also on S3);
    None when the file does not start with one."""
    from neurodatahub.core.codecs.gzip import gunzipped_head

    raw = gunzipped_head(storage.read_head(url, HEADER_BYTES, storage_options), url)
    return header_from_bytes(raw, url)


def header_from_bytes(raw: bytes, url: str) -> Any | None:
    """The NIfTI-1/2 header `raw` (uncompressed bytes) starts with, in either byte order; None if none."""
    import io

    import nibabel as nib

    for klass in (nib.Nifti1Header, nib.Nifti2Header):
        size = klass.sizeof_hdr
        if len(raw) >= size and size in (
            int.from_bytes(raw[:4], "little", signed=True),
            int.from_bytes(raw[:4], "big", signed=True),
        ):
            try:
                return klass.from_fileobj(io.BytesIO(raw[:size]), check=False)
            except (ValueError, nib.spatialimages.HeaderDataError) as error:
                raise InputError(f"{url}: damaged NIfTI header ({' '.join(str(error).split())})") from error
    return None


def is_nifti_name(url: str) -> bool:
    return url.lower().endswith(NIFTI_EXTENSIONS)


def stem(url: str) -> str:
    """File name without its NIfTI extension."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    for extension in NIFTI_EXTENSIONS:
        if name.lower().endswith(extension):
            return name[: -len(extension)]
    return name
