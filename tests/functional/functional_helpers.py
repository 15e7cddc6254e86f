"""Synthetic GSP1000-style folders: small 4D runs in FSL's LAS orientation, masks in RAS, like the real data.

The oracle for every chunk is nibabel itself: `as_closest_canonical(run).get_fdata()[mask].T` as float32,
the expression lacuna stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np

GRID = (6, 7, 5)
# the 2 mm MNI152NLin6Asym grid: RAS as templateflow stores it, LAS as FSL (and GSP1000) store it
MNI_SHAPE = (91, 109, 91)
RAS_2MM = np.array([[2.0, 0, 0, -90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
LAS_2MM = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])


def small_ras(shape: tuple[int, int, int] = GRID) -> np.ndarray:
    """A RAS grid of `shape` whose LAS twin is `small_las(shape)` (the same voxels, axis 0 flipped)."""
    affine = RAS_2MM.copy()
    affine[0, 3] = -2.0 * (shape[0] - 1) / 2
    return affine


def small_las(shape: tuple[int, int, int] = GRID) -> np.ndarray:
    affine = LAS_2MM.copy()
    affine[0, 3] = 2.0 * (shape[0] - 1) / 2
    return affine


@dataclass
class Gsp:
    root: Path
    mask: Path
    runs: list[Path] = field(default_factory=list)

    @property
    def subjects(self) -> list[str]:
        return [run.parent.parent.name for run in self.runs]


def save(image: nib.Nifti1Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, path)
    return path


def run_path(root: Path, subject: str) -> Path:
    return (
        root
        / subject
        / "func"
        / f"{subject}_bld001_rest_skip4_stc_mc_bp_0.0001_0.08_resid_FS1mm_MNI1mm_MNI2mm_sm7_finalmask.nii.gz"
    )


def make_mask(path: Path, shape: tuple[int, int, int] = GRID, n_voxels: int = 9, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    data = np.zeros(shape, np.uint8)
    data.reshape(-1)[rng.choice(data.size, n_voxels, replace=False)] = 1
    return save(nib.Nifti1Image(data, small_ras(shape)), path)


def make_run(
    path: Path,
    shape: tuple[int, int, int] = GRID,
    n_timepoints: int = 12,
    seed: int = 0,
    affine: np.ndarray | None = None,
    dtype: type = np.float32,
    slope: float | None = None,
) -> Path:
    """A LAS run (FSL's orientation) with values that differ per voxel, timepoint and subject."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        data = (rng.normal(1000, 50, (*shape, n_timepoints))).astype(dtype)
    else:
        data = rng.integers(-3000, 3000, (*shape, n_timepoints)).astype(dtype)
    image = nib.Nifti1Image(data, small_las(shape) if affine is None else affine)
    image.header.set_data_dtype(dtype)
    if slope is not None:
        image.header.set_slope_inter(slope, 0.25)
    return save(image, path)


def make_gsp(
    root: Path,
    n_subjects: int = 5,
    shape: tuple[int, int, int] = GRID,
    n_timepoints: int = 12,
    n_voxels: int = 9,
) -> Gsp:
    mask = make_mask(root.parent / f"{root.name}_mask.nii.gz", shape, n_voxels)
    gsp = Gsp(root=root, mask=mask)
    for index in range(n_subjects):
        gsp.runs.append(make_run(run_path(root, f"sub-{index + 1:04d}"), shape, n_timepoints, seed=index + 1))
    return gsp


def expected(run: Path, mask: Path) -> np.ndarray:
    """What lacuna stores for a run: (timepoints, voxels) float32 of the canonical data under the mask."""
    voxels = nib.as_closest_canonical(nib.load(mask)).get_fdata().astype(bool)
    data = nib.as_closest_canonical(nib.load(run)).get_fdata()
    return data[voxels].T.astype(np.float32)


def mask_indices(mask: Path) -> np.ndarray:
    voxels = nib.as_closest_canonical(nib.load(mask)).get_fdata().astype(bool)
    return np.vstack(np.where(voxels)).T


def raw_chunk(
    path: Path,
    timeseries: np.ndarray,
    indices: np.ndarray,
    affine: np.ndarray | None = None,
    attrs: dict | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """A chunk file written with h5py alone, the way lacuna writes one, with whatever attributes given.

    `attrs` override lacuna's attributes (None removes one); `drop` leaves datasets out.
    """
    import h5py

    n_subjects, n_timepoints, n_voxels = timeseries.shape
    written = {
        "mask_shape": np.asarray(GRID),
        "n_subjects": n_subjects,
        "n_timepoints": n_timepoints,
        "n_voxels": n_voxels,
        "space": "MNI152NLin6Asym",
        "description": "GSP1000 functional connectome chunk 0",
        "source": "Harvard Dataverse doi:10.7910/DVN/ILXIKS",
    }
    written.update(attrs or {})
    with h5py.File(path, "w") as file:
        if "timeseries" not in drop:
            file.create_dataset(
                "timeseries",
                data=timeseries,
                chunks=(1, n_timepoints, n_voxels),
                compression="gzip",
                compression_opts=1,
            )
        if "mask_indices" not in drop:
            file.create_dataset("mask_indices", data=indices)
        if "mask_affine" not in drop:
            file.create_dataset("mask_affine", data=small_ras() if affine is None else affine)
        for name, value in written.items():
            if value is not None:
                file.attrs[name] = value
    return path


def where_order(n_voxels: int, seed: int = 0, shape: tuple[int, int, int] = GRID) -> np.ndarray:
    """(voxels, 3) of a random mask, as np.where lists them."""
    rng = np.random.default_rng(seed)
    voxels = np.zeros(shape, bool)
    voxels.reshape(-1)[rng.choice(voxels.size, n_voxels, replace=False)] = True
    return np.vstack(np.where(voxels)).T
