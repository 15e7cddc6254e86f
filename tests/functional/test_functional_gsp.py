"""gsp1000_to_hdf5: lacuna's chunk files from GSP1000-style folders, checked against nibabel and h5py."""

from __future__ import annotations

import gzip
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pytest
from functional_helpers import (
    GRID,
    LAS_2MM,
    MNI_SHAPE,
    RAS_2MM,
    expected,
    make_gsp,
    make_run,
    mask_indices,
    run_path,
    save,
    small_las,
    small_ras,
)

from neurodatahub.core.errors import InputError, InvalidDataError, OutputError, UsageError
from neurodatahub.functional import (
    ChunkExistsError,
    GridMismatchError,
    MissingInputError,
    NoRunsError,
    gsp1000_to_hdf5,
    load_chunk,
)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())} if folder.exists() else {}


def test_chunks_hold_the_masked_runs_exactly(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=5)
    written = gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out", subjects_per_chunk=2)
    assert written == [tmp_path / "out" / f"gsp1000_chunk_{idx:03d}.h5" for idx in range(3)]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [path.name for path in written]
    runs = iter(gsp.runs)
    for idx, path in enumerate(written):
        with h5py.File(path, "r") as file:
            series = file["timeseries"]
            assert series.shape == ((2, 12, 9) if idx < 2 else (1, 12, 9))
            for row in range(series.shape[0]):
                # the data as lacuna reads it: canonical orientation, get_fdata, masked, float32; not demeaned
                np.testing.assert_array_equal(series[row], expected(next(runs), gsp.mask))
            assert file.attrs["description"] == f"GSP1000 functional connectome chunk {idx}"
            assert [name.decode() for name in file["subject_ids"][()]] == gsp.subjects[2 * idx : 2 * idx + 2]
    assert float(np.abs(load_chunk(str(written[0])).timeseries.mean())) > 900  # raw values, not demeaned


def test_layout_is_lacunas_at_the_h5py_level(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=3, n_timepoints=7)
    (path,) = gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out")  # default: 10 subjects per chunk
    mask_image = nib.as_closest_canonical(nib.load(gsp.mask))
    with h5py.File(path, "r") as file:
        series = file["timeseries"]
        assert series.dtype == np.float32 and series.shape == (3, 7, 9)
        assert series.chunks == (1, 7, 9) and series.maxshape == (3, 7, 9)
        assert series.compression == "gzip" and series.compression_opts == 1
        indices = file["mask_indices"][()]
        assert indices.dtype == np.int64 and indices.shape == (9, 3)
        np.testing.assert_array_equal(indices, mask_indices(gsp.mask))  # C order of np.where(mask)
        affine = file["mask_affine"][()]
        assert affine.dtype == np.float64
        np.testing.assert_array_equal(affine, mask_image.affine)
        attrs = dict(file.attrs)
    assert attrs["mask_shape"].tolist() == list(GRID) and attrs["mask_shape"].dtype.kind == "i"
    assert (attrs["n_subjects"], attrs["n_timepoints"], attrs["n_voxels"]) == (3, 7, 9)
    assert attrs["space"] == "MNI152NLin6Asym"
    assert attrs["source"] == "Harvard Dataverse doi:10.7910/DVN/ILXIKS"


def test_ras_runs_and_scaled_integer_runs_read_like_get_fdata(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=1)
    make_run(run_path(gsp.root, "sub-0002"), affine=small_ras(), seed=9)  # already canonical
    make_run(run_path(gsp.root, "sub-0003"), dtype=np.int16, slope=0.37, seed=10)  # scl_slope, scl_inter
    make_run(run_path(gsp.root, "sub-0004"), dtype=np.float64, seed=11)  # rounded to float32 like lacuna
    (path,) = gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out")
    chunk = load_chunk(str(path))
    assert chunk.subject_ids == ["sub-0001", "sub-0002", "sub-0003", "sub-0004"]
    for row, subject in enumerate(chunk.subject_ids):
        np.testing.assert_array_equal(chunk.timeseries[row], expected(run_path(gsp.root, subject), gsp.mask))


def test_max_subjects_takes_the_first_by_path(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=5)
    written = gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out", 2, max_subjects=3)
    assert [load_chunk(str(path)).subject_ids for path in written] == [["sub-0001", "sub-0002"], ["sub-0003"]]
    everything = gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "all", 4, max_subjects=50)
    assert [load_chunk(str(path)).timeseries.shape[0] for path in everything] == [4, 1]


def test_existing_chunks_are_an_error_unless_overwrite(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=3)
    out = tmp_path / "out"
    gsp1000_to_hdf5(gsp.root, gsp.mask, out, 2)
    (out / "gsp1000_chunk_001.h5").write_bytes(b"an older chunk")
    before = _snapshot(out)
    with pytest.raises(ChunkExistsError, match=r"gsp1000_chunk_000\.h5 exists") as caught:
        gsp1000_to_hdf5(gsp.root, gsp.mask, out, 2)
    assert isinstance(caught.value, FileExistsError | OutputError)
    assert _snapshot(out) == before
    written = gsp1000_to_hdf5(gsp.root, gsp.mask, out, 3, overwrite=True)
    assert [path.name for path in written] == ["gsp1000_chunk_000.h5"]
    assert load_chunk(str(written[0])).subject_ids == gsp.subjects
    assert (out / "gsp1000_chunk_001.h5").read_bytes() == b"an older chunk"  # not this call's chunk


@pytest.mark.parametrize("problem", ["shape", "affine"])
def test_a_run_off_the_mask_grid_names_the_run_and_writes_nothing(tmp_path: Path, problem: str) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=4)
    if problem == "shape":
        make_run(gsp.runs[2], shape=(6, 7, 6))
    else:
        shifted = small_las()
        shifted[2, 3] += 4.0  # two voxels higher: same shape, another grid
        make_run(gsp.runs[2], affine=shifted)
    fresh = tmp_path / "new" / "out"
    with pytest.raises(GridMismatchError, match=str(gsp.runs[2])) as caught:
        gsp1000_to_hdf5(gsp.root, gsp.mask, fresh, 1)
    assert isinstance(caught.value, ValueError)
    assert not (tmp_path / "new").exists()  # not even the folder it would have made
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "gsp1000_chunk_000.h5").write_bytes(b"keep me")
    with pytest.raises(GridMismatchError):
        gsp1000_to_hdf5(gsp.root, gsp.mask, existing, 1, overwrite=True)
    assert _snapshot(existing) == {"gsp1000_chunk_000.h5": b"keep me"}


def test_runs_of_other_lengths_are_an_error(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=3)
    make_run(gsp.runs[1], n_timepoints=10)
    with pytest.raises(GridMismatchError, match=rf"{gsp.runs[1]} has 10 timepoints but 12"):
        gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out", 3)
    assert not (tmp_path / "out").exists()


def test_a_truncated_run_late_in_the_folder_leaves_no_chunk(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=5)
    data = gsp.runs[4].read_bytes()
    gsp.runs[4].write_bytes(data[: len(data) // 2])  # the header is intact, the voxels stop halfway
    out = tmp_path / "out"
    out.mkdir()
    (out / "gsp1000_chunk_000.h5").write_bytes(b"previous run")
    with pytest.raises(InputError, match=rf"{gsp.runs[4]}: the NIfTI data cannot be read \(truncated"):
        gsp1000_to_hdf5(gsp.root, gsp.mask, out, 2, overwrite=True)
    # chunks 0 and 1 were complete when run 5 failed: none of them moved into place, no partial remains
    assert _snapshot(out) == {"gsp1000_chunk_000.h5": b"previous run"}


def test_a_run_truncated_inside_its_header_is_named(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=2)
    gsp.runs[1].write_bytes(gzip.decompress(gsp.runs[1].read_bytes())[:200])
    with pytest.raises(InputError, match=rf"{gsp.runs[1]}: not a NIfTI"):
        gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out")


def test_nan_inside_the_mask_is_refused(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=2)
    image = nib.load(gsp.runs[1])
    data = image.get_fdata().astype(np.float32)
    voxel = tuple(mask_indices(gsp.mask)[4])
    data[GRID[0] - 1 - voxel[0], voxel[1], voxel[2], 3] = np.nan  # the run is LAS: axis 0 is flipped
    save(nib.Nifti1Image(data, image.affine), gsp.runs[1])
    with pytest.raises(InvalidDataError, match=rf"{gsp.runs[1]}: 1 NaN or infinite values inside the mask"):
        gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_inputs_and_empty_folders_raise_like_lacuna(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=1)
    with pytest.raises(FileNotFoundError, match="GSP directory not found"):
        gsp1000_to_hdf5(tmp_path / "nowhere", gsp.mask, tmp_path / "out")
    with pytest.raises(MissingInputError, match="Mask file not found"):
        gsp1000_to_hdf5(gsp.root, tmp_path / "no_mask.nii.gz", tmp_path / "out")
    empty = tmp_path / "empty"
    (empty / "sub-0001" / "func").mkdir(parents=True)
    (empty / "sub-0001" / "func" / "sub-0001_bld002_rest_finalmask.nii.gz").write_bytes(b"")  # not bld001
    with pytest.raises(NoRunsError, match=r"sub-\*/func/\*bld001_rest_\*_finalmask.nii.gz") as caught:
        gsp1000_to_hdf5(empty, gsp.mask, tmp_path / "out")
    assert isinstance(caught.value, ValueError)
    assert not (tmp_path / "out").exists()


def test_bad_arguments_and_doubled_subjects(tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=2)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(UsageError, match="subjects_per_chunk"):
            gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out", bad)
    with pytest.raises(ValueError, match="max_subjects"):
        gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out", max_subjects=0)
    second = gsp.runs[0].with_name(gsp.runs[0].name.replace("skip4", "skip5"))
    second.write_bytes(gsp.runs[0].read_bytes())
    with pytest.raises(NoRunsError, match="sub-0001 has 2 runs"):
        gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out")


def test_real_mni152nlin6asym_2mm_grid(tmp_path: Path) -> None:
    """A real brain mask on the 91 x 109 x 91 grid GSP1000 uses (RAS, as templateflow stores it): the ICBM
    2009 T1 template nilearn ships, thresholded and put on that grid; the runs are stored LAS, as FSL and
    GSP1000 store them."""
    import importlib.util

    from nibabel.processing import resample_from_to

    shipped = Path(importlib.util.find_spec("nilearn").origin).parent / "datasets" / "data"
    template = nib.load(shipped / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz")
    on_grid = resample_from_to(template, (MNI_SHAPE, RAS_2MM), order=0).get_fdata()
    brain = (on_grid > 0.2 * on_grid.max()).astype(np.uint8)
    mask = save(nib.Nifti1Image(brain, RAS_2MM), tmp_path / "mask.nii.gz")
    root = tmp_path / "GSP"
    for index, subject in enumerate(("sub-0001", "sub-0002")):
        make_run(run_path(root, subject), MNI_SHAPE, 2, seed=index, affine=LAS_2MM, dtype=np.int16)
    (path,) = gsp1000_to_hdf5(root, mask, tmp_path / "out")
    chunk = load_chunk(str(path))
    assert chunk.timeseries.shape[2] > 200_000 and chunk.mask_shape.tolist() == list(MNI_SHAPE)
    np.testing.assert_array_equal(chunk.mask_affine, RAS_2MM)
    np.testing.assert_array_equal(chunk.mask_indices, mask_indices(mask))
    for row, run in enumerate(sorted(root.glob("sub-*/func/*.nii.gz"))):
        np.testing.assert_array_equal(chunk.timeseries[row], expected(run, mask))


@pytest.mark.parametrize("axcodes", [("P", "L", "S"), ("A", "S", "L"), ("L", "P", "I"), ("R", "A", "S")])
def test_runs_stored_in_any_orientation_are_put_on_the_mask_grid(tmp_path: Path, axcodes: tuple) -> None:
    """Transposed and flipped storage (not only FSL's LAS) reads like nibabel's as_closest_canonical."""
    from nibabel.orientations import axcodes2ornt, ornt_transform

    gsp = make_gsp(tmp_path / "GSP", n_subjects=1)
    canonical = nib.as_closest_canonical(nib.load(gsp.runs[0]))
    stored = canonical.as_reoriented(ornt_transform(axcodes2ornt("RAS"), axcodes2ornt(axcodes)))
    assert nib.aff2axcodes(stored.affine) == axcodes
    path = save(nib.Nifti1Image(np.asarray(stored.dataobj), stored.affine), run_path(gsp.root, "sub-0002"))
    (chunk,) = gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out")
    series = load_chunk(str(chunk)).timeseries
    np.testing.assert_array_equal(series[1], expected(path, gsp.mask))
    np.testing.assert_array_equal(series[1], series[0])  # the same voxels, however they were stored
