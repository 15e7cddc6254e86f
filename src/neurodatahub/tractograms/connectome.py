"""Structural connectomes: a tractogram and a parcellation give streamline counts and mean lengths.

Each streamline is assigned to the parcels of the voxels its two end points fall in, the rule of dipy's
`connectivity_matrix`: world mm to voxel by the inverse affine, plus half a voxel, truncated to an index
(the voxel whose centre is nearest). A streamline counts once for the pair of its end parcels, in both
triangles (symmetric: a streamline has no direction); one with an end in the background (label 0) or
outside the grid is unassigned and counted apart. Rows are the parcellation's non-zero labels, ascending.

The tractogram is read as a stream (core.streaming): one chunk of streamlines at a time, its two ends and
its length taken with a handful of vectorised numpy calls and added into bincounts, so memory stays at a
chunk whatever the size of the file. dipy builds its end points with a Python step per streamline and
needs the whole tractogram in memory.

This operation lives with the tractograms: it consumes their streams and chunk layout. The parcellation is
only a label volume, read through the core's NIfTI reader, and the result is the core's ConnectivityMatrix
model, written through the registry: no other kind is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.errors import InputError, UsageError

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

COUNT_MEASURE = "streamline count"
LENGTH_MEASURE = "mean streamline length (mm)"
ROUNDING_DECIMALS = 6  # dipy tolerates voxel coordinates this close below 0 (float error at the edge)


@dataclass
class EndpointCounter:
    """Streamline counts and summed lengths per pair of end parcels, chunk after chunk."""

    labels: np.ndarray  # the label volume (integers), 3-D
    affine: np.ndarray  # voxel -> world mm
    regions: np.ndarray = field(init=False)  # the non-zero labels, ascending
    unassigned: int = field(default=0, init=False)
    streamlines: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        volume = np.asarray(self.labels)
        if volume.ndim == 4 and volume.shape[3] == 1:
            volume = volume[..., 0]
        if volume.ndim != 3:
            raise InputError(f"a parcellation is a 3-D label volume, got shape {volume.shape}")
        if volume.dtype.kind == "f":
            if not np.all(np.isfinite(volume)) or not np.array_equal(volume, np.round(volume)):
                raise InputError("the parcellation holds non-integer values: it is not a label volume")
            volume = volume.astype(np.int64)
        elif volume.dtype.kind not in "iub":
            raise InputError(f"the parcellation holds {volume.dtype} values, not integer labels")
        values, inverse = np.unique(volume, return_inverse=True)
        if values.size and values[0] < 0:
            raise InputError(f"the parcellation holds negative labels ({int(values[0])})")
        nonzero = values != 0
        self.regions = values[nonzero]
        # region index of every voxel, -1 for the background: one lookup per end point
        position = np.cumsum(nonzero) - 1
        self._index = np.where(nonzero, position, -1)[inverse.reshape(volume.shape)].astype(np.int32)
        inverse_affine = np.linalg.inv(np.asarray(self.affine, dtype=np.float64))
        self._linear = inverse_affine[:3, :3].T.copy()
        self._offset = inverse_affine[:3, 3] + 0.5
        size = len(self.regions) ** 2
        self._counts = np.zeros(size, dtype=np.int64)
        self._lengths = np.zeros(size, dtype=np.float64)

    def add(self, positions: np.ndarray, offsets: np.ndarray) -> None:
        """One chunk: points (P x 3, world mm) and the start offset of each streamline (from 0)."""
        offsets = np.asarray(offsets, dtype=np.int64)
        if not offsets.size:
            return
        points = np.asarray(positions)
        ends = np.append(offsets[1:], len(points)) - 1
        if (ends < offsets).any():
            raise InputError("a streamline has no points: it has no end points to assign")
        both = np.stack([points[offsets], points[ends]], axis=1)  # (S, 2, 3), dipy's sl[0::len(sl)-1]
        first, second = self._parcels(both[:, 0]), self._parcels(both[:, 1])
        lengths = streamline_lengths(points, offsets)
        kept = (first >= 0) & (second >= 0)
        low, high = np.minimum(first[kept], second[kept]), np.maximum(first[kept], second[kept])
        flat = low.astype(np.int64) * len(self.regions) + high
        self._counts += np.bincount(flat, minlength=self._counts.size)
        self._lengths += np.bincount(flat, weights=lengths[kept], minlength=self._lengths.size)
        self.streamlines += offsets.size
        self.unassigned += int(offsets.size - np.count_nonzero(kept))

    def _parcels(self, points: np.ndarray) -> np.ndarray:
        """Region index of each point's voxel; -1 for the background and outside the grid."""
        voxels = np.dot(points, self._linear)
        voxels += self._offset
        shape = np.asarray(self._index.shape)
        inside = ~((voxels.round(ROUNDING_DECIMALS) < 0).any(axis=1) | (voxels >= shape).any(axis=1))
        found = np.full(len(points), -1, dtype=np.int32)
        i, j, k = voxels[inside].astype(np.int64).T
        found[inside] = self._index[i, j, k]
        return found

    def counts(self) -> np.ndarray:
        """Streamlines per pair of regions, symmetric (upper triangle mirrored)."""
        upper = self._counts.reshape(len(self.regions), -1)
        return np.maximum(upper, upper.T)

    def mean_lengths(self) -> np.ndarray:
        """Mean length in mm of the streamlines of each pair; 0 where none (as tck2connectome writes it)."""
        counts = self._counts.reshape(len(self.regions), -1)
        sums = self._lengths.reshape(len(self.regions), -1)
        means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        return np.triu(means) + np.triu(means, 1).T


def streamline_lengths(points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Length in mm of each streamline (sum of its segments), in float64, without a loop per streamline."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if len(points) < 2:
        return np.zeros(offsets.size)
    steps = np.diff(np.asarray(points, dtype=np.float64), axis=0)
    segments = np.sqrt(np.einsum("ij,ij->i", steps, steps))
    segments[offsets[1:] - 1] = 0.0  # the step from one streamline's last point to the next one's first
    return np.add.reduceat(np.append(segments, 0.0), offsets)  # no streamline is empty (checked by add)


def connectome(
    tractogram: str,
    parcellation: str,
    *,
    tractogram_format: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> tuple[ConnectivityMatrix, ConnectivityMatrix]:
    """The streamline-count and mean-length matrices of a tractogram on a parcellation (both symmetric)."""
    from neurodatahub.core import conversion
    from neurodatahub.core.imaging.nifti import read_image, stem
    from neurodatahub.core.models import ConnectivityMatrix
    from neurodatahub.core.registry import input_format

    spec = input_format(tractogram, tractogram_format, storage_options)
    if spec.kind != "tractogram" or spec.read_stream is None:
        raise UsageError(f"{tractogram} is {spec.kind} data ({spec.name}), not a tractogram")
    image = read_image(parcellation, storage_options)
    counter = EndpointCounter(image.data, image.affine)
    if not len(counter.regions):
        raise InputError(f"{parcellation} has no parcels: every voxel is 0")
    with conversion.open_stream(spec, tractogram, storage_options) as stream:
        for chunk in stream.chunks:
            counter.add(np.asarray(chunk.positions), np.asarray(chunk.offsets))
    labels = [str(int(value)) for value in counter.regions]
    metadata = {
        "tractogram": tractogram,
        "parcellation": parcellation,
        "streamlines": counter.streamlines,
        "unassigned_streamlines": counter.unassigned,
        "assignment": "end points, voxel of each end (dipy connectivity_matrix)",
    }
    fields = {"region_labels": labels, "symmetric": True, "atlas": stem(parcellation), "metadata": metadata}
    return (
        ConnectivityMatrix(matrix=counter.counts().astype(np.float64), measure=COUNT_MEASURE, **fields),
        ConnectivityMatrix(matrix=counter.mean_lengths(), measure=LENGTH_MEASURE, **fields),
    )
