"""Invariants the LinkML schema cannot express, checked after pydantic has validated types and shapes.

Checks are registered by class name and apply to subclasses too (a LesionMask is checked as an
ImageVolume first). They raise ValueError, which pydantic reports as a validation error of the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from . import arrays

Check = Callable[[Any], None]
CHECKS: dict[str, list[Check]] = {}

RESOLUTION_TOLERANCE_MM = 0.1  # lacuna's rule: a voxel size off by more than this is an error
HEX_DIGEST_LENGTH = {"sha256": 64, "sha1": 40, "md5": 32, "xxh3_128": 32}


def invariant(*class_names: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        for name in class_names:
            CHECKS.setdefault(name, []).append(check)
        return check

    return register


def check_model(model: Any) -> None:
    """Run every check registered for the model's class and its bases, most general first, once each."""
    names = dict.fromkeys(cls.__name__ for cls in reversed(type(model).__mro__))
    for name in names:
        for check in CHECKS.get(name, ()):
            check(model)


def _unique(values: Sequence | np.ndarray, what: str) -> None:
    if arrays.has_duplicates(np.asarray(values)):
        raise ValueError(f"{what} must be unique")


def _per_element(named: Sequence | None, count: int, what: str) -> None:
    """Named arrays (unit attributes, per-vertex data...) need one entry per element."""
    names = [column.name for column in named or ()]
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names must be unique: {names}")
    for column in named or ():
        if len(column.values) != count:
            raise ValueError(f"{what} {column.name!r} has {len(column.values)} values for {count} elements")


def _affine(matrix: np.ndarray, what: str = "affine") -> None:
    if not arrays.all_finite(matrix):
        raise ValueError(f"{what} must be finite")
    if not np.allclose(matrix[3], [0, 0, 0, 1]):
        raise ValueError(f"{what} last row must be [0, 0, 0, 1], got {matrix[3].tolist()}")
    if abs(np.linalg.det(matrix[:3, :3])) < 1e-12:
        raise ValueError(f"{what} is not invertible")


def _resolution_matches(affine: np.ndarray, resolution: float, what: str, whose: str) -> None:
    """An isotropic resolution agrees with every voxel size of the affine, within lacuna's tolerance."""
    voxel_sizes = np.linalg.norm(affine[:3, :3], axis=0)
    if np.abs(voxel_sizes - resolution).max() > RESOLUTION_TOLERANCE_MM:
        raise ValueError(
            f"{what} {resolution} mm does not match {whose} voxel sizes "
            f"{np.round(voxel_sizes, 3).tolist()} mm"
        )


def _indices_in_range(indices: np.ndarray, size: int, what: str) -> None:
    bounds = arrays.min_max(indices)
    if bounds and (bounds[0] < 0 or bounds[1] >= size):
        raise ValueError(f"{what} must lie in [0, {size}), found [{bounds[0]}, {bounds[1]}]")


@invariant("SpikeData")
def _spike_data(spikes: Any) -> None:
    n_units, n_spikes = len(spikes.unit_ids), len(spikes.spike_times)
    index = spikes.spike_times_index
    if len(index) != n_units:
        raise ValueError(f"spike_times_index has {len(index)} entries for {n_units} units")
    _unique(spikes.unit_ids, "unit_ids")
    if n_units and (index[0] < 0 or not arrays.is_nondecreasing(index)):
        raise ValueError("spike_times_index must be non-negative and non-decreasing")
    last = int(index[-1]) if n_units else 0
    if last != n_spikes:
        raise ValueError(f"spike_times_index ends at {last} but there are {n_spikes} spike times")
    unit_ends = np.asarray(index)
    unit_starts = np.concatenate([[0], unit_ends[:-1]]) if n_units else unit_ends
    filled = unit_ends > unit_starts
    firsts = spikes.spike_times[unit_starts[filled]]
    lasts = spikes.spike_times[unit_ends[filled] - 1]
    # a break outside a unit start is a NaN or an unsorted unit; with none, each unit is sorted and free
    # of NaN, so finite ends prove every time finite (see arrays.breaks)
    if (~np.isin(arrays.breaks(spikes.spike_times), unit_starts)).any() or not (
        np.isfinite(firsts).all() and np.isfinite(lasts).all()
    ):
        _explain_bad_times(spikes, unit_starts, unit_ends)
    # each unit is sorted, so the extremes are among the first and last spikes of the units
    if filled.any():
        first, last = firsts.min(), lasts.max()
        end = spikes.start_time + spikes.length
        slack = 1e-9 * max(1.0, abs(end))
        if first < spikes.start_time - slack or last > end + slack:
            raise ValueError(
                f"spike times span [{first}, {last}] outside the recording window "
                f"[{spikes.start_time}, {end}] {spikes.time_unit}"
            )
    if spikes.time_unit == "samples" and not spikes.sampling_rate:
        raise ValueError("times in samples need a sampling_rate > 0")
    _per_element(spikes.unit_attributes, n_units, "unit attribute")


def _explain_bad_times(spikes: Any, unit_starts: np.ndarray, unit_ends: np.ndarray) -> None:
    """The precise (slower) scan, run only when the fast one found something: which spike, which unit."""
    bad, descents = arrays.scan_times(spikes.spike_times)
    if bad is not None:
        raise ValueError(f"spike time {bad} is {spikes.spike_times[bad]}: spike times must be finite")
    unsorted = descents[~np.isin(descents, unit_starts)]
    if unsorted.size:
        unit = int(np.searchsorted(unit_ends, unsorted[0], side="right"))
        raise ValueError(f"spike times of unit {spikes.unit_ids[unit]} are not sorted")


@invariant("RawData")
def _raw_data(raw: Any) -> None:
    if raw.time is None and not raw.sampling_rate:
        raise ValueError("raw data needs a time vector or a sampling_rate")
    if raw.time is not None and len(raw.time) != raw.data.shape[1]:
        raise ValueError(f"raw time has {len(raw.time)} entries for {raw.data.shape[1]} samples")


@invariant("ImageGrid")
def _image_grid(grid: Any) -> None:
    _affine(grid.affine)
    if len(grid.shape) != 3 or (np.asarray(grid.shape) <= 0).any():
        raise ValueError(f"grid shape must be 3 positive sizes, got {list(grid.shape)}")


@invariant("ImageVolume")
def _image_volume(image: Any) -> None:
    _affine(image.affine)
    if image.resolution is not None:
        _resolution_matches(image.affine, image.resolution, "resolution", "the affine's")


@invariant("LesionMask")
def _lesion_mask(mask: Any) -> None:
    if mask.data.ndim != 3:
        raise ValueError(f"a lesion mask must be 3D, got shape {mask.data.shape}")
    if not arrays.is_binary(mask.data):
        raise ValueError("a lesion mask must be binary (only 0 and 1)")
    if arrays.count_nonzero(mask.data) == 0:
        raise ValueError("the lesion mask is empty (no voxel is 1)")


@invariant("ParcelData")
def _parcel_data(parcels: Any) -> None:
    if len(parcels.region_labels) != len(parcels.values):
        raise ValueError(f"{len(parcels.region_labels)} region labels for {len(parcels.values)} values")
    _unique(parcels.region_labels, "region_labels")


def _mesh(vertices: np.ndarray, faces: np.ndarray) -> None:
    if not arrays.all_finite(vertices):
        raise ValueError("vertex coordinates must be finite")
    _indices_in_range(faces, len(vertices), "face vertex indices")


@invariant("SurfaceMesh")
def _surface_mesh(mesh: Any) -> None:
    _mesh(mesh.vertices, mesh.faces)
    _per_element(mesh.vertex_data, len(mesh.vertices), "vertex data")


@invariant("Tractogram")
def _tractogram(tracts: Any) -> None:
    n_points, offsets = len(tracts.positions), tracts.offsets
    if len(offsets):
        if offsets[0] != 0 or not arrays.is_nondecreasing(offsets) or offsets[-1] > n_points:
            raise ValueError(
                f"streamline offsets must start at 0, not decrease and stay within {n_points} points"
            )
    elif n_points:
        raise ValueError(f"{n_points} points but no streamline offsets")
    if not arrays.all_finite(tracts.positions):
        raise ValueError("streamline positions must be finite")
    _per_element(tracts.data_per_point, n_points, "data per point")
    _per_element(tracts.data_per_streamline, len(offsets), "data per streamline")


@invariant("Region")
def _region(region: Any) -> None:
    if region.color is not None and (
        len(region.color) != 4 or not ((region.color >= 0) & (region.color <= 255)).all()
    ):
        raise ValueError("a region colour is four values between 0 and 255 (RGBA)")


@invariant("AtlasLUT")
def _atlas_lut(lut: Any) -> None:
    _unique([region.index for region in lut.regions], "region indices")


@invariant("ExtractionResult")
def _extraction(result: Any) -> None:
    _unique([row.region_index for row in result.rows], "region indices")
    others = {row.scalar for row in result.rows} - {result.scalar_name}
    if others:
        raise ValueError(f"rows name scalars {sorted(others)} other than {result.scalar_name!r}")


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
    _resolution_matches(mask.affine, meta.resolution, "metadata resolution", "the mask's")


@invariant("ProvenanceRecord")
def _provenance(record: Any) -> None:
    if isinstance(record.timestamp, datetime) and record.timestamp.tzinfo is None:
        raise ValueError("provenance timestamps must carry a time zone (UTC)")


def _digest(algorithm: str | None, value: str | None, what: str) -> None:
    if value is None:
        return
    expected = HEX_DIGEST_LENGTH.get(algorithm or "")
    if expected is None:
        raise ValueError(f"{what} has a value but its algorithm is {algorithm or 'not given'}")
    if len(value) != expected:
        raise ValueError(f"{what} is not a {algorithm} digest ({len(value)} hex digits, expected {expected})")


@invariant("FileRecord")
def _file_record(record: Any) -> None:
    _digest(record.checksum_algorithm, record.checksum, f"checksum of {record.url}")


@invariant("Checksum")
def _checksum(checksum: Any) -> None:
    if checksum.algorithm != "unknown" and checksum.value is None:
        raise ValueError(
            f"a {checksum.algorithm} checksum needs its value (use algorithm unknown if none is published)"
        )
    _digest(checksum.algorithm if checksum.algorithm != "unknown" else None, checksum.value, "checksum")


@invariant("CatalogEntry")
def _catalog_entry(entry: Any) -> None:
    _unique([file.name for file in entry.files or ()], "file names")


@invariant("FetchProgress")
def _fetch_progress(progress: Any) -> None:
    if progress.files_completed > progress.files_total:
        raise ValueError("files_completed exceeds files_total")
    if progress.bytes_total and (progress.bytes_transferred or 0) > progress.bytes_total:
        raise ValueError("bytes_transferred exceeds bytes_total")
