"""Functional connectome chunks: what the time series and the mask must satisfy together, and summaries.

The same summary keys describe a chunk in memory and a chunk streamed subject by subject (where the
tally of the stream gives the number of subjects), so `hub info` prints the same fields either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import arrays, streaming
from neurodatahub.core.checks import invariant, require_affine
from neurodatahub.core.summary import summarizes

if TYPE_CHECKING:
    from neurodatahub.core.models import FunctionalConnectomeChunk


@invariant("FunctionalConnectomeChunk")
def _functional_chunk(chunk: FunctionalConnectomeChunk) -> None:
    """Columns map to distinct voxels of the grid; values are finite (NaN would poison every correlation)."""
    n_subjects, n_timepoints, n_voxels = chunk.timeseries.shape
    if n_timepoints == 0 or n_voxels == 0:
        raise ValueError(
            f"a chunk needs timepoints and voxels, timeseries has shape {chunk.timeseries.shape}"
        )
    if len(chunk.mask_indices) != n_voxels:
        raise ValueError(f"{len(chunk.mask_indices)} mask voxels for {n_voxels} time-series columns")
    require_affine(chunk.mask_affine, "mask_affine")
    shape = np.asarray(chunk.mask_shape)
    if (shape <= 0).any():
        raise ValueError(f"mask_shape must be positive, got {shape.tolist()}")
    indices = np.asarray(chunk.mask_indices)
    if (indices < 0).any() or (indices >= shape).any():
        low, high = indices.min(axis=0).tolist(), indices.max(axis=0).tolist()
        raise ValueError(f"mask_indices span {low}..{high}, outside the mask grid {shape.tolist()}")
    flat = np.ravel_multi_index(tuple(indices.T), tuple(shape))
    if (np.diff(flat) <= 0).any() and arrays.has_duplicates(flat):  # np.where order proves uniqueness
        raise ValueError("mask_indices name the same voxel twice")
    if not arrays.all_finite(chunk.timeseries):
        bad = sum(int(np.count_nonzero(~np.isfinite(block))) for _, block in arrays.blocks(chunk.timeseries))
        raise ValueError(f"timeseries holds {bad} NaN or infinite values")
    if chunk.subject_ids is not None:
        if len(chunk.subject_ids) != n_subjects:
            raise ValueError(f"{len(chunk.subject_ids)} subject ids for {n_subjects} subjects")
        if len(set(chunk.subject_ids)) != len(chunk.subject_ids):
            raise ValueError("subject ids must be unique (a subject twice would count double)")


def _fields(chunk: FunctionalConnectomeChunk, n_subjects: int) -> dict[str, Any]:
    _, n_timepoints, n_voxels = chunk.timeseries.shape
    return {
        "subjects": int(n_subjects),
        "timepoints": int(n_timepoints),
        "voxels": int(n_voxels),
        "space": None if chunk.space is None else str(getattr(chunk.space, "value", chunk.space)),
        "mask_shape": np.asarray(chunk.mask_shape).tolist(),
        "voxel_size_mm": np.round(np.linalg.norm(chunk.mask_affine[:3, :3], axis=0), 6).tolist(),
        "description": chunk.description,
        "source": chunk.source,
    }


@summarizes("FunctionalConnectomeChunk")
def _summary(chunk: FunctionalConnectomeChunk) -> dict[str, Any]:
    return _fields(chunk, chunk.timeseries.shape[0])


@streaming.summarizes_stream("FunctionalConnectomeChunk")
def _stream_summary(header: FunctionalConnectomeChunk, tally: dict[str, Any]) -> dict[str, Any]:
    return _fields(header, tally.get("timeseries", {}).get("rows", 0))
