"""The hand-written invariants: vectorised, without copies, and strict where the schema cannot be."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from pydantic import ValidationError

from neurodatahub import models


def spikes(**changes: object) -> models.SpikeData:
    fields = dict(
        unit_ids=np.array([5, 6, 7]),
        spike_times=np.array([0.1, 0.2, 0.05, 0.3, 0.9]),
        spike_times_index=np.array([2, 2, 5]),
        time_unit="s",
        start_time=0.0,
        length=1.0,
    )
    fields.update(changes)
    return models.SpikeData(**fields)


def test_times_may_drop_between_units_but_not_within_one() -> None:
    assert spikes().spike_times[2] < spikes().spike_times[1]  # unit 7 starts below unit 5's end: fine
    with pytest.raises(ValidationError, match="unit 7 are not sorted"):
        spikes(spike_times=np.array([0.1, 0.2, 0.3, 0.05, 0.9]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_times_are_rejected(bad: float) -> None:
    with pytest.raises(ValidationError, match="must be finite"):
        spikes(spike_times=np.array([0.1, bad, 0.05, 0.3, 0.9]))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"spike_times_index": np.array([2, 5])}, "2 entries for 3 units"),
        ({"spike_times_index": np.array([3, 2, 5])}, "non-decreasing"),
        ({"spike_times_index": np.array([2, 2, 4])}, "ends at 4"),
        ({"unit_ids": np.array([5, 5, 7])}, "unique"),
        ({"start_time": 0.2}, "outside the recording window"),
        ({"time_unit": "samples"}, "sampling_rate"),
        ({"unit_attributes": [{"name": "x", "values": [1, 2]}]}, "2 values for 3"),
    ],
)
def test_inconsistent_spike_data_is_rejected(changes: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        spikes(**changes)


def test_empty_and_negative_start_are_fine() -> None:
    empty = spikes(
        unit_ids=np.array([], dtype=int), spike_times=np.array([]), spike_times_index=np.array([], dtype=int)
    )
    assert len(empty.unit_ids) == 0
    shifted = spikes(spike_times=np.array([-0.5, 0.2, -0.9, 0.3, 0.4]), start_time=-1.0, length=2.0)
    assert shifted.start_time == -1.0


def test_assignment_is_validated_too() -> None:
    data = spikes()
    with pytest.raises(ValidationError, match="outside the recording window"):
        data.length = 0.5


def test_a_hundred_million_spikes_validate_without_a_copy() -> None:
    n = 100_000_000
    times = np.linspace(0.0, 1000.0, n)  # 800 MB, sorted
    index = np.array([n // 2, n])
    tracemalloc.start()
    data = models.SpikeData(
        unit_ids=np.array([0, 1]),
        spike_times=times,
        spike_times_index=index,
        time_unit="s",
        start_time=0.0,
        length=1000.0,
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert data.spike_times is times  # the model holds the caller's array, not a copy
    assert peak < 64 * 2**20, f"validation allocated {peak / 2**20:.0f} MiB for an 800 MB array"


def test_unsorted_spike_is_found_in_the_last_block_of_a_large_array() -> None:
    times = np.arange(10_000_000, dtype=float)
    times[-2], times[-1] = times[-1], times[-2]
    with pytest.raises(ValidationError, match="not sorted"):
        models.SpikeData(
            unit_ids=np.array([0]),
            spike_times=times,
            spike_times_index=np.array([times.size]),
            time_unit="ms",
            start_time=0.0,
            length=float(times.size),
        )


def mask(data: np.ndarray, affine: np.ndarray | None = None, **changes: object) -> models.LesionMask:
    return models.LesionMask(
        data=data, affine=np.diag([2.0, 2.0, 2.0, 1.0]) if affine is None else affine, **changes
    )


def test_mask_must_be_binary_nonempty_and_3d() -> None:
    good = np.zeros((4, 4, 4), dtype=np.float32)
    good[1, 2, 3] = 1
    assert mask(good, resolution=2.0).data is good
    with pytest.raises(ValidationError, match="binary"):
        mask(good * 2)
    with pytest.raises(ValidationError, match="empty"):
        mask(np.zeros((4, 4, 4)))
    with pytest.raises(ValidationError, match="must be 3D"):
        mask(np.ones((2, 2, 2, 2)))


@pytest.mark.parametrize(
    ("affine", "message"),
    [
        (np.diag([2.0, 2.0, 0.0, 1.0]), "not invertible"),
        (np.full((4, 4), np.nan), "finite"),
        (np.diag([2.0, 2.0, 2.0, 2.0]), "last row"),
    ],
)
def test_affine_must_be_finite_and_invertible(affine: np.ndarray, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        mask(np.ones((2, 2, 2)), affine)


def test_connectivity_matrix_rules() -> None:
    matrix = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert models.ConnectivityMatrix(matrix=matrix, region_labels=["a", "b"], symmetric=True).matrix is matrix
    with pytest.raises(ValidationError, match="unique"):
        models.ConnectivityMatrix(matrix=matrix, region_labels=["a", "a"])
    with pytest.raises(ValidationError, match="infinite"):
        models.ConnectivityMatrix(matrix=np.array([[0.0, np.inf], [1.0, 0.0]]), region_labels=["a", "b"])


def test_nested_containers_are_checked_like_top_level_ones() -> None:
    result = models.AnalysisResult(
        namespace="N", key="k", connectivity={"matrix": [[0, 1], [1, 0]], "region_labels": ["a", "b"]}
    )
    assert isinstance(result.connectivity, models.ConnectivityMatrix)
    with pytest.raises(ValidationError, match="square"):
        models.AnalysisResult(
            namespace="N",
            key="k",
            connectivity={"matrix": [[0, 1, 2], [1, 0, 2]], "region_labels": ["a", "b"]},
        )


def test_subject_metadata_must_agree_with_the_mask() -> None:
    data = np.zeros((3, 3, 3))
    data[1, 1, 1] = 1
    lesion = {"data": data, "affine": np.diag([2.0, 2.0, 2.0, 1.0])}
    meta = {"subject_id": "sub-01", "space": "MNI152NLin6Asym", "resolution": 2.0}
    assert models.SubjectData(mask=lesion, subject_metadata=meta).subject_metadata.resolution == 2.0
    with pytest.raises(ValidationError, match=r"resolution 1\.0 mm does not match"):
        models.SubjectData(mask=lesion, subject_metadata={**meta, "resolution": 1.0})
    with pytest.raises(ValidationError, match="disagrees"):
        models.SubjectData(mask={**lesion, "space": "MNI152NLin2009cAsym"}, subject_metadata=meta)


def test_tractogram_and_mesh_indices() -> None:
    positions = np.zeros((5, 3), dtype=np.float32)
    assert len(models.Tractogram(positions=positions, offsets=np.array([0, 2])).offsets) == 2
    with pytest.raises(ValidationError, match="offsets"):
        models.Tractogram(positions=positions, offsets=np.array([1, 2]))
    with pytest.raises(ValidationError, match="face vertex indices"):
        models.SurfaceMesh(vertices=np.zeros((3, 3)), faces=np.array([[0, 1, -1]]))
