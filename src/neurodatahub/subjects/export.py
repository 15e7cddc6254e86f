"""Subject results to CSV, TSV, JSON or Parquet, and provenance to JSON, written atomically on any URL.

One subject or a batch: tables have one row per subject (see `tables` for the columns); JSON holds
lacuna's document `{"metadata", "results", "provenance"}` for one subject and a list of them for a batch,
with every container serialised in full (a `type` key names its class), where lacuna's raises TypeError.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from neurodatahub.core import storage
from neurodatahub.core.errors import UsageError
from neurodatahub.subjects.tables import chosen_results, require_results, results_frame

RESULT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}
CONTAINER_SLOTS = {
    "voxel_map": "VoxelMap",
    "parcel_data": "ParcelData",
    "connectivity": "ConnectivityMatrix",
    "surface_mesh": "SurfaceMesh",
    "tractogram": "Tractogram",
    "scalar_metric": "ScalarMetric",
}


def result_format(url: str, format: str | None = None) -> str:
    """The format named, else the one the extension says."""
    if format is not None:
        if format not in RESULT_FORMATS.values():
            raise UsageError(f"unknown result format {format!r}; use csv, tsv, json or parquet")
        return format
    for extension, name in RESULT_FORMATS.items():
        if url.lower().endswith(extension):
            return name
    raise UsageError(f"cannot tell the format of {url} from its extension; use .csv, .tsv, .json or .parquet")


def result_json(result: Any) -> Any:
    """A container as its full model dump plus `type`; a plain value as itself."""
    dumped = result.model_dump(mode="json", exclude_none=True)
    for slot, class_name in CONTAINER_SLOTS.items():
        if slot in dumped:
            return {"type": class_name, **dumped[slot]}
    return dumped.get("value")


def provenance_records(provenance: Sequence[Any]) -> list[dict[str, Any]]:
    """lacuna's record shapes: activities as {function, parameters, timestamp, version, ...};
    transformations as {type: "spatial_transformation", source_space, ..., timestamp}."""
    records = []
    for record in provenance:
        dumped = record.model_dump(mode="json", exclude_none=True)
        kind = dumped.pop("type")
        if kind == "ActivityRecord":
            head = {
                "function": dumped.pop("function"),
                "parameters": dumped.pop("parameters", {}),
                "timestamp": dumped.pop("timestamp"),
                "version": dumped.pop("version", None),
            }
            records.append({**head, **dumped})
        elif kind == "SpatialTransformationRecord":
            records.append({"type": "spatial_transformation", **dumped})
        else:
            records.append({"type": kind, **dumped})
    return records


def subject_document(
    subject: Any,
    *,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    include_provenance: bool = False,
) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if include_metadata:
        document["metadata"] = subject.subject_metadata.model_dump(mode="json", exclude_none=True)
    results: dict[str, dict[str, Any]] = {}
    for result in chosen_results(subject, analysis_name):
        results.setdefault(result.namespace, {})[result.key] = result_json(result)
    document["results"] = results
    if include_provenance:
        document["provenance"] = provenance_records(subject.provenance or ())
    return document


def _write_table(frame: Any, path: Path, format: str) -> None:
    if format == "parquet":
        frame.to_parquet(path, index=False, engine="pyarrow")
    else:
        frame.to_csv(path, sep="\t" if format == "tsv" else ",", index=False, na_rep="")


def _without_nan(value: Any) -> Any:
    """NaN and infinities as null: JSON has no such numbers and most readers reject them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nan(item) for item in value]
    return value


def _write_json(data: Any, path: Path, indent: int | None) -> None:
    text = json.dumps(_without_nan(data), indent=indent or None, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def export_results(
    subjects: Any,
    url: str,
    *,
    format: str | None = None,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    include_provenance: bool = False,
    layout: str = "wide",
    indent: int = 2,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> str:
    """Write the results of one SubjectData (or a list of them, a batch) and return the URL written."""
    batch = isinstance(subjects, Sequence)
    group = list(subjects) if batch else [subjects]
    format = result_format(url, format)
    require_results(group, analysis_name)
    if format != "json":
        frame = results_frame(
            group, analysis_name=analysis_name, include_metadata=include_metadata, layout=layout
        )
    else:
        documents = [
            subject_document(
                subject,
                analysis_name=analysis_name,
                include_metadata=include_metadata,
                include_provenance=include_provenance,
            )
            for subject in group
        ]
    with storage.atomic_write(url, overwrite=overwrite, storage_options=storage_options) as tmp:
        if format != "json":
            _write_table(frame, tmp, format)
        else:
            _write_json(documents if batch else documents[0], tmp, indent)
    return url


def export_provenance(
    subject: Any,
    url: str,
    *,
    indent: int = 2,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> str:
    """The subject's provenance as a JSON list of records; an error when it has none (as in lacuna)."""
    records = provenance_records(subject.provenance or ())
    if not records:
        raise UsageError(f"{subject.subject_metadata.subject_id} has no provenance to export")
    with storage.atomic_write(url, overwrite=overwrite, storage_options=storage_options) as tmp:
        _write_json(records, tmp, indent)
    return url
