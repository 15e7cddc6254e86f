"""What `hub info` says about subjects (their mask's summary is the images kind's) and their invariants."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodatahub.core.checks import (
    invariant,
    require_resolution,
    require_unique,
    require_voxel_sizes,
)
from neurodatahub.core.summary import summarize, summarizes


@summarizes("SubjectData")
def _subject(subject: Any) -> dict[str, Any]:
    meta = subject.subject_metadata
    namespaces: dict[str, int] = {}
    for result in subject.results or ():
        namespaces[result.namespace] = namespaces.get(result.namespace, 0) + 1
    return {
        "subject_id": meta.subject_id,
        "session_id": meta.session_id,
        **{key: value for key, value in summarize(subject.mask).items() if key != "class"},
        "space": meta.space,
        "resolution_mm": meta.resolution,
        "results": namespaces,
        "provenance_records": len(subject.provenance or ()),
    }


@summarizes("ParcelData")
def _parcels(parcels: Any) -> dict[str, Any]:
    values = np.asarray(parcels.values, dtype=np.float64)
    known = values[~np.isnan(values)]
    return {
        "name": parcels.name,
        "atlas": parcels.atlas,
        "aggregation_method": parcels.aggregation_method,
        "regions": len(parcels.region_labels),
        "regions_without_value": int(values.size - known.size),
        "value_range": [float(known.min()), float(known.max())] if known.size else None,
    }


@invariant("ParcelData")
def _parcel_data(parcels: Any) -> None:
    if len(parcels.region_labels) != len(parcels.values):
        raise ValueError(f"{len(parcels.region_labels)} region labels for {len(parcels.values)} values")
    require_unique(parcels.region_labels, "region_labels")


RESULT_SLOTS = (
    "voxel_map",
    "parcel_data",
    "connectivity",
    "surface_mesh",
    "tractogram",
    "scalar_metric",
    "value",
)


@invariant("AnalysisResult")
def _analysis_result(result: Any) -> None:
    present = [slot for slot in RESULT_SLOTS if getattr(result, slot) is not None]
    if len(present) != 1:
        raise ValueError(
            f"result {result.namespace}/{result.key} must hold exactly one value, has {present or 'none'}"
        )


@invariant("SubjectData")
def _subject(subject: Any) -> None:
    keys = [(result.namespace, result.key) for result in subject.results or ()]
    if len(set(keys)) != len(keys):
        raise ValueError("results must be unique by (namespace, key)")
    meta, mask = subject.subject_metadata, subject.mask
    if mask.space is not None and mask.space != meta.space:
        raise ValueError(f"mask space {mask.space} disagrees with metadata space {meta.space}")
    if meta.resolution is not None:
        require_resolution(mask.affine, meta.resolution, "metadata resolution", "the mask's")
    if meta.voxel_sizes is not None:
        require_voxel_sizes(mask.affine, meta.voxel_sizes, "metadata voxel_sizes")
