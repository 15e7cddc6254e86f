"""A preview's sample of a streamed file is bounded by the rows asked for (the HTML report's thumbnails ask
for fewer than `hub preview`), to the chunk: a file of 1,000,000 points read for 10,000 rows stops after
its first chunk."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.streamlines import Tractogram

from neurodatahub.core import preview


def test_a_smaller_sample_reads_fewer_chunks_of_a_streamed_tractogram(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = [rng.random((50, 3)).astype(np.float32) * 100 for _ in range(20_000)]
    path = tmp_path / "big.tck"
    nib.streamlines.save(Tractogram(lines, affine_to_rasmm=np.eye(4)), str(path))  # nibabel writes it
    small, kind = preview.sample_file(str(path), rows=10_000)
    whole, _ = preview.sample_file(str(path), rows=2_000_000)
    assert kind == "tractogram"
    assert len(whole.positions) == 1_000_000
    assert 10_000 <= len(small.positions) < len(whole.positions)
    np.testing.assert_array_equal(small.positions, whole.positions[: len(small.positions)])
