"""GSP1000 chunks written in parallel (a real Dask cluster) and by array jobs: the sequential run's bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line
from functional_helpers import make_gsp, make_run, run_path

from neurodatahub.core.errors import InvalidDataError
from neurodatahub.functional import gsp1000_to_hdf5


def _bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_chunks_in_parallel_and_by_array_jobs_are_the_sequential_bytes(
    dask_cluster, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=7)
    sequential = gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "seq", 2)
    assert [path.name for path in sequential] == [f"gsp1000_chunk_00{n}.h5" for n in range(4)]
    expected = _bytes(tmp_path / "seq")
    gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "cluster", 2, scheduler=dask_cluster.address)
    assert _bytes(tmp_path / "cluster") == expected
    common = [str(gsp.root), str(gsp.mask), str(tmp_path / "array"), "--subjects-per-chunk", "2"]
    for subjects in ("0:4", "4:100"):  # two array jobs; the last range runs past the end
        code, out, err = hub(capsys, "functional", "gsp1000-to-hdf5", *common, "--subjects", subjects,
                             "--scheduler", dask_cluster.address)  # fmt: skip
        assert code == 0, err
    assert out == f"wrote 2 chunk files in {tmp_path / 'array'}\n"
    assert _bytes(tmp_path / "array") == expected
    code, _, err = hub(capsys, "functional", "gsp1000-to-hdf5", *common, "--subjects", "1:3")
    assert code == 2 and "multiple of subjects_per_chunk (2)" in one_line(err)


def test_a_bad_subject_in_one_chunk_places_no_chunk_at_all(dask_cluster, tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=6)
    bad = run_path(gsp.root, "sub-0005")
    make_run(bad, seed=5)
    import nibabel as nib

    image = nib.load(bad)
    data = np.asarray(image.dataobj).copy()
    data[...] = np.nan  # found only when its chunk reads the voxels, on a worker
    nib.save(nib.Nifti1Image(data, image.affine, image.header), bad)
    with pytest.raises(InvalidDataError, match="NaN or infinite"):
        gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out", 2, scheduler=dask_cluster.address)
    assert not (tmp_path / "out").exists()  # made for the chunks, removed again: nothing was placed
