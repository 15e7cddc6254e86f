"""qsiparc's output layout: one `_diffmap.tsv` per scalar and atlas (floats `%.6f`, NaN empty) with a
JSON provenance sidecar of the same stem, under `sub-X/ses-Y/dwi/atlas-A/`. Both files are written
atomically; the sidecar keeps qsiparc's keys and adds the hub's provenance records.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurodatahub import __version__
from neurodatahub.core import storage
from neurodatahub.regions.tables import column_texts, result_frame, tier_columns

if TYPE_CHECKING:
    from neurodatahub.core.models import ExtractionResult

FLOAT_FORMAT = "%.6f"


def diffmap_stem(
    subject: str,
    session: str,
    atlas_name: str,
    software: str | None = None,
    source_entities: Mapping[str, str] | None = None,
) -> str:
    parts = [part for part in (subject, session) if part] + [f"atlas-{atlas_name}"]
    if software:
        parts.append(f"software-{software}")
    parts += [f"{key}-{value}" for key, value in (source_entities or {}).items() if key not in ("sub", "ses")]
    return "_".join([*parts, "diffmap"])


def diffmap_tsv_path(
    output_dir: str,
    subject: str,
    session: str,
    atlas_name: str,
    software: str | None = None,
    source_entities: Mapping[str, str] | None = None,
) -> str:
    """Where qsiparc puts the table of one scalar and one atlas (nothing is written)."""
    within = [part for part in (subject, session) if part] + (["dwi"] if subject else [])
    folder = "/".join([*within, f"atlas-{atlas_name}"])
    name = diffmap_stem(subject, session, atlas_name, software, source_entities)
    return storage.join(str(output_dir), f"{folder}/{name}.tsv")


def sidecar(result: ExtractionResult, **fields: Any) -> dict[str, Any]:
    """qsiparc's sidecar keys, filled from the result and what the caller knows about the inputs."""
    parameters = next(
        (record.parameters for record in result.provenance or () if getattr(record, "parameters", None)), {}
    )
    return {
        "subject": fields.get("subject"),
        "session": fields.get("session"),
        "atlas_name": result.atlas_name,
        "atlas_dseg": fields.get("atlas_dseg"),
        "lut_file": fields.get("lut_file"),
        "scalar_name": result.scalar_name,
        "source_file": fields.get("source_file"),
        "source_entities": dict(fields.get("source_entities") or {}),
        "software": fields.get("software") or None,
        "processing": {
            "zero_is_missing": parameters.get("zero_is_missing"),
            "stat_tier": str(result.stat_tier),
            "statistics": list(result_frame(result).columns),
        },
        "generated_by": {
            "name": "neurodatahub",
            "version": __version__,
            "timestamp": datetime.now(UTC).isoformat(),
        },
        "provenance": [
            record.model_dump(mode="json", exclude_none=True) for record in result.provenance or ()
        ],
    }


def write_table_text(
    result: ExtractionResult, path: Path, delimiter: str = "\t", float_format: str | None = None
) -> None:
    """The result's table as text, byte for byte what pandas' to_csv writes for qsiparc's stats_df (NaN
    empty, floats in their shortest exact form or `float_format`), with the csv module: a region table
    is a few hundred rows, and importing pandas would cost more than the extraction's statistics."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(tier_columns(result))
        writer.writerows(zip(*column_texts(result, float_format), strict=True))


def write_diffmap(
    result: Any,
    output_dir: str,
    subject: str,
    session: str,
    *,
    software: str | None = None,
    source_entities: Mapping[str, str] | None = None,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    **sidecar_fields: Any,
) -> str:
    """Write `<stem>_diffmap.tsv` and its `.json` sidecar; returns the TSV's URL."""
    tsv = diffmap_tsv_path(output_dir, subject, session, result.atlas_name, software, source_entities)
    if storage.is_local(tsv):
        storage.local_path(tsv).parent.mkdir(parents=True, exist_ok=True)
    description = sidecar(
        result,
        subject=subject,
        session=session,
        software=software,
        source_entities=source_entities,
        **sidecar_fields,
    )
    json_url = tsv[: -len(".tsv")] + ".json"
    for url in (tsv, json_url):  # refuse before writing either, so a pair is never half replaced
        storage.refuse_existing(url, overwrite, storage_options)
    with storage.atomic_write(tsv, overwrite=overwrite, storage_options=storage_options) as tmp:
        write_table_text(result, tmp, float_format=FLOAT_FORMAT)
    with storage.atomic_write(json_url, overwrite=True, storage_options=storage_options) as tmp:
        tmp.write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    return tsv
