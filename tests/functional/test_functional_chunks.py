"""Reading chunk files: both mask_indices layouts, attributes against datasets, hub validate and info."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import DOCUMENTS
from functional_helpers import GRID, make_gsp, raw_chunk, where_order
from hypothesis import given, settings, strategies as st

from neurodatahub.cli import main
from neurodatahub.core import registry
from neurodatahub.core.conversion import convert, read, write
from neurodatahub.core.errors import ExitCode, InvalidDataError
from neurodatahub.functional import gsp1000_to_hdf5, iter_subjects, load_chunk, mask_indices_rows, write_chunk
from neurodatahub.functional.chunks import with_subjects
from neurodatahub.models import FunctionalConnectomeChunk

RNG = np.random.default_rng(3)


def hub(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _series(n_subjects: int = 3, n_timepoints: int = 5, n_voxels: int = 9) -> np.ndarray:
    return RNG.normal(100, 10, (n_subjects, n_timepoints, n_voxels)).astype(np.float32)


# mask_indices either way round ----------------------------------------------------------------------------


def test_both_layouts_of_many_voxels_read_the_same(tmp_path: Path) -> None:
    voxels, series = where_order(9), _series()
    rows = load_chunk(str(raw_chunk(tmp_path / "rows.h5", series, voxels)))
    columns = load_chunk(str(raw_chunk(tmp_path / "cols.h5", series, voxels.T)))  # np.where stacked
    np.testing.assert_array_equal(rows.mask_indices, voxels)
    np.testing.assert_array_equal(columns.mask_indices, voxels)
    np.testing.assert_array_equal(columns.timeseries, series)


@pytest.mark.parametrize(
    ("voxels", "why"),
    [
        (np.array([[0, 0, 4], [0, 6, 0], [5, 0, 0]]), "only one reading lies inside mask_shape"),
        (np.array([[0, 3, 1], [1, 0, 2], [2, 1, 0]]), "both inside, only one in np.where's C order"),
        (np.array([[0, 1, 2], [1, 0, 0], [2, 0, 1]]), "symmetric: both readings are the same voxels"),
    ],
)
def test_three_voxel_masks_are_read_unambiguously(tmp_path: Path, voxels: np.ndarray, why: str) -> None:
    series = _series(n_voxels=3)
    for stored in (voxels, voxels.T):
        chunk = load_chunk(str(raw_chunk(tmp_path / "three.h5", series, stored)))
        np.testing.assert_array_equal(chunk.mask_indices, voxels, err_msg=why)


def test_a_truly_ambiguous_three_voxel_array_is_read_as_lacuna_writes_it() -> None:
    both_ways = np.array([[0, 1, 2], [1, 1, 2], [1, 2, 2]])  # rows and columns: in bounds and C-ordered
    np.testing.assert_array_equal(mask_indices_rows(both_ways, np.asarray(GRID)), both_ways)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    count=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    transposed=st.booleans(),
)
def test_any_small_mask_reads_back_in_where_order(
    shape: tuple[int, int, int], count: int, seed: int, transposed: bool
) -> None:
    count = min(count, int(np.prod(shape)))
    voxels = where_order(count, seed, shape)
    stored = voxels.T if transposed else voxels
    read = mask_indices_rows(stored, np.asarray(shape))
    if transposed and count == 3 and all(_plausible(reading, shape) for reading in (stored, stored.T)):
        # the one case the docstring leaves to the default: both readings in bounds and C-ordered
        np.testing.assert_array_equal(read, stored)
        return
    np.testing.assert_array_equal(read, voxels)


def _plausible(voxels: np.ndarray, shape: tuple[int, int, int]) -> bool:
    """Inside the grid and listed as np.where lists voxels."""
    if not ((voxels >= 0) & (voxels < np.asarray(shape))).all():
        return False
    return bool((np.diff(np.ravel_multi_index(tuple(voxels.T), shape)) > 0).all())


# reading lacuna's files ---------------------------------------------------------------------------------


def test_a_file_written_the_way_lacuna_writes_reads_and_streams(tmp_path: Path) -> None:
    series, voxels = _series(), where_order(9)
    path = raw_chunk(
        tmp_path / "gsp1000_chunk_000.h5", series, voxels.T, attrs={"mask_shape": np.array(GRID, float)}
    )
    chunk = load_chunk(str(path))
    np.testing.assert_array_equal(chunk.timeseries, series)
    assert chunk.subject_ids is None and chunk.space == "MNI152NLin6Asym"
    assert chunk.mask_shape.tolist() == list(GRID)
    subjects = list(iter_subjects(str(path)))
    assert [subject.timeseries.shape for subject in subjects] == [(1, 5, 9)] * 3
    np.testing.assert_array_equal(subjects[2].timeseries[0], series[2])
    assert registry.detect_format(str(path)).kind == "functional"


def test_functional_and_spike_hdf5_files_are_told_apart(tmp_path: Path) -> None:
    chunk = raw_chunk(tmp_path / "chunk.h5", _series(), where_order(9))
    spikes = tmp_path / "spikes.h5"
    convert(str(DOCUMENTS / "valid" / "SpikeData.yaml"), str(spikes))
    assert (registry.detect_format(str(chunk)).kind, registry.detect_format(str(spikes)).kind) == (
        "functional",
        "spikes",
    )
    assert registry.input_format(str(chunk), "hdf5").kind == "functional"


# hub validate and hub info --------------------------------------------------------------------------------


def _broken(tmp_path: Path, problem: str) -> Path:
    series, voxels = _series(), where_order(9)
    path = tmp_path / f"{problem}.h5"
    if problem == "mask_indices_shape":
        return raw_chunk(path, series, np.hstack([voxels, voxels[:, :1]]))
    if problem == "outside_mask_shape":
        voxels = voxels.copy()
        voxels[-1] = [GRID[0], 0, 0]
        return raw_chunk(path, series, voxels)
    if problem == "n_subjects":
        return raw_chunk(path, series, voxels, attrs={"n_subjects": 4})
    if problem == "n_voxels":
        return raw_chunk(path, series, voxels, attrs={"n_voxels": 8})
    if problem == "missing_mask_shape":
        return raw_chunk(path, series, voxels, attrs={"mask_shape": None})
    if problem == "missing_mask_affine":
        return raw_chunk(path, series, voxels, drop=("mask_affine",))
    if problem == "singular_affine":
        return raw_chunk(path, series, voxels, affine=np.diag([2.0, 2.0, 0.0, 1.0]))
    if problem == "same_voxel_twice":
        voxels = voxels.copy()
        voxels[3] = voxels[4]
        return raw_chunk(path, series, voxels)
    if problem == "nan_in_subject_1":
        series[1, 2, 3] = np.nan
        return raw_chunk(path, series, voxels)
    raise AssertionError(problem)


@pytest.mark.parametrize(
    ("problem", "location", "message"),
    [
        ("mask_indices_shape", "mask_indices", "shape"),
        ("outside_mask_shape", "(document)", "outside the mask grid [6, 7, 5]"),
        ("n_subjects", "n_subjects", "the attribute says 4 but timeseries has 3"),
        ("n_voxels", "n_voxels", "the attribute says 8 but timeseries has 9"),
        ("missing_mask_shape", "mask_shape", "Field required"),
        ("missing_mask_affine", "mask_affine", "required dataset is missing"),
        ("singular_affine", "(document)", "mask_affine"),
        ("same_voxel_twice", "(document)", "same voxel twice"),
        ("nan_in_subject_1", "subject 1: (document)", "1 NaN or infinite values"),
    ],
)
def test_validate_reports_broken_chunks_as_invalid(
    capsys: pytest.CaptureFixture, tmp_path: Path, problem: str, location: str, message: str
) -> None:
    path = _broken(tmp_path, problem)
    code, out, _ = hub(capsys, "validate", str(path), "--json")
    (outcome,) = json.loads(out)
    assert code == ExitCode.INVALID and not outcome["valid"]
    assert any(p["location"] == location and message in p["message"] for p in outcome["problems"]), outcome
    with pytest.raises(InvalidDataError):
        load_chunk(str(path))


def test_validate_accepts_valid_chunks_and_rejects_damaged_data(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    good = raw_chunk(tmp_path / "good.h5", _series(), where_order(9))
    code, out, _ = hub(capsys, "validate", str(good))
    assert code == 0 and "ok" in out and "FunctionalConnectomeChunk" in out
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(good.read_bytes())
    with h5py.File(damaged, "r") as file:
        where = file["timeseries"].id.get_chunk_info(1)  # subject 1's compressed bytes
    with damaged.open("r+b") as handle:
        handle.seek(where.byte_offset)
        handle.write(b"\xff" * where.size)
    code, out, _ = hub(capsys, "validate", str(damaged))
    assert code == ExitCode.USAGE and "cannot read" in out and "damaged.h5" in out
    code, out, _ = hub(capsys, "info", str(damaged), "--json")  # the header is intact
    assert code == 0 and json.loads(out)["subjects"] == 3


def test_info_reads_the_header_only(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    # a NaN in the data fails validation, which reads every subject; info succeeds: it never reads them
    path = _broken(tmp_path, "nan_in_subject_1")
    code, out, err = hub(capsys, "info", str(path), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert {key: summary[key] for key in ("kind", "format", "subjects", "timepoints", "voxels", "space")} == {
        "kind": "functional",
        "format": "hdf5",
        "subjects": 3,
        "timepoints": 5,
        "voxels": 9,
        "space": "MNI152NLin6Asym",
    }
    assert summary["mask_shape"] == list(GRID) and summary["voxel_size_mm"] == [2.0, 2.0, 2.0]
    assert summary["source"] == "Harvard Dataverse doi:10.7910/DVN/ILXIKS"
    # and a header that breaks the schema is reported by info too
    code, _, err = hub(capsys, "info", str(_broken(tmp_path, "missing_mask_shape")))
    assert code == ExitCode.INVALID and "mask_shape" in err


# conversions ----------------------------------------------------------------------------------------------


def test_chunk_to_chunk_keeps_every_value_and_id(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    gsp = make_gsp(tmp_path / "GSP", n_subjects=3)
    (source,) = gsp1000_to_hdf5(gsp.root, gsp.mask, tmp_path / "out")
    target = tmp_path / "copy.h5"
    code, _, err = hub(capsys, "convert", str(source), str(target), "--report", str(tmp_path / "r.json"))
    assert code == 0, err
    before, after = load_chunk(str(source)), load_chunk(str(target))
    np.testing.assert_array_equal(after.timeseries, before.timeseries)
    np.testing.assert_array_equal(after.mask_indices, before.mask_indices)
    assert after.subject_ids == before.subject_ids and after.description == before.description
    counts = json.loads((tmp_path / "r.json").read_text())["counts"]
    assert (counts["subjects"], counts["timepoints"], counts["voxels"]) == (3, 12, 9)
    with h5py.File(target, "r") as file:  # a streamed write has lacuna's chunking too
        assert file["timeseries"].chunks == (1, 12, 9) and file["timeseries"].compression_opts == 1


def test_documents_round_trip_and_float64_rounding_is_a_declared_loss(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    document = DOCUMENTS / "valid" / "FunctionalConnectomeChunk.yaml"  # 0.1, 0.2, 0.3: not float32 values
    code, _, err = hub(capsys, "convert", str(document), str(tmp_path / "strict.h5"), "--strict")
    assert code == ExitCode.LOSS and "float32" in err and not (tmp_path / "strict.h5").exists()
    code, _, err = hub(capsys, "convert", str(document), str(tmp_path / "chunk.h5"))
    assert code == 0 and "lost: timeseries (3): float64 values rounded to float32" in err
    code, _, err = hub(capsys, "convert", str(tmp_path / "chunk.h5"), str(tmp_path / "back.json"))
    assert code == 0, err
    back = read(str(tmp_path / "back.json"))
    original = read(str(document))
    np.testing.assert_array_equal(back.timeseries, original.timeseries.astype(np.float32))
    assert back.subject_ids == original.subject_ids == ["sub-0001", "sub-0002"]
    np.testing.assert_array_equal(back.mask_indices, original.mask_indices)


# round trips ----------------------------------------------------------------------------------------------


@st.composite
def chunk_models(draw: st.DrawFn) -> FunctionalConnectomeChunk:
    shape = draw(st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)))
    n_voxels = draw(st.integers(1, min(6, int(np.prod(shape)))))
    n_subjects, n_timepoints = draw(st.integers(0, 3)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    values = np.random.default_rng(seed).normal(0, 1e3, (n_subjects, n_timepoints, n_voxels))
    named = draw(st.booleans())
    return FunctionalConnectomeChunk(
        timeseries=values.astype(np.float32),
        mask_indices=where_order(n_voxels, seed, shape),
        mask_affine=np.diag([*draw(st.lists(st.floats(0.5, 4), min_size=3, max_size=3)), 1.0]),
        mask_shape=np.asarray(shape),
        space=draw(st.sampled_from([None, "MNI152NLin6Asym", "MNI152NLin2009cAsym"])),
        subject_ids=[f"sub-{i:02d}" for i in range(n_subjects)] if named else None,
        description=draw(st.sampled_from([None, "chunk 0", "résumé ✓"])),
        source=draw(st.sampled_from([None, "GSP1000"])),
    )


def _same(left: FunctionalConnectomeChunk, right: FunctionalConnectomeChunk) -> None:
    for name in ("timeseries", "mask_indices", "mask_affine", "mask_shape"):
        np.testing.assert_array_equal(getattr(left, name), getattr(right, name), err_msg=name)
    assert left.timeseries.dtype == right.timeseries.dtype == np.float32
    for name in ("space", "subject_ids", "description", "source"):
        assert getattr(left, name) == getattr(right, name), name


@settings(max_examples=25, deadline=None)
@given(model=chunk_models())
def test_any_chunk_round_trips_whole_and_streamed(tmp_path_factory: pytest.TempPathFactory, model) -> None:
    folder = tmp_path_factory.mktemp("round")
    assert write(model, str(folder / "whole.h5")) == []  # in memory, checked by `verify`
    _same(read(str(folder / "whole.h5")), model)
    header = model.model_copy(
        update={"timeseries": model.timeseries[:0], "subject_ids": None if model.subject_ids is None else []}
    )
    pieces = [
        with_subjects(
            header, model.timeseries[i : i + 1], None if model.subject_ids is None else [f"sub-{i:02d}"]
        )
        for i in range(len(model.timeseries))
    ]
    write_chunk(folder / "streamed.h5", header, iter(pieces))  # one subject at a time, growing dataset
    _same(load_chunk(str(folder / "streamed.h5")), model)
