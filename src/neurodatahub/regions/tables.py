"""ExtractionResult as a table and back: the column names and order of each tier.

`extended` tables have qsiparc 0.1.2's exact columns (index, label, ..., excess_kurtosis, ..., scalar);
`basic` tables the documented ones (region_index, region_name, ...). The model keeps one field name per
quantity (region_index, kurtosis...); a missing value is None in the model and NaN in a table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.errors import InvalidDataError

if TYPE_CHECKING:
    from neurodatahub.core.models import ExtractionResult

# (table column, model field), in table order
BASIC_COLUMNS = tuple(
    (name, name)
    for name in (
        "region_index",
        "region_name",
        "hemisphere",
        "scalar",
        "mean",
        "median",
        "std",
        "iqr",
        "skewness",
        "kurtosis",
        "n_voxels",
        "coverage",
    )
)
EXTENDED_COLUMNS = (
    ("index", "region_index"),
    ("label", "region_name"),
    ("hemisphere", "hemisphere"),
    *(
        (name, name)
        for name in (
            "volume_mm3",
            "voxel_count",
            "z_filtered_mean",
            "z_filtered_std",
            "iqr_filtered_mean",
            "iqr_filtered_std",
            "robust_mean",
            "robust_std",
            "mad_median",
            "mean",
            "std",
            "median",
            "sum",
            "cv",
            "robust_cv",
            "skewness",
        )
    ),
    ("excess_kurtosis", "kurtosis"),
    *((f"percentile_{q}", f"percentile_{q}") for q in (5, 25, 75, 95)),
    ("coverage", "coverage"),
    ("scalar", "scalar"),
)
TIER_COLUMNS = {"basic": BASIC_COLUMNS, "extended": EXTENDED_COLUMNS}
TEXT_FIELDS = {"region_name", "hemisphere", "scalar"}
INTEGER_FIELDS = {"region_index", "n_voxels", "voxel_count"}
ATLAS_COLUMN = "atlas"


def columns_of(tier: str) -> list[str]:
    return [column for column, _ in TIER_COLUMNS[tier]]


def tier_of(columns: Sequence[str], source: str) -> str:
    """The tier its index column names (region_index: basic, index: extended); all its columns are needed."""
    present = set(columns)
    tier = "basic" if "region_index" in present else "extended"
    missing = [column for column in columns_of(tier) if column not in present]
    if missing:
        raise InvalidDataError(
            f"{source}: not a region table of the {tier} tier: missing columns {', '.join(missing)}"
        )
    return tier


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any, field: str) -> Any:
    """A table cell as the model wants it: None for NaN/empty, int for counts, str for names."""
    if _missing(value):
        return None
    if field in TEXT_FIELDS:
        return str(value)
    if field in INTEGER_FIELDS:
        if float(value) != int(value):
            raise InvalidDataError(f"{field} must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def build_result(
    columns: Mapping[str, Any],
    *,
    scalar_name: str,
    atlas_name: str,
    stat_tier: str,
    provenance: Sequence[Any] | None = None,
) -> Any:
    """A validated ExtractionResult from per-field columns of equal length."""
    from neurodatahub.core.models import ExtractionResult

    fields = [field for _, field in TIER_COLUMNS[stat_tier] if field in columns]
    lists = [np.asarray(columns[field]).tolist() for field in fields]
    rows = [
        {field: _plain(value, field) for field, value in zip(fields, values, strict=True)}
        for values in zip(*lists, strict=True)
    ]
    return ExtractionResult(
        scalar_name=scalar_name,
        atlas_name=atlas_name,
        stat_tier=stat_tier,
        rows=rows,
        provenance=list(provenance) if provenance else None,
    )


def tier_columns(result: ExtractionResult) -> list[str]:
    return [column for column, _ in TIER_COLUMNS[str(result.stat_tier)]]


def column_texts(result: ExtractionResult, float_format: str | None = None) -> list[list[str]]:
    """Each column of the result's table as text cells, as pandas writes the frame of `result_frame`:
    integers as integers unless one is missing (then the column is float), NaN and None empty."""
    texts = []
    for _, field in TIER_COLUMNS[str(result.stat_tier)]:
        values = [getattr(row, field) for row in result.rows]
        if field in TEXT_FIELDS:
            texts.append(["" if value is None else str(value) for value in values])
        elif field in INTEGER_FIELDS and None not in values:
            texts.append([str(int(value)) for value in values])
        else:
            texts.append([_float_text(value, float_format) for value in values])
    return texts


def _float_text(value: Any, float_format: str | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return float_format % value if float_format else repr(float(value))


def result_frame(result: ExtractionResult) -> Any:
    """The result as qsiparc's stats_df: the tier's columns in order, NaN where a value is missing."""
    import pandas as pd

    data: dict[str, Any] = {}
    for column, field in TIER_COLUMNS[str(result.stat_tier)]:
        values = [getattr(row, field) for row in result.rows]
        if field in TEXT_FIELDS:
            data[column] = pd.Series(values)
        elif field in INTEGER_FIELDS and None not in values:
            data[column] = np.asarray(values, dtype=np.int64)
        else:
            data[column] = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    return pd.DataFrame(data)


def frame_columns(frame: Any) -> dict[str, np.ndarray]:
    """A pandas table's columns by name, as object arrays (NaN where a cell is missing)."""
    return {str(name): frame[name].to_numpy(dtype=object) for name in frame.columns}


def result_from_frame(frame: Any, source: str, **described: Any) -> Any:
    """An ExtractionResult from a pandas table (result_from_columns says which)."""
    return result_from_columns(frame_columns(frame), source, **described)


def result_from_columns(
    columns: Mapping[str, Sequence[Any]],
    source: str,
    *,
    atlas_name: str | None = None,
    stat_tier: str | None = None,
    provenance: Sequence[Any] | None = None,
) -> Any:
    """An ExtractionResult from a table of one scalar and one atlas, in either tier's columns: cells by
    column name, None or NaN where missing, numbers as numbers or their text."""
    tier = stat_tier or tier_of(list(columns), source)
    fields = dict(TIER_COLUMNS[tier])
    missing = [column for column in fields if column not in columns]
    if missing:
        raise InvalidDataError(f"{source}: missing columns {', '.join(missing)} of the {tier} tier")
    scalars = sorted({str(value) for value in columns["scalar"] if not _missing(value)})
    if len(scalars) > 1:
        raise InvalidDataError(
            f"{source}: holds {len(scalars)} scalars ({', '.join(scalars)}); one region table is one scalar"
            " of one atlas"
        )
    atlases = sorted({str(value) for value in columns.get(ATLAS_COLUMN, ()) if not _missing(value)})
    if len(atlases) > 1:
        raise InvalidDataError(f"{source}: holds several atlases ({', '.join(atlases)})")
    values = {field: np.asarray(columns[column], dtype=object) for column, field in fields.items()}
    try:
        return build_result(
            values,
            scalar_name=scalars[0] if scalars else "",
            atlas_name=atlas_name or (atlases[0] if atlases else ""),
            stat_tier=tier,
            provenance=provenance,
        )
    except InvalidDataError as error:
        raise InvalidDataError(f"{source}: {error}") from error


def merge_frames(results: Sequence[Any]) -> Any:
    """qsiparc's long format: the results' tables one under the other (empty when there are none).

    When the results come from several atlases an `atlas` column leads, so every row stays
    identifiable (qsiparc's merge drops the atlas name).
    """
    import pandas as pd

    if not results:
        return pd.DataFrame()
    frames = [result_frame(result) for result in results]
    if len({result.atlas_name for result in results}) > 1:
        for frame, result in zip(frames, results, strict=True):
            frame.insert(0, ATLAS_COLUMN, result.atlas_name)
    return pd.concat(frames, ignore_index=True)
