"""The peers are the oracles: nibabel reads what the hub writes (TRK, TCK) and the hub reads what nibabel
reads; trx-python reads the hub's TRX files and writes TRX files the hub reads; real files from nibabel's
and dipy's test data."""

from __future__ import annotations

import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import trx.trx_file_memmap as tmm
from tract_helpers import (
    assert_same_columns,
    assert_same_grid,
    assert_same_streamlines,
    dipy_file,
    nibabel_file,
)

from neurodatahub.core import conversion
from neurodatahub.models import Tractogram
from neurodatahub.tractograms import reference

NIBABEL_FILES = [
    "standard.trk",
    "standard.LPS.trk",
    "standard.tck",
    "complex.trk",
    "complex_big_endian.trk",
    "simple.trk",
    "simple.tck",
    "simple_big_endian.tck",
    "empty.trk",
    "empty.tck",
    "matlab_nan.tck",
    "multiline_header_field.tck",
]


def _nibabel(path: str) -> nib.streamlines.TractogramFile:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nib.streamlines.load(path)


def _assert_equals_nibabel(
    model: Tractogram, loaded: nib.streamlines.TractogramFile, atol: float = 1e-4
) -> None:
    streamlines = loaded.streamlines
    assert len(model.offsets) == len(streamlines)
    np.testing.assert_array_equal(model.offsets, np.asarray(streamlines._offsets, dtype=np.int64))
    np.testing.assert_allclose(model.positions, streamlines.get_data().reshape(-1, 3), atol=atol, rtol=0)
    ours = {column.name: np.asarray(column.values) for column in model.data_per_point or ()}
    assert set(ours) == set(loaded.tractogram.data_per_point)
    for name, values in loaded.tractogram.data_per_point.items():
        np.testing.assert_allclose(ours[name].reshape(len(ours[name]), -1), values.get_data(), atol=1e-6)
    ours = {column.name: np.asarray(column.values) for column in model.data_per_streamline or ()}
    assert set(ours) == set(loaded.tractogram.data_per_streamline)
    for name, values in loaded.tractogram.data_per_streamline.items():
        np.testing.assert_allclose(ours[name].reshape(len(ours[name]), -1), values, atol=1e-6)


@pytest.mark.parametrize("name", NIBABEL_FILES)
def test_reading_equals_nibabel(name: str) -> None:
    path = nibabel_file(name)
    _assert_equals_nibabel(conversion.read(path), _nibabel(path))


def test_dipy_tracks300_reads_as_nibabel_reads_it() -> None:
    path = dipy_file("tracks300.trk")
    model = conversion.read(path)
    assert len(model.offsets) == 300
    _assert_equals_nibabel(model, _nibabel(path))
    assert model.reference is not None


def test_big_endian_trk_equals_little_endian() -> None:
    little, big = (
        conversion.read(nibabel_file("complex.trk")),
        conversion.read(nibabel_file("complex_big_endian.trk")),
    )
    assert_same_streamlines(big, little, atol=0)
    assert_same_columns(big.data_per_point, little.data_per_point)
    assert_same_columns(big.data_per_streamline, little.data_per_streamline)


def test_standard_files_survive_trk_tck_trx_trk_with_a_reference(tmp_path: Path) -> None:
    """nibabel's standard tractogram: TCK (which has no grid) to TRX needs the NIfTI reference; the chain
    ends where it began, to 1e-4 mm, and nibabel reads the final TRK equal to the first."""
    image = nibabel_file("standard.nii.gz")
    original = conversion.read(nibabel_file("standard.trk"))
    conversion.convert(
        nibabel_file("standard.tck"), str(tmp_path / "a.trx"), write_options={"reference": image}
    )
    conversion.convert(str(tmp_path / "a.trx"), str(tmp_path / "b.trk"))
    conversion.convert(str(tmp_path / "b.trk"), str(tmp_path / "c.tck"))
    conversion.convert(str(tmp_path / "c.tck"), str(tmp_path / "d.trx"))
    conversion.convert(str(tmp_path / "d.trx"), str(tmp_path / "e.trk"))
    final = conversion.read(str(tmp_path / "e.trk"))
    assert_same_streamlines(final, original)
    assert_same_grid(final.reference, reference.from_url(image))
    _assert_equals_nibabel(final, _nibabel(nibabel_file("standard.trk")))
    lps = conversion.read(nibabel_file("standard.LPS.trk"))
    assert_same_streamlines(lps, original)  # the same streamlines, stored in LPS voxel order


def test_nibabel_reads_what_the_hub_writes(tmp_path: Path) -> None:
    source = conversion.read(nibabel_file("complex.trk"))
    for fmt in ("trk", "tck"):
        target = tmp_path / f"out.{fmt}"
        conversion.write(source, str(target))
        loaded = _nibabel(str(target))
        expected = (
            source
            if fmt == "trk"
            else source.model_copy(update={"data_per_point": None, "data_per_streamline": None})
        )
        _assert_equals_nibabel(expected, loaded)
        if fmt == "trk":
            np.testing.assert_allclose(loaded.affine, source.reference.affine, atol=1e-6)
            assert tuple(loaded.header["dimensions"]) == tuple(source.reference.shape)
            assert loaded.header["nb_streamlines"] == len(source.offsets)
        else:
            assert int(loaded.header["count"]) == len(source.offsets)


def _trx_equal(path: Path, model: Tractogram) -> None:
    loaded = tmm.load(str(path))
    try:
        assert len(loaded.streamlines) == len(model.offsets)
        np.testing.assert_allclose(loaded.streamlines.get_data(), model.positions, atol=1e-6)
        np.testing.assert_array_equal(np.asarray(loaded.streamlines._offsets), model.offsets)
        np.testing.assert_allclose(loaded.header["VOXEL_TO_RASMM"], model.reference.affine, atol=1e-5)
        np.testing.assert_array_equal(loaded.header["DIMENSIONS"], model.reference.shape)
        for column in model.data_per_point or ():
            np.testing.assert_allclose(
                loaded.data_per_vertex[column.name].get_data().reshape(np.shape(column.values)), column.values
            )
        for column in model.data_per_streamline or ():
            np.testing.assert_allclose(
                np.asarray(loaded.data_per_streamline[column.name]).reshape(np.shape(column.values)),
                column.values,
            )
    finally:
        loaded.close()


def test_trx_python_reads_what_the_hub_writes(tmp_path: Path) -> None:
    source = conversion.read(nibabel_file("complex.trk"))
    target = tmp_path / "out.trx"
    assert conversion.write(source, str(target)) == []
    _trx_equal(target, source)
    wide = tmp_path / "wide.trx"
    conversion.write(source, str(wide), positions_dtype="float64", offsets_dtype="uint64")
    _trx_equal(wide, source)


def _trx_python_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A TRX written by trx-python from nibabel's complex.trk, with a group; checks it wrote something."""
    loaded = _nibabel(nibabel_file("complex.trk"))
    trx = tmm.TrxFile.from_tractogram(loaded.tractogram, reference=loaded)
    trx.groups["first_two"] = np.array([0, 1], dtype=np.uint32)
    tmm.save(trx, str(path))
    trx.close()
    assert path.stat().st_size > 1000
    return loaded.streamlines.get_data(), np.asarray(loaded.streamlines._offsets)


def test_the_hub_reads_what_trx_python_writes(tmp_path: Path) -> None:
    path = tmp_path / "peer.trx"
    positions, offsets = _trx_python_file(path)
    model = conversion.read(str(path))
    np.testing.assert_allclose(model.positions, positions, atol=1e-6)
    np.testing.assert_array_equal(model.offsets, offsets)
    peer = _nibabel(nibabel_file("complex.trk"))
    ours = {column.name: np.asarray(column.values) for column in model.data_per_point or ()}
    for name, values in peer.tractogram.data_per_point.items():
        np.testing.assert_allclose(ours[name].reshape(len(ours[name]), -1), values.get_data(), atol=1e-6)
    groups = {column.name: column.values for column in model.data_per_streamline or ()}
    np.testing.assert_array_equal(groups["groups/first_two"], [1, 1, 0])
    # the group goes back into TRX as a group, which trx-python reads
    again = tmp_path / "again.trx"
    conversion.convert(str(path), str(again))
    loaded = tmm.load(str(again))
    try:
        np.testing.assert_array_equal(np.sort(loaded.groups["first_two"]), [0, 1])
    finally:
        loaded.close()


def test_compressed_trx_reads_equal_to_stored(tmp_path: Path) -> None:
    """trx-python can deflate its members; the hub streams deflated members instead of mapping them."""
    import zipfile

    stored = tmp_path / "stored.trx"
    conversion.write(conversion.read(nibabel_file("complex.trk")), str(stored))
    deflated = tmp_path / "deflated.trx"
    with zipfile.ZipFile(stored) as source, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    one, two = conversion.read(str(stored)), conversion.read(str(deflated))
    assert_same_streamlines(two, one, atol=0)
    assert_same_columns(two.data_per_point, one.data_per_point)
    assert_same_columns(two.data_per_streamline, one.data_per_streamline)


def test_old_trx_offsets_without_the_last_entry(tmp_path: Path) -> None:
    """TRX files from before the sentinel offset (NB_STREAMLINES entries) read the same."""
    import zipfile

    current = tmp_path / "current.trx"
    conversion.write(conversion.read(nibabel_file("standard.trk")), str(current))
    old = tmp_path / "old.trx"
    with zipfile.ZipFile(current) as source, zipfile.ZipFile(old, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("offsets."):
                data = data[: -np.dtype(info.filename.rsplit(".", 1)[1]).itemsize]
            target.writestr(info.filename, data)
    assert_same_streamlines(conversion.read(str(old)), conversion.read(str(current)), atol=0)


def test_trx_position_and_offset_types(tmp_path: Path) -> None:
    """float16 positions are a declared loss (and what trx-python reads); a bad type is a usage error."""
    from neurodatahub.core.errors import UsageError

    source = conversion.read(nibabel_file("standard.trk"))
    half = tmp_path / "half.trx"
    losses = conversion.write(source, str(half), positions_dtype="float16")
    assert [loss.field for loss in losses] == ["positions"]
    loaded = tmm.load(str(half))
    try:
        assert loaded.streamlines.get_data().dtype == np.float16
        np.testing.assert_allclose(loaded.streamlines.get_data(), source.positions, atol=0.05)
    finally:
        loaded.close()
    np.testing.assert_allclose(conversion.read(str(half)).positions, source.positions, atol=0.05)
    with pytest.raises(UsageError, match="positions_dtype"):
        conversion.write(source, str(tmp_path / "bad.trx"), positions_dtype="int8")
    with pytest.raises(UsageError, match="offsets_dtype"):
        conversion.write(source, str(tmp_path / "bad.trx"), offsets_dtype="int32")
    assert not (tmp_path / "bad.trx").exists()


def test_a_trx_group_survives_a_trip_through_trk(tmp_path: Path) -> None:
    """Groups become per-streamline membership, which TRK keeps as a property and TRX turns back into a
    group; data per group rides in the metadata from TRX to TRX (TRK has no place for it)."""
    import zipfile

    path = tmp_path / "peer.trx"
    _trx_python_file(path)
    with zipfile.ZipFile(path, "a") as archive:  # data per group, as trx-python lays it out
        archive.writestr("dpg/first_two/mean_fa.float32", np.float32([0.25]).tobytes())
    model = conversion.read(str(path))
    assert model.metadata["trx_dpg"] == {"first_two": {"mean_fa": [0.25]}}
    conversion.convert(str(path), str(tmp_path / "copy.trx"))
    loaded = tmm.load(str(tmp_path / "copy.trx"))
    try:
        np.testing.assert_allclose(loaded.data_per_group["first_two"]["mean_fa"], [[0.25]])
    finally:
        loaded.close()
    conversion.convert(str(path), str(tmp_path / "via.trk"))
    conversion.convert(str(tmp_path / "via.trk"), str(tmp_path / "back.trx"))
    loaded = tmm.load(str(tmp_path / "back.trx"))
    try:
        np.testing.assert_array_equal(np.sort(loaded.groups["first_two"]), [0, 1])
    finally:
        loaded.close()
