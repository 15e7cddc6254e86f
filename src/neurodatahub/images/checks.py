"""Images: the invariants of each class and what `hub info` prints (and a conversion compares on reopen).

Every check is vectorised and visits the voxels once. A series is also checked chunk by chunk when it is
streamed: its checks hold for any run of its volumes, and the header (no volumes yet) passes them too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodatahub.core import arrays, streaming
from neurodatahub.core.checks import (
    invariant,
    require_affine,
    require_in_range,
    require_resolution,
    require_voxel_sizes,
)
from neurodatahub.core.imaging.spaces import detect_resolution, voxel_sizes
from neurodatahub.core.summary import summarizes

MAX_INTENT_PARAMETERS = 3  # NIfTI's intent_p1..p3


def _text(value: Any) -> Any:
    return getattr(value, "value", value)


def _values(data: np.ndarray) -> dict[str, Any]:
    """Extremes, mean and sum of the finite values in float64: equal for equal data whatever the type."""
    if data.dtype.kind != "f":
        bounds = arrays.min_max(data)
        total = float(np.sum(data, dtype=np.float64))
        low, high = (float(bounds[0]), float(bounds[1])) if bounds else (None, None)
        return {
            "minimum": low,
            "maximum": high,
            "mean": total / data.size if data.size else None,
            "sum": total,
        }
    finite = np.isfinite(data)
    count = int(np.count_nonzero(finite))
    if not count:
        return {"minimum": None, "maximum": None, "mean": None, "sum": 0.0}
    total = float(np.sum(data, dtype=np.float64, where=finite))
    return {
        "minimum": float(np.min(data, initial=np.inf, where=finite)),
        "maximum": float(np.max(data, initial=-np.inf, where=finite)),
        "mean": total / count,
        "sum": total,
    }


def _grid(image: Any) -> dict[str, Any]:
    return {
        "shape": list(image.data.shape),
        "space": _text(image.space),
        "resolution_mm": image.resolution,
        "voxel_sizes_mm": [round(float(size), 4) for size in voxel_sizes(image.affine)],
        "intent": _text(image.intent),
    }


@summarizes("ImageVolume")
def _volume(image: Any) -> dict[str, Any]:
    return {**_grid(image), **_values(np.asarray(image.data))}


@summarizes("VoxelMap")
def _voxel_map(image: Any) -> dict[str, Any]:
    return {"name": image.name, **_volume(image)}


@summarizes("LesionMask")
def _mask(mask: Any) -> dict[str, Any]:
    voxels = arrays.count_nonzero(mask.data)
    return {
        "shape": list(mask.data.shape),
        "space": _text(mask.space),
        "resolution_mm": mask.resolution,
        "voxel_sizes_mm": [round(float(size), 6) for size in voxel_sizes(mask.affine)],
        "isotropic": detect_resolution(mask.affine) is not None,
        "lesion_voxels": voxels,
        "lesion_volume_mm3": float(voxels * np.prod(voxel_sizes(mask.affine))),
    }


@summarizes("Parcellation")
def _parcellation(parcellation: Any) -> dict[str, Any]:
    labels = np.unique(parcellation.data)
    labels = labels[labels != 0]
    lut = parcellation.lut
    listed = {region.index for region in lut.regions} if lut is not None else set()
    return {
        **_grid(parcellation),
        "labels": len(labels),
        "labelled_voxels": arrays.count_nonzero(parcellation.data),
        "atlas_name": lut.atlas_name if lut is not None else None,
        "lut_regions": len(lut.regions) if lut is not None else None,
        "lut_regions_not_in_image": sorted(listed - set(labels.tolist()))[:20] if lut is not None else None,
    }


@summarizes("ImageSeries")
def _series(series: Any) -> dict[str, Any]:
    return {
        **_volume(series),
        "volumes": int(series.data.shape[-1]),
        "repetition_time_s": series.repetition_time,
    }


@streaming.summarizes_stream("ImageSeries")
def _series_stream(header: Any, totals: dict[str, Any]) -> dict[str, Any]:
    counted = totals.get("data", {"rows": 0, "values": 0, "sum": 0.0})
    shape = [*header.data.shape[:3], int(counted["rows"])]
    return {
        **_grid(header),
        "shape": shape,
        "sum": float(counted["sum"]),
        "volumes": int(counted["rows"]),
        "repetition_time_s": header.repetition_time,
    }


@summarizes("GrayordinateMaps")
def _grayordinates(maps: Any) -> dict[str, Any]:
    models = maps.brain_models
    summary = {
        "rows": int(maps.data.shape[0]),
        "grayordinates": int(maps.data.shape[1]),
        "structures": [model.structure for model in models],
        "surface_vertices": sum(
            model.index_count for model in models if _text(model.model_type) == "surface"
        ),
        "voxels": sum(model.index_count for model in models if _text(model.model_type) == "voxels"),
        "map_names": list(maps.map_names or [])[:20],
        **_values(np.asarray(maps.data)),
    }
    if hasattr(maps, "series_step"):
        summary.update(
            series_start=maps.series_start, series_step=maps.series_step, unit=_text(maps.series_unit)
        )
    if hasattr(maps, "label_tables"):
        summary["label_tables"] = [len(table.regions) for table in maps.label_tables]
    return summary


@invariant("ImageVolume")
def _image_volume(image: Any) -> None:
    require_affine(image.affine)
    if image.resolution is not None:
        require_resolution(image.affine, image.resolution, "resolution", "the affine's")
    if image.voxel_sizes is not None:
        require_voxel_sizes(image.affine, image.voxel_sizes, "voxel_sizes")
    if image.intent_parameters is not None and len(image.intent_parameters) > MAX_INTENT_PARAMETERS:
        raise ValueError(f"an intent has at most {MAX_INTENT_PARAMETERS} parameters")


@invariant("LesionMask")
def _lesion_mask(mask: Any) -> None:
    if mask.data.ndim != 3:
        raise ValueError(f"a lesion mask must be 3D, got shape {mask.data.shape}")
    if not arrays.is_binary(mask.data):
        raise ValueError("a lesion mask must be binary (only 0 and 1)")
    if arrays.count_nonzero(mask.data) == 0:
        raise ValueError("the lesion mask is empty (no voxel is 1)")


@invariant("VoxelMap")
def _voxel_map_3d(image: Any) -> None:
    if image.data.ndim != 3:
        raise ValueError(f"a scalar map has one value per voxel (3D), got shape {image.data.shape}")


def require_labels_in(labels: np.ndarray, lut: Any, what: str) -> None:
    """Every non-zero label of `labels` names a region of `lut` (0 is background)."""
    found = np.unique(labels)
    found = found[found != 0]
    missing = np.setdiff1d(found, [region.index for region in lut.regions])
    if missing.size:
        listed = ", ".join(str(value) for value in missing[:10].tolist())
        raise ValueError(f"{what}: labels {listed} are not in the lookup table {lut.atlas_name!r}")


@invariant("Parcellation")
def _parcellation_labels(parcellation: Any) -> None:
    data = parcellation.data
    if data.ndim != 3:
        raise ValueError(f"a parcellation is 3D, got shape {data.shape}")
    bounds = arrays.min_max(data)
    if bounds is not None and bounds[0] < 0:
        raise ValueError(f"parcellation labels must be 0 (background) or positive, found {bounds[0]}")
    if parcellation.lut is not None:
        require_labels_in(data, parcellation.lut, "parcellation")


@invariant("ImageSeries")
def _series_shape(series: Any) -> None:
    if series.data.ndim != 4:
        raise ValueError(f"a series is 4D (i, j, k, volume), got shape {series.data.shape}")
    held = series.data.shape[3]
    if series.volume_count is not None and held not in (0, series.volume_count):
        raise ValueError(f"the series holds {held} volumes but announces {series.volume_count}")


@invariant("BrainModel")
def _brain_model(model: Any) -> None:
    count = model.index_count
    if _text(model.model_type) == "surface":
        if (
            model.vertex_indices is None
            or len(model.vertex_indices) != count
            or model.surface_vertices is None
        ):
            raise ValueError(
                f"{model.structure}: a surface model needs {count} vertex indices and a vertex count"
            )
        require_in_range(model.vertex_indices, model.surface_vertices, f"{model.structure} vertex indices")
    elif model.voxel_indices is None or len(model.voxel_indices) != count:
        raise ValueError(f"{model.structure}: a voxel model needs {count} voxel indices (i, j, k)")


@invariant("GrayordinateMaps")
def _grayordinate_axis(maps: Any) -> None:
    offset = 0
    for model in maps.brain_models:
        if model.index_offset != offset:
            raise ValueError(
                f"{model.structure} starts at grayordinate {model.index_offset}, expected {offset}"
            )
        offset += model.index_count
        if _text(model.model_type) == "voxels":
            if maps.volume is None:
                raise ValueError(f"{model.structure}: voxel models need the volume grid")
            for axis, size in enumerate(maps.volume.shape):
                require_in_range(model.voxel_indices[:, axis], int(size), f"{model.structure} voxel indices")
    if offset != maps.data.shape[1]:
        raise ValueError(f"the brain models cover {offset} grayordinates, the data has {maps.data.shape[1]}")
    if maps.map_names is not None and len(maps.map_names) != maps.data.shape[0]:
        raise ValueError(f"{len(maps.map_names)} map names for {maps.data.shape[0]} rows")


@invariant("GrayordinateParcellation")
def _grayordinate_labels(maps: Any) -> None:
    if len(maps.label_tables) != maps.data.shape[0]:
        raise ValueError(f"{len(maps.label_tables)} label tables for {maps.data.shape[0]} maps")
    for row, table in enumerate(maps.label_tables):
        require_labels_in(maps.data[row], table, f"map {row}")
