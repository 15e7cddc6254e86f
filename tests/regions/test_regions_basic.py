"""The basic tier against its documented definitions, computed region by region with numpy and scipy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from region_helpers import synthetic_case
from scipy import stats

from neurodatahub.regions import extract_scalar_map, load_lut, result_frame
from neurodatahub.regions.tables import columns_of


def _expected(values: np.ndarray, atlas_voxels: int) -> dict[str, float]:
    kept = values[~np.isnan(values)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not kept.size:
            empty = dict.fromkeys(("mean", "median", "std", "iqr", "skewness", "kurtosis"), np.nan)
            return {**empty, "n_voxels": 0, "coverage": np.nan if not atlas_voxels else 0.0}
        return {
            "mean": np.mean(kept),
            "median": np.median(kept),
            "std": np.std(kept, ddof=1) if kept.size > 1 else np.nan,
            "iqr": np.percentile(kept, 75) - np.percentile(kept, 25),
            "skewness": stats.skew(kept, bias=False),
            "kurtosis": stats.kurtosis(kept, bias=False),
            "n_voxels": kept.size,
            "coverage": kept.size / atlas_voxels,
        }


@pytest.mark.parametrize("zero_is_missing", [False, True])
def test_basic_tier_matches_numpy_and_scipy(zero_is_missing: bool) -> None:
    scalar, dseg, _ = synthetic_case()
    lut = load_lut(None, "toy", dseg=dseg)
    table = result_frame(extract_scalar_map(scalar, dseg, lut, "MD", "basic", zero_is_missing))
    assert list(table.columns) == columns_of("basic")
    data, labels = np.asarray(scalar.dataobj, dtype=float), np.asarray(dseg.dataobj)
    if zero_is_missing:
        data[data == 0] = np.nan
    for row in table.itertuples(index=False):
        expected = _expected(data[labels == row.region_index], int((labels == row.region_index).sum()))
        for name, value in expected.items():
            np.testing.assert_allclose(
                getattr(row, name), value, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name
            )
        assert row.scalar == "MD" and row.hemisphere == "bilateral"


def test_an_unknown_tier_is_a_usage_error() -> None:
    from neurodatahub.core.errors import UsageError

    scalar, dseg, _ = synthetic_case()
    with pytest.raises(UsageError, match="stat_tier"):
        extract_scalar_map(scalar, dseg, None, "FA", "core")
