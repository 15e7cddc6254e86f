"""Region tables to and from pandas: qsiparc's stats_df and back (pandas is imported only when called).

The DataFrame has the tier's columns in qsiparc's order (`regions.tables.result_frame`); the atlas name
and tier travel in `frame.attrs`, provenance as plain data, so a model comes back equal. A DataFrame from
elsewhere needs the columns of one tier; its atlas comes from `atlas_name=` or an `atlas` column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neurodatahub.regions.tables import result_frame, result_from_frame

if TYPE_CHECKING:
    from neurodatahub.core.models import ExtractionResult


def to_dataframe(result: ExtractionResult) -> Any:
    frame = result_frame(result)
    frame.attrs.update(
        atlas_name=result.atlas_name,
        stat_tier=str(result.stat_tier),
        provenance=[record.model_dump(mode="json") for record in result.provenance or ()],
    )
    return frame


def from_dataframe(
    frame: Any, *, atlas_name: str | None = None, stat_tier: str | None = None
) -> ExtractionResult:
    return result_from_frame(
        frame,
        "the DataFrame",
        atlas_name=atlas_name or frame.attrs.get("atlas_name"),
        stat_tier=stat_tier or frame.attrs.get("stat_tier"),
        provenance=frame.attrs.get("provenance") or None,
    )
