"""Region statistics: what a row must satisfy across its fields, and the summary `hub info` prints.

The summary carries numbers (regions, empty regions, the spread of the region means), so a conversion
that reopens its output compares values, not only the row count.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

from neurodatahub.core.checks import (
    invariant,
    require_unique,
)
from neurodatahub.core.summary import summarizes

if TYPE_CHECKING:
    from neurodatahub.core.models import ExtractionResult

PERCENTILES = ("percentile_5", "percentile_25", "percentile_75", "percentile_95")


@invariant("RegionStatistics")
def _region_statistics(row: Any) -> None:
    levels = [getattr(row, name) for name in PERCENTILES if getattr(row, name) is not None]
    if any(later < earlier for earlier, later in itertools.pairwise(levels)):
        raise ValueError(f"region {row.region_index}: percentiles must not decrease, got {levels}")
    if row.n_voxels == 0 and row.mean is not None:
        raise ValueError(f"region {row.region_index} has no voxel with a value but a mean of {row.mean}")


@invariant("ExtractionResult")
def _one_tier(result: ExtractionResult) -> None:
    """Every row fills the columns of the result's tier (a basic row has n_voxels, an extended one sum)."""
    needed = "n_voxels" if str(result.stat_tier) == "basic" else "voxel_count"
    bare = [row.region_index for row in result.rows if getattr(row, needed) is None]
    if bare:
        raise ValueError(f"{result.stat_tier} rows need {needed}; regions {bare[:5]} have none")


@summarizes("ExtractionResult")
def _summary(result: ExtractionResult) -> dict[str, Any]:
    means = [row.mean for row in result.rows if row.mean is not None and not math.isnan(row.mean)]
    return {
        "scalar_name": result.scalar_name,
        "atlas_name": result.atlas_name,
        "stat_tier": str(result.stat_tier),
        "regions": len(result.rows),
        "regions_without_values": len(result.rows) - len(means),
        "lowest_mean": min(means) if means else None,
        "highest_mean": max(means) if means else None,
        "mean_of_means": math.fsum(means) / len(means) if means else None,
    }


@invariant("Region")
def _region(region: Any) -> None:
    if region.color is not None and (
        len(region.color) != 4 or not ((region.color >= 0) & (region.color <= 255)).all()
    ):
        raise ValueError("a region colour is four values between 0 and 255 (RGBA)")


@invariant("AtlasLUT")
def _atlas_lut(lut: Any) -> None:
    require_unique([region.index for region in lut.regions], "region indices")


@invariant("ExtractionResult")
def _extraction(result: ExtractionResult) -> None:
    require_unique([row.region_index for row in result.rows], "region indices")
    others = {row.scalar for row in result.rows} - {result.scalar_name}
    if others:
        raise ValueError(f"rows name scalars {sorted(others)} other than {result.scalar_name!r}")
