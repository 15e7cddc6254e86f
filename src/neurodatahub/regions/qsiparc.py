"""qsiparc 0.1.2's extraction API under the same names, parameters and defaults.

Lookup tables are the hub's validated AtlasLUT (qsiparc's own AtlasLUT objects are accepted too), every
path may be any fsspec URL, and `extract_scalar_map` returns qsiparc's (scalar_name, atlas_name,
stats_df) with the hub's validated ExtractionResult beside it as `model`. Differences, on purpose: the
entity parser keeps values whole, bad lookup tables stop with a message naming the row, outputs are
written atomically, and an existing diffmap is refused (as qsiparc skips it) unless `force`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neurodatahub.regions import diffmap, extract, lut, qsirecon, tables
from neurodatahub.regions.entities import parse_entities, with_prefix

__all__ = [
    "OUTPUT_COLUMNS",
    "ExtractionResult",
    "diffmap_tsv_path",
    "discover_dseg_files",
    "discover_scalar_maps",
    "extract_scalar_map",
    "find_atlas_lut",
    "infer_hemisphere",
    "load_lut_for_dseg",
    "load_lut_from_dseg",
    "load_lut_from_json",
    "load_lut_from_tsv",
    "merge_extraction_results",
    "parse_entities",
    "sanitize_participant_label",
    "sanitize_session_label",
    "write_diffmap_tsv",
]

OUTPUT_COLUMNS = tables.columns_of("basic")  # the documented list (0.1.2 ships the extended columns)
infer_hemisphere = lut.infer_hemisphere
discover_dseg_files = qsirecon.discover_dseg_files
discover_scalar_maps = qsirecon.discover_scalar_maps
find_atlas_lut = qsirecon.find_atlas_lut
load_lut_for_dseg = qsirecon.load_lut_for_dseg
diffmap_tsv_path = diffmap.diffmap_tsv_path


@dataclass(frozen=True)
class ExtractionResult:
    """qsiparc's container for one scalar x one atlas, plus the hub model it was built from."""

    scalar_name: str
    atlas_name: str
    stats_df: Any
    model: Any


def sanitize_participant_label(participant_label: str) -> str:
    return with_prefix(participant_label, "sub")


def sanitize_session_label(session_label: str) -> str:
    return with_prefix(session_label, "ses")


def load_lut_from_tsv(path: str, atlas_name: str = "") -> Any:
    return lut.load_lut(str(path), atlas_name)


def load_lut_from_json(path: str, atlas_name: str = "") -> Any:
    return lut.load_lut(str(path), atlas_name)


def load_lut_from_dseg(dseg_path: Any, atlas_name: str = "") -> Any:
    return lut.lut_from_dseg(dseg_path, atlas_name)


def extract_scalar_map(
    scalar_path: Any,
    dseg_path: Any,
    lut: Any,
    scalar_name: str,
    stat_tier: str = "extended",
    zero_is_missing: bool = False,
) -> ExtractionResult:
    """Same inputs, same table as qsiparc; `stat_tier` is honoured (qsiparc ignores it)."""
    model = extract.extract_scalar_map(scalar_path, dseg_path, lut, scalar_name, stat_tier, zero_is_missing)
    return ExtractionResult(scalar_name, model.atlas_name, tables.result_frame(model), model)


def merge_extraction_results(results: Sequence[Any]) -> Any:
    """qsiparc's long format: the stats_df of every result, one under the other."""
    import pandas as pd

    frames = [
        result.stats_df if hasattr(result, "stats_df") else tables.result_frame(result) for result in results
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_diffmap_tsv(
    df: Any,
    output_dir: str,
    subject: str,
    session: str,
    atlas_name: str,
    provenance: Mapping[str, Any] | None = None,
    software: str | None = None,
    source_entities: Mapping[str, str] | None = None,
    force: bool = False,
) -> str:
    """Write a table (a stats_df, a merged frame or a hub model) and its sidecar where qsiparc does."""
    import json

    from neurodatahub.core import storage

    frame = tables.result_frame(df) if hasattr(df, "rows") else df
    url = diffmap_tsv_path(output_dir, subject, session, atlas_name, software, source_entities)
    if storage.is_local(url):
        storage.local_path(url).parent.mkdir(parents=True, exist_ok=True)
    sidecar = {
        "subject": subject,
        "session": session,
        "atlas_name": atlas_name,
        "source_entities": dict(source_entities or {}),
        "software": software or None,
        "processing": {"statistics": list(frame.columns)},
        **dict(provenance or {}),
    }
    with storage.atomic_write(url, overwrite=force) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, na_rep="", float_format=diffmap.FLOAT_FORMAT)
    with storage.atomic_write(url[: -len(".tsv")] + ".json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return url
