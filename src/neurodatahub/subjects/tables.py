"""Results as table cells with real values, where lacuna writes a container's repr into one cell.

Column names follow lacuna (`subject_id`, `session_id`, `coordinate_space`, `<namespace>.<key>`), and a
container adds one more level:

- ParcelData: one column per region, `<namespace>.<key>.<region>`;
- ScalarMetric and plain numbers or text: `<namespace>.<key>`; a plain mapping: one column per entry;
- VoxelMap: summary columns `.mean .std .min .max .n_nonzero` (NaN-aware, over every voxel);
- ConnectivityMatrix: `.n_regions`, and `.mean .std .min .max .density` over the off-diagonal entries;
- SurfaceMesh: `.n_vertices .n_faces`; Tractogram: `.n_streamlines .n_points`.

Whole maps and matrices are in the JSON export and the BIDS derivatives. The long layout has one row
per cell: subject_id, session_id, coordinate_space, namespace, key, item (region, statistic or entry,
empty for a single value), value (numbers) and text (values that are not numbers).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from neurodatahub.core.errors import UsageError

META_COLUMNS = ("subject_id", "session_id", "coordinate_space")
LONG_COLUMNS = (*META_COLUMNS, "namespace", "key", "item", "value", "text")
LAYOUTS = ("wide", "long")


def _summary(values: np.ndarray) -> dict[str, float]:
    with warnings.catch_warnings():  # an all-NaN map is summarised as NaN, which says so already
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            "mean": float(np.nanmean(values)) if values.size else math.nan,
            "std": float(np.nanstd(values)) if values.size else math.nan,
            "min": float(np.nanmin(values)) if values.size else math.nan,
            "max": float(np.nanmax(values)) if values.size else math.nan,
        }


def _plain(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {str(key): _cell(item) for key, item in value.items()}
    return {"": _cell(value)}


def _cell(value: Any) -> Any:
    """A number or text; lists and mappings inside a plain value become JSON text."""
    if value is None:
        return math.nan
    if isinstance(value, bool | int | float | str | np.number):
        return value.item() if isinstance(value, np.number) else value
    return json.dumps(value, default=str)


def result_cells(result: Any) -> dict[str, Any]:
    """Item name ("" for the result itself) -> value, for one AnalysisResult."""
    if result.parcel_data is not None:
        parcels = result.parcel_data
        return {
            str(label): float(value)
            for label, value in zip(parcels.region_labels, parcels.values, strict=True)
        }
    if result.scalar_metric is not None:
        return {"": float(result.scalar_metric.value)}
    if result.voxel_map is not None:
        data = np.asarray(result.voxel_map.data)
        return {**_summary(data), "n_nonzero": int(np.count_nonzero(np.nan_to_num(data)))}
    if result.connectivity is not None:
        matrix = np.asarray(result.connectivity.matrix)
        off_diagonal = matrix[~np.eye(len(matrix), dtype=bool)]
        finite = off_diagonal[np.isfinite(off_diagonal)]
        density = float(np.count_nonzero(finite) / finite.size) if finite.size else math.nan
        return {"n_regions": len(matrix), **_summary(off_diagonal), "density": density}
    if result.surface_mesh is not None:
        return {"n_vertices": len(result.surface_mesh.vertices), "n_faces": len(result.surface_mesh.faces)}
    if result.tractogram is not None:
        return {"n_streamlines": len(result.tractogram.offsets), "n_points": len(result.tractogram.positions)}
    return _plain(result.value)


def chosen_results(subject: Any, analysis_name: str | None = None) -> list[Any]:
    """The subject's results, or those of one analysis (namespace)."""
    return [result for result in subject.results or () if analysis_name in (None, result.namespace)]


def meta_cells(subject: Any) -> dict[str, Any]:
    meta = subject.subject_metadata
    return {"subject_id": meta.subject_id, "session_id": meta.session_id, "coordinate_space": meta.space}


def wide_row(subject: Any, analysis_name: str | None = None, include_metadata: bool = True) -> dict[str, Any]:
    row = meta_cells(subject) if include_metadata else {}
    for result in chosen_results(subject, analysis_name):
        for item, value in result_cells(result).items():
            row[f"{result.namespace}.{result.key}" + (f".{item}" if item else "")] = value
    return row


def long_rows(subject: Any, analysis_name: str | None = None) -> Iterator[dict[str, Any]]:
    meta = meta_cells(subject)
    for result in chosen_results(subject, analysis_name):
        for item, value in result_cells(result).items():
            text = value if isinstance(value, str) else None
            number = math.nan if text is not None else float(value)
            yield {
                **meta,
                "namespace": result.namespace,
                "key": result.key,
                "item": item or None,
                "value": number,
                "text": text,
            }


def require_results(subjects: Sequence[Any], analysis_name: str | None = None) -> None:
    """Refuse an export with nothing in it: a mistake worth hearing about (lacuna raises too)."""
    if not subjects:
        raise UsageError("no subjects to export")
    if not any(chosen_results(subject, analysis_name) for subject in subjects):
        who = f"{subjects[0].subject_metadata.subject_id} has no" if len(subjects) == 1 else "no subject has"
        if analysis_name is None:
            raise UsageError(f"{who} results to export")
        namespaces = sorted({result.namespace for s in subjects for result in s.results or ()}) or ["none"]
        raise UsageError(f"{who} results of {analysis_name!r} (there are: {', '.join(namespaces)})")


def results_frame(
    subjects: Sequence[Any],
    *,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    layout: str = "wide",
) -> Any:
    """A DataFrame of the results: one row per subject (wide) or per value (long); missing cells NaN.

    A subject without results (or without the analysis asked for) gets a row of NaN in a batch.
    """
    import pandas as pd

    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    require_results(subjects, analysis_name)
    if layout == "long":
        rows = [row for subject in subjects for row in long_rows(subject, analysis_name)]
        frame = pd.DataFrame(rows, columns=list(LONG_COLUMNS))
        return frame if include_metadata else frame.drop(columns=list(META_COLUMNS))
    return pd.DataFrame([wide_row(subject, analysis_name, include_metadata) for subject in subjects])
