"""extract_scalar_map: per-region statistics of a scalar map within a parcellation, on any URL."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np

from neurodatahub.core import kinds
from neurodatahub.core.errors import UsageError
from neurodatahub.regions import statistics
from neurodatahub.regions.images import Image, check_same_grid, describe, label_volume, scalar_volume
from neurodatahub.regions.lut import build_lut, load_lut
from neurodatahub.regions.segments import group_voxels, take_flat
from neurodatahub.regions.tables import build_result, merge_frames

STAT_TIERS = tuple(kinds.enum_values("StatTier"))


def as_lut(
    lut: Any, dseg: Image, storage_options: Mapping[str, Any] | None = None, atlas_name: str | None = None
) -> Any:
    """The hub's AtlasLUT from a model, a table URL, None (labels of the dseg) or a qsiparc AtlasLUT;
    `atlas_name` names a table read here (else its file's or the dseg's name)."""
    from neurodatahub.core.models import AtlasLUT

    if isinstance(lut, AtlasLUT):
        return lut
    if lut is None or isinstance(lut, str) or hasattr(lut, "__fspath__"):
        source = None if lut is None else str(lut)
        return load_lut(source, atlas_name, dseg=dseg, storage_options=storage_options)
    if hasattr(lut, "regions"):  # qsiparc's own AtlasLUT (or anything shaped like it)
        entries = [
            {"index": int(region.index), "name": str(region.name), "hemisphere": region.hemisphere}
            for region in lut.regions
        ]
        return build_lut(entries, str(getattr(lut, "atlas_name", "")), None)
    raise UsageError(f"lut must be an AtlasLUT, a table URL or None, not {type(lut).__name__}")


def _provenance(scalar: Image, dseg: Image, lut: Any, parameters: dict[str, Any]) -> list[Any]:
    from neurodatahub import __version__
    from neurodatahub.core.models import ActivityRecord, FileRecord

    inputs = [describe(image) for image in (scalar, dseg)] + ([lut.source] if lut.source else [])
    return [
        ActivityRecord(
            timestamp=datetime.now(UTC),
            function="neurodatahub.regions.extract_scalar_map",
            software="neurodatahub",
            version=__version__,
            parameters=parameters,
            inputs=[FileRecord(url=url) for url in inputs if not url.startswith("<")],
        )
    ]


def extract_scalar_map(
    scalar: Image,
    dseg: Image,
    lut: Any,
    scalar_name: str,
    stat_tier: str = "extended",
    zero_is_missing: bool = False,
    *,
    storage_options: Mapping[str, Any] | None = None,
    atlas_name: str | None = None,
) -> Any:
    """Statistics of `scalar` in every region of `lut`, one row per region in table order.

    `scalar` and `dseg` are URLs, paths or nibabel images on the same grid; `lut` an AtlasLUT, a table
    URL (`atlas_name` names it, else its file's name), or None to take the dseg's labels. A 4D scalar
    uses its first volume (with a warning); `zero_is_missing` turns exact zeros into NaN. Regions without
    voxels get NaN statistics.
    """
    if stat_tier not in STAT_TIERS:
        raise UsageError(f"stat_tier must be one of {', '.join(STAT_TIERS)}, got {stat_tier!r}")
    # the scalar map is decompressed in a thread (zlib lets go of the GIL) while the table is built and
    # the labels are read and grouped here: they are independent until the grid check (same context:
    # budget, reading scope). Errors come in the order of a sequential read: table, scalar map, labels.
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(
            contextvars.copy_context().run, scalar_volume, scalar, scalar_name, storage_options
        )
        table = as_lut(lut, dseg, storage_options, atlas_name)
        indices = np.array([region.index for region in table.regions], np.int64)
        try:
            labels = label_volume(dseg, storage_options)
            positions, segments = group_voxels(labels.data, indices)
        except BaseException:
            reading.result()  # the scalar's own error first, as when the two were read one after the other
            raise
        values_volume = reading.result()
    check_same_grid(values_volume, labels)
    values = np.asarray(take_flat(values_volume.data, positions), dtype=np.float64)
    if zero_is_missing:
        values[values == 0] = np.nan
    grouped = statistics.Grouped(values, segments)
    if stat_tier == "extended":
        columns = statistics.extended(grouped, statistics.voxel_volume(values_volume.affine))
    else:
        columns = statistics.basic(grouped)
    columns.update(
        region_index=[region.index for region in table.regions],
        region_name=[region.name for region in table.regions],
        hemisphere=[region.hemisphere for region in table.regions],
        scalar=[scalar_name] * len(table.regions),
    )
    parameters = {
        "scalar_name": scalar_name,
        "atlas_name": table.atlas_name,
        "stat_tier": stat_tier,
        "zero_is_missing": zero_is_missing,
    }
    return build_result(
        columns,
        scalar_name=scalar_name,
        atlas_name=table.atlas_name,
        stat_tier=stat_tier,
        provenance=_provenance(scalar, dseg, table, parameters),
    )


def merge_extraction_results(results: Sequence[Any]) -> Any:
    """Several results as one long DataFrame (qsiparc's merge; an `atlas` column when atlases differ)."""
    return merge_frames(results)
