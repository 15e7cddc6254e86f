"""Tractograms to and from nibabel's Tractogram: both ways with named data, nibabel's own objects read."""

from __future__ import annotations

import nibabel as nib
import numpy as np
from hypothesis import given, settings, strategies as st

from neurodatahub.models import Tractogram
from neurodatahub.tractograms import from_nibabel, to_nibabel


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(0, 12))
def test_both_ways(seed: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 6, count)
    n = int(lengths.sum())
    model = Tractogram(
        positions=rng.normal(size=(n, 3)).astype(np.float32),
        offsets=np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        if count
        else np.zeros(0, int),
        data_per_point=[
            {"name": "fa", "values": rng.random(n).astype(np.float32)},
            {"name": "rgb", "values": rng.random((n, 3))},
        ]
        if n
        else None,
        data_per_streamline=[{"name": "weight", "values": rng.random(count)}] if count else None,
    )
    theirs = to_nibabel(model)
    assert len(theirs.streamlines) == count
    for index, length in enumerate(lengths):
        start = int(model.offsets[index])
        assert np.array_equal(theirs.streamlines[index], model.positions[start : start + length])
    back = from_nibabel(theirs)
    assert np.array_equal(back.positions, model.positions) and np.array_equal(back.offsets, model.offsets)
    for field in ("data_per_point", "data_per_streamline"):
        expected = {column.name: column.values for column in getattr(model, field) or ()}
        got = {column.name: column.values for column in getattr(back, field) or ()}
        assert got.keys() == expected.keys() and all(np.array_equal(got[k], expected[k]) for k in got)


def test_nibabel_tractograms_from_files_and_in_voxel_space() -> None:
    from pathlib import Path

    path = Path(nib.__file__).parent / "tests" / "data" / "standard.trk"
    loaded = nib.streamlines.load(path)
    back = from_nibabel(loaded.tractogram, reference=(loaded.header["dimensions"], loaded.affine))
    assert len(back.offsets) == len(loaded.streamlines) and back.reference is not None
    assert np.array_equal(back.positions, loaded.streamlines.get_data())
    voxel = loaded.tractogram.copy().apply_affine(np.linalg.inv(loaded.affine))  # not in RAS+ mm
    assert np.allclose(from_nibabel(voxel).positions, back.positions, atol=1e-4)
    subset = loaded.tractogram[::2]  # a view with gaps
    assert len(from_nibabel(subset).offsets) == len(subset.streamlines)
