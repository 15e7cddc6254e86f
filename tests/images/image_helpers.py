"""Images made by nibabel (the peer) for the image tests: small grids, every class, real headers."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

MNI_2MM = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
OBLIQUE = np.array([[-1.9, 0.2, 0.0, 88.0], [0.15, 2.0, 0.1, -120.0], [0.0, -0.1, 2.1, -70.0], [0, 0, 0, 1]])
SHAPE = (9, 10, 11)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def save_nifti(
    path: Path,
    data: np.ndarray,
    affine: np.ndarray = OBLIQUE,
    intent: str | None = None,
    repetition_time: float | None = None,
) -> Path:
    """A NIfTI-1 file as nibabel writes it (sform and qform from the affine, units mm and s)."""
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm", "sec")
    if intent is not None:
        image.header.set_intent(intent)
    if repetition_time is not None:
        image.header["pixdim"][4] = repetition_time
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, path)
    return path


def mask(shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    data = np.zeros(shape, np.uint8)
    data[2:5, 3:6, 4:7] = 1
    return data


def labels(shape: tuple[int, ...] = SHAPE, count: int = 4, seed: int = 1) -> np.ndarray:
    return rng(seed).integers(0, count + 1, shape).astype(np.int16)


def scalar(shape: tuple[int, ...] = SHAPE, seed: int = 2) -> np.ndarray:
    return rng(seed).random(shape).astype(np.float32)


def series(shape: tuple[int, ...] = (*SHAPE, 6), seed: int = 3) -> np.ndarray:
    return (rng(seed).random(shape) * 1000).astype(np.int16)


def write_lut(path: Path, count: int = 4) -> Path:
    rows = "".join(f"{index}\t{'LH' if index % 2 else 'RH'}_region{index}\n" for index in range(1, count + 1))
    path.write_text("index\tname\n" + rows)
    return path
