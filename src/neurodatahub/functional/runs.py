"""GSP1000-style runs: finding them, their grids from the header alone, their masked time series.

Grids are compared in nibabel's closest-canonical (RAS+) orientation, as lacuna does: GSP1000 is stored
in FSL's radiological orientation (LAS) while template masks are RAS, and the two grids differ by an axis
flip only. Time series are read one 3D volume at a time through one open (decompressing) file, so a run
never sits in memory whole: the peak is one volume plus the subject's (timepoints, voxels) result.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodatahub.core import arrays, budget, storage
from neurodatahub.core.errors import InputError, InvalidDataError
from neurodatahub.core.imaging import nifti
from neurodatahub.functional.errors import GridMismatchError, MissingInputError, NoRunsError

RUN_PATTERN = "sub-*/func/*bld001_rest_*_finalmask.nii.gz"
AFFINE_TOLERANCE_MM = 1e-3  # lacuna's tolerance: float32 headers round affines far less than a voxel
CANONICAL = np.array([[0, 1], [1, 1], [2, 1]])  # nibabel's orientation of a grid already RAS+

Options = Mapping[str, Any] | None


@dataclass(frozen=True)
class Grid:
    """A voxel grid in closest-canonical orientation, with the transform from the stored orientation."""

    shape: tuple[int, int, int]
    affine: np.ndarray
    ornt: np.ndarray  # nibabel orientation transform, stored -> canonical


@dataclass(frozen=True)
class Run:
    """One subject's resting-state run, known from its header."""

    url: str
    subject_id: str
    grid: Grid
    n_timepoints: int
    dtype: np.dtype
    offset: int
    slope: float | None
    inter: float | None
    stored_shape: tuple[int, int, int]


@dataclass(frozen=True)
class Mask:
    """The brain mask on its canonical grid: which voxels become columns, in np.where's C order."""

    url: str
    grid: Grid
    voxels: np.ndarray  # bool, canonical orientation
    indices: np.ndarray  # (voxels, 3) int64, C order of np.where(voxels)


def canonical_grid(shape: tuple[int, ...], affine: np.ndarray) -> Grid:
    """The grid nibabel's `as_closest_canonical` gives, without touching any voxel."""
    from nibabel.orientations import inv_ornt_aff, io_orientation

    ornt = io_orientation(affine)
    spatial = tuple(int(size) for size in shape[:3])
    order = ornt[:, 0].astype(int)
    return Grid(
        shape=tuple(spatial[axis] for axis in np.argsort(order)),  # type: ignore[arg-type]
        affine=np.asarray(affine, dtype=np.float64) @ inv_ornt_aff(ornt, spatial),
        ornt=ornt,
    )


def same_grid(left: Grid, right: Grid) -> bool:
    return left.shape == right.shape and bool(
        np.allclose(left.affine, right.affine, atol=AFFINE_TOLERANCE_MM, rtol=0)
    )


def find_runs(gsp_dir: str, storage_options: Options = None, max_subjects: int | None = None) -> list[str]:
    """URLs of `sub-*/func/*bld001_rest_*_finalmask.nii.gz`, sorted by path (lacuna's order), first N.

    A subject with several matching runs is an error: GSP1000 has one per subject, and counting one
    subject twice would weight it double in every normative map.
    """
    if not storage.exists(gsp_dir, storage_options) or not storage.is_dir(gsp_dir, storage_options):
        raise MissingInputError(f"GSP directory not found: {gsp_dir}")
    if storage.is_local(gsp_dir):
        found = sorted(str(path) for path in storage.local_path(gsp_dir).glob(RUN_PATTERN))
    else:
        fs, root = storage.filesystem(gsp_dir, storage_options)
        found = sorted(fs.unstrip_protocol(path) for path in fs.glob(f"{root.rstrip('/')}/{RUN_PATTERN}"))
    if not found:
        raise NoRunsError(
            f"no NIfTI files in {gsp_dir} match {RUN_PATTERN} (the GSP1000 layout: one "
            "sub-*/func/*bld001_rest_*_finalmask.nii.gz run per subject)"
        )
    repeated = sorted(name for name, count in Counter(map(subject_of, found)).items() if count > 1)
    if repeated:
        runs = [url for url in found if subject_of(url) == repeated[0]]
        raise NoRunsError(f"{repeated[0]} has {len(runs)} runs matching {RUN_PATTERN}: {runs}; expected one")
    return found[:max_subjects] if max_subjects is not None else found


def subject_of(url: str) -> str:
    """The `sub-*` folder a run lies in: its subject id."""
    return url.rstrip("/").split("/")[-3]


def _header(url: str, storage_options: Options) -> Any:
    """The run's NIfTI header, from the first bytes only."""
    from neurodatahub.core.imaging.nifti import read_header

    header = read_header(url, storage_options)
    if header is None:
        raise InputError(f"{url}: not a NIfTI-1 or NIfTI-2 image (or truncated before its header ends)")
    if not bytes(header["magic"].item()).startswith(b"n+"):
        raise InputError(f"{url}: a header-only NIfTI (.hdr/.img pair); a run must be one .nii(.gz) file")
    return header


def read_run(url: str, storage_options: Options = None) -> Run:
    """A run's grid, timepoints and data layout from its header; the voxels are not read."""
    header = _header(url, storage_options)
    shape = tuple(int(size) for size in header.get_data_shape())
    if len(shape) != 4:
        raise InputError(f"{url}: a resting-state run is a 4D image, this one has shape {shape}")
    slope, inter = header.get_slope_inter()
    return Run(
        url=url,
        subject_id=subject_of(url),
        grid=canonical_grid(shape, header.get_best_affine()),
        n_timepoints=shape[3],
        dtype=header.get_data_dtype(),
        offset=int(header.get_data_offset()),
        slope=None if slope is None else float(slope),
        inter=None if inter is None else float(inter),
        stored_shape=shape[:3],  # type: ignore[arg-type]
    )


def check_run(run: Run, mask: Mask, n_timepoints: int) -> None:
    """A run must lie on the mask's grid (else its columns would be other voxels) with the common length."""
    if run.grid.shape != mask.grid.shape:
        raise GridMismatchError(
            f"{run.url} has spatial shape {run.grid.shape} but the brain mask {mask.url} is "
            f"{mask.grid.shape} (both in RAS+ orientation); all subjects must share the mask grid"
        )
    if not same_grid(run.grid, mask.grid):
        raise GridMismatchError(
            f"{run.url}: affine {np.round(run.grid.affine, 4).tolist()} does not match the brain mask's "
            f"{np.round(mask.grid.affine, 4).tolist()} (both in RAS+ orientation): different grids"
        )
    if run.n_timepoints != n_timepoints:
        raise GridMismatchError(
            f"{run.url} has {run.n_timepoints} timepoints but {n_timepoints} were expected "
            "(from the first subject); every subject must have the same number"
        )


def read_mask(url: str, storage_options: Options = None) -> Mask:
    """The mask's non-zero voxels on its canonical grid (NaN in a mask is an error, not a voxel)."""
    import nibabel as nib

    if not storage.exists(url, storage_options):
        raise MissingInputError(f"Mask file not found: {url}")
    with storage.local_copy(url, storage_options) as path:
        try:
            image = nib.as_closest_canonical(nifti.load(path, url))
            data = np.asarray(image.dataobj)
        except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error) as error:
            raise InputError(f"{url}: not a readable NIfTI mask ({' '.join(str(error).split())})") from error
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(f"{url}: a brain mask is a 3D image, this one has shape {data.shape}")
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise InvalidDataError(f"{url}: the brain mask holds NaN or infinite values")
    voxels = data != 0
    if not voxels.any():
        raise InvalidDataError(f"{url}: the brain mask has no voxel (all zeros)")
    shape = tuple(int(size) for size in data.shape)
    grid = Grid(shape, np.asarray(image.affine, np.float64), CANONICAL)  # type: ignore[arg-type]
    return Mask(
        url=url, grid=grid, voxels=voxels, indices=np.stack(np.nonzero(voxels), axis=1).astype(np.int64)
    )


def masked_timeseries(run: Run, mask: Mask, storage_options: Options = None) -> np.ndarray:
    """(timepoints, voxels) float32: `as_closest_canonical(run).get_fdata()[mask].T`, one volume at a time.

    Each stored volume is read from the open file (sequential reads, so a .gz is decompressed once),
    put in canonical orientation (a view), masked, then scaled in float64 exactly as `get_fdata` scales,
    and rounded to float32 as lacuna stores it.
    """
    from nibabel.openers import ImageOpener
    from nibabel.orientations import apply_orientation
    from nibabel.volumeutils import apply_read_scaling, array_from_file

    what = f"the masked time series ({run.n_timepoints} timepoints x {len(mask.indices)} voxels, float32)"
    budget.require(4 * run.n_timepoints * len(mask.indices), what, run.url)
    out = np.empty((run.n_timepoints, len(mask.indices)), dtype=np.float32)
    volume_bytes = int(np.prod(run.stored_shape)) * run.dtype.itemsize
    slope = None if run.slope is None else np.float64(run.slope)
    inter = None if run.inter is None else np.float64(run.inter)
    with storage.local_copy(run.url, storage_options) as path:
        try:
            with ImageOpener(str(path)) as handle:
                for t in range(run.n_timepoints):
                    stored = array_from_file(
                        run.stored_shape,
                        run.dtype,
                        handle,
                        run.offset + t * volume_bytes,
                        order="F",
                        mmap=False,
                    )
                    values = apply_orientation(stored, run.grid.ornt)[mask.voxels]
                    out[t] = apply_read_scaling(values, slope, inter)  # float64 when scaled
        except (OSError, EOFError, ValueError, zlib.error) as error:
            reason = " ".join(str(error).split())
            raise InputError(
                f"{run.url}: the NIfTI data cannot be read (truncated or damaged?): {reason}"
            ) from error
    if not arrays.all_finite(out):
        bad = sum(int(np.count_nonzero(~np.isfinite(block))) for _, block in arrays.blocks(out))
        raise InvalidDataError(
            f"{run.url}: {bad} NaN or infinite values inside the mask; a non-finite value would make every "
            "correlation with that subject's time series NaN"
        )
    return out
