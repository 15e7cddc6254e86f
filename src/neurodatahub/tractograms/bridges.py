"""Tractograms to and from nibabel's in-memory `nibabel.streamlines.Tractogram` (imported only when called).

nibabel keeps streamlines as an ArraySequence (points, offsets, lengths) in RAS+ mm when its
affine_to_rasmm is the identity, named per-point data as ArraySequences and per-streamline data as arrays,
so the arrays move without a loop per streamline. The reference grid is not part of a nibabel Tractogram
(it lives in a TRK header or a TractogramFile): `to_nibabel` leaves it behind, `from_nibabel` takes it
as `reference=(shape, affine)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.errors import InputError
from neurodatahub.tractograms import common

if TYPE_CHECKING:
    from neurodatahub.core.models import Tractogram


def to_nibabel(tractogram: Tractogram) -> Any:
    from nibabel.streamlines import ArraySequence, Tractogram as NibabelTractogram

    positions = np.asarray(tractogram.positions)
    offsets = np.asarray(tractogram.offsets, dtype=np.int64)
    lengths = common.lengths_of(offsets, len(positions))

    def sequence(values: np.ndarray) -> Any:
        found = ArraySequence()
        found._data, found._offsets, found._lengths = values, offsets.copy(), lengths.copy()
        return found

    return NibabelTractogram(
        streamlines=sequence(positions),
        data_per_point={
            name: sequence(_rows(values))
            for name, values in common.columns(tractogram.data_per_point).items()
        },
        data_per_streamline={
            name: _rows(values) for name, values in common.columns(tractogram.data_per_streamline).items()
        },
        affine_to_rasmm=np.eye(4),
    )


def _rows(values: np.ndarray) -> np.ndarray:
    """nibabel wants 2-D per-point and per-streamline arrays (one column for a scalar)."""
    return values.reshape(len(values), -1)


def from_nibabel(
    tractogram: Any, *, reference: tuple[Any, Any] | None = None, space: str | None = None
) -> Tractogram:
    """A validated Tractogram in RAS+ mm (nibabel's data are moved to world space first when needed)."""
    from neurodatahub.core.models import Tractogram

    world = (
        tractogram if np.array_equal(tractogram.affine_to_rasmm, np.eye(4)) else tractogram.copy().to_world()
    )
    streamlines = world.streamlines
    lengths = np.asarray(streamlines._lengths, dtype=np.int64)
    if lengths.size and (np.asarray(streamlines._offsets)[1:] != np.cumsum(lengths)[:-1]).any():
        streamlines = streamlines.copy()  # a view or a reordered sequence: compacted in order
    positions = np.asarray(streamlines.get_data()).reshape(-1, 3)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if lengths.size else lengths
    per_point = {
        name: _squeezed(np.asarray(values.get_data())) for name, values in world.data_per_point.items()
    }
    per_streamline = {
        name: _squeezed(np.asarray(values)) for name, values in world.data_per_streamline.items()
    }
    for name, values in per_point.items():
        if len(values) != len(positions):
            raise InputError(f"data_per_point {name!r} has {len(values)} rows for {len(positions)} points")
    return Tractogram(
        positions=positions,
        offsets=offsets,
        reference=None if reference is None else common.grid(*reference),
        space=space,
        data_per_point=[common.named(name, values) for name, values in per_point.items()] or None,
        data_per_streamline=[common.named(name, values) for name, values in per_streamline.items()] or None,
    )


def _squeezed(values: np.ndarray) -> np.ndarray:
    return values[:, 0] if values.ndim == 2 and values.shape[1] == 1 else values
