"""NIfTI volumes from any storage URL (or an image already in memory), with errors that name the file."""

from __future__ import annotations

import contextlib
import warnings
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from zlib_ng import gzip_ng  # standard gzip, inflated about twice as fast as by zlib (pyproject)
from zlib_ng.zlib_ng import error as ZlibNgError

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError
from neurodatahub.core.imaging import nifti

AFFINE_TOLERANCE_MM = 1e-3  # float32 headers round affines; a real disagreement is far larger


class GridMismatchError(InputError, ValueError):
    """Scalar and dseg do not share a voxel grid (a ValueError too, as qsiparc raises one)."""


@dataclass(frozen=True)
class Volume:
    """A 3D array on a grid: the scalar map's values or the parcellation's labels."""

    data: np.ndarray
    affine: np.ndarray
    source: str


Image = Any  # a URL, a path or a nibabel image


def _one_line(error: BaseException) -> str:
    """nibabel's messages span lines; the CLI prints one."""
    return " ".join(str(error).split())


def describe(image: Image) -> str:
    return str(image) if isinstance(image, str) or hasattr(image, "__fspath__") else "<in-memory image>"


@contextlib.contextmanager
def opened(image: Image, storage_options: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """A nibabel image for a URL (downloaded when remote) or the image itself."""
    if not (isinstance(image, str) or hasattr(image, "__fspath__")):
        yield image
        return
    import nibabel as nib

    url = str(image)
    with storage.local_copy(url, storage_options) as path:
        try:
            with _inflating(nifti.load(path, url, first_volume=True), path) as img:
                yield img
        except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, ZlibNgError) as error:
            raise InputError(f"{url}: not a readable NIfTI image ({_one_line(error)})") from error


@contextlib.contextmanager
def _inflating(image: Any, path: Any) -> Iterator[Any]:
    """`image` with its .gz data read through zlib-ng: about twice as fast as nibabel's gzip module, and
    decompressing in C with the GIL released, so the labels are grouped while the scalar map is read."""
    if not str(path).endswith(".gz"):
        yield image
        return
    from nibabel.fileholders import FileHolder

    with gzip_ng.GzipFile(path, "rb") as stream:
        holder = FileHolder(filename=str(path), fileobj=stream)
        yield type(image).from_file_map({name: holder for name in image.file_map})


def _read(img: Any, source: str, first_volume: bool) -> np.ndarray:
    """The image's values (first volume only when asked), read now so a truncated file fails here."""
    proxy = img.dataobj
    index = (slice(None),) * 3 + (0,) * (len(img.shape) - 3) if first_volume else ()
    try:
        scaled = getattr(proxy, "slope", 1.0) != 1.0 or getattr(proxy, "inter", 0.0) != 0.0
        if scaled:  # scaled in float64, as qsiparc reads it, then the first volume
            return np.asarray(proxy, dtype=np.float64)[index]
        return np.asarray(proxy[index] if index else proxy)
    except (OSError, EOFError, ValueError, zlib.error, ZlibNgError) as error:
        raise InputError(
            f"{source}: the NIfTI data cannot be read (truncated or damaged?): {_one_line(error)}"
        ) from error


def scalar_volume(image: Image, name: str, storage_options: Mapping[str, Any] | None = None) -> Volume:
    """The scalar map's first 3D volume; a 4D map uses volume 0, with a warning, as qsiparc does."""
    source = describe(image)
    with opened(image, storage_options) as img:
        if len(img.shape) < 3:
            raise InputError(f"{source}: a scalar map needs 3 dimensions, has shape {img.shape}")
        if len(img.shape) > 3 and int(np.prod(img.shape[3:])) > 1:
            warnings.warn(
                f"scalar map {name} is {len(img.shape)}D {tuple(img.shape)}: using its first volume only",
                stacklevel=3,
            )
        return Volume(_read(img, source, first_volume=True), np.asarray(img.affine, float), source)


def label_volume(image: Image, storage_options: Mapping[str, Any] | None = None) -> Volume:
    """The parcellation's labels as integers (non-integer values are rounded, not truncated)."""
    source = describe(image)
    with opened(image, storage_options) as img:
        shape = tuple(img.shape)
        if len(shape) < 3 or (len(shape) > 3 and int(np.prod(shape[3:])) > 1):
            raise InputError(f"{source}: a dseg must be a 3D label image, has shape {shape}")
        data = _read(img, source, first_volume=True)
    if data.dtype.kind == "f":
        if not np.isfinite(data).all():
            raise InputError(f"{source}: the dseg holds NaN or infinite labels")
        data = np.rint(data).astype(np.int64)
    elif data.dtype.kind not in "iu":
        raise InputError(f"{source}: the dseg holds {data.dtype} values, not integer labels")
    return Volume(data, np.asarray(img.affine, float), source)


def check_same_grid(scalar: Volume, labels: Volume) -> None:
    """Voxel i of the scalar is voxel i of the dseg: same 3D shape and the same affine."""
    if scalar.data.shape[:3] != labels.data.shape[:3]:
        raise GridMismatchError(
            f"shape mismatch: scalar {scalar.source} is {scalar.data.shape[:3]}, dseg {labels.source} is "
            f"{labels.data.shape[:3]}; both must be on the same grid (subject space from QSIRecon)"
        )
    if not np.allclose(scalar.affine, labels.affine, rtol=0, atol=AFFINE_TOLERANCE_MM):
        raise GridMismatchError(
            f"scalar {scalar.source} and dseg {labels.source} have the same shape but different affines "
            f"(largest difference {np.abs(scalar.affine - labels.affine).max():.4g} mm); resample the dseg "
            "onto the scalar grid first"
        )
