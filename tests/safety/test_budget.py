"""Bounded memory for any file: what a file declares is checked against the budget (--max-memory,
NEURODATAHUB_MAX_MEMORY, max_memory=) before anything is allocated, and decompression is held to a ratio,
so the issue's hostile files are refused with exit 2 and one line saying what was declared and how to
raise the limit. Each file is a few kilobytes; how fast they are refused is in benchmarks/bench_safety.py.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from cli_helpers import hub, one_line

from neurodatahub.core import budget, conversion
from neurodatahub.core.errors import ExitCode, UsageError


def _refused(capsys: pytest.CaptureFixture, *args: str) -> str:
    """The one line of a refusal: on stderr, or for `validate` its report's line on stdout."""
    code, out, err = hub(capsys, *args)
    assert code == ExitCode.USAGE, err + out
    if "validate" in args:  # the report's line of the file, then its summary
        lines = out.splitlines()
        assert not err.strip() and len(lines) == 2 and lines[1].startswith("1 files:"), err + out
        return lines[0]
    return one_line(err)


def test_sizes_are_read_as_people_write_them() -> None:
    assert budget.parse_size("4G") == 4_000_000_000
    assert budget.parse_size("512MiB") == 512 << 20
    assert budget.parse_size("1.5gb") == 1_500_000_000
    assert budget.parse_size("2000") == 2000
    for bad in ("", "lots", "-1G", "0"):
        with pytest.raises(UsageError):
            budget.parse_size(bad)
    assert budget.default_max_memory() >= budget.MINIMUM_DEFAULT


def test_the_budget_comes_from_the_flag_the_variable_or_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(budget.MEMORY_VARIABLE, "3G")
    assert budget.max_memory() == 3_000_000_000
    with budget.limited("1M"):
        assert budget.max_memory() == 1_000_000
    assert budget.max_memory() == 3_000_000_000


@pytest.fixture
def index_bomb(tmp_path: Path) -> Path:
    """2 kB of HDF5 declaring 4e8 index entries (3.2 GB), stored as unwritten chunks."""
    path = tmp_path / "bomb.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("spike_times", data=np.arange(10.0))
        file.create_dataset(
            "spike_times_index", shape=(400_000_000,), dtype="i8", chunks=(1 << 20,), compression="gzip"
        )
    return path


def test_an_hdf5_declaring_gigabytes_is_refused(index_bomb: Path, capsys: pytest.CaptureFixture) -> None:
    assert index_bomb.stat().st_size < 10_000
    line = _refused(capsys, "validate", str(index_bomb))
    assert "spike_times_index" in line and "3.2 GB" in line
    line = _refused(capsys, "--max-memory", "1G", "info", str(index_bomb))
    assert "declares 3.2 GB, more than the memory budget of 1 GB" in line and "--max-memory" in line


def test_a_sparse_contiguous_dataset_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "sparse.h5"
    with h5py.File(path, "w") as file:  # 3 GB declared, nothing stored
        file.create_dataset("spike_times", shape=(375_000_000,), dtype="f8")
        file.create_dataset("spike_times_index", data=np.array([375_000_000]))
    line = _refused(capsys, "convert", str(path), str(tmp_path / "out.parquet"))
    assert "/spike_times" in line and "decompression bomb" in line
    assert not (tmp_path / "out.parquet").exists()


def test_a_raster_declaring_1e8_spikes_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "raster.h5"
    with h5py.File(path, "w") as file:  # 100 units x 1000 bins of 1000 spikes each, a few kB compressed
        raster = file.create_dataset("raster", data=np.full((100, 1000), 1000, np.int32), compression="gzip")
        raster.attrs["bin_size_ms"] = 1.0
    assert path.stat().st_size < 50_000
    line = _refused(capsys, "--max-memory", "2G", "validate", str(path))
    assert "100000000 spikes" in line


def test_unit_indices_that_would_make_a_huge_table_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "paired.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("idces", data=np.array([0, 10**15]))
        file.create_dataset("times", data=np.array([1.0, 2.0]))
    assert "unit indices" in _refused(capsys, "info", str(path))


def _npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    np.savez_compressed(path, **arrays)
    return path


def test_an_npz_inflating_past_the_ratio_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member inflating ~1000x: refused once over the floor (lowered here from 256 MiB to 1 MiB, so that
    the file is made in milliseconds; the rule is the same)."""
    monkeypatch.setattr(budget, "RATIO_FLOOR", 1 << 20)
    path = _npz(tmp_path / "bomb.npz", {"matrix": np.zeros((2000, 2000)), "region_labels": np.array(["a"])})
    assert path.stat().st_size < 100_000
    line = _refused(capsys, "info", str(path))
    assert "matrix.npy" in line and "decompression bomb" in line and budget.RATIO_VARIABLE in line


def test_an_npy_header_declaring_more_than_the_budget_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """numpy allocates the shape a member's header declares before reading it: checked first."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**9,)})
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("spike_times.npy", buffer.getvalue() + b"\0" * 64)
        archive.writestr("spike_times_index.npy", buffer.getvalue())
    line = _refused(capsys, "--max-memory", "1G", "validate", str(path))
    assert "(1000000000,) of float64" in line and "8 GB" in line


def test_a_nifti_declaring_1600_cubed_is_refused_from_its_header(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import nibabel as nib

    header = nib.Nifti1Header()
    header.set_data_shape((1600, 1600, 1600))
    header.set_data_dtype(np.uint8)
    header.set_sform(np.eye(4), code=1)
    path = tmp_path / "sub-01_label-big_mask.nii.gz"
    raw = header.binaryblock + b"\0" * 4 + b"\1" * 1000  # the header, then far less data than declared
    path.write_bytes(gzip.compress(raw))
    line = _refused(capsys, "--max-memory", "1G", "info", str(path))
    assert "(1600, 1600, 1600) of uint8" in line and "4.1 GB" in line


def test_a_yaml_alias_bomb_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\n")
    assert path.stat().st_size < 1500
    line = _refused(capsys, "info", str(path))
    assert "aliases expanded" in line and "more than the memory budget" in line


def test_a_gzip_bombed_trk_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nibabel.streamlines.trk import TrkFile

    monkeypatch.setattr(budget, "RATIO_FLOOR", 1 << 20)  # as above: the same rule, a smaller file
    header = TrkFile._default_structarr(endianness="little")
    header["voxel_to_rasmm"] = np.eye(4)
    header["nb_streamlines"] = 0  # read to the end
    path = tmp_path / "bomb.trk.gz"
    one_point = np.array([1, 0, 0, 0], "<i4").tobytes()  # a streamline of one point at the origin
    path.write_bytes(gzip.compress(header.tobytes() + one_point * (2 << 20), compresslevel=9))
    assert path.stat().st_size < 100_000
    line = _refused(capsys, "convert", str(path), str(tmp_path / "out.tck"))
    assert "the gzipped TRK file" in line and "decompression bomb" in line
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["bomb.trk.gz"]


def test_a_trk_with_huge_scalar_counts_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from nibabel.streamlines.trk import TrkFile

    header = TrkFile._default_structarr(endianness="little")
    header["voxel_to_rasmm"] = np.eye(4)
    header["nb_scalars_per_point"] = 32000
    header["nb_streamlines"] = 1
    path = tmp_path / "scalars.trk"
    path.write_bytes(header.tobytes() + np.array([1], "<i4").tobytes() + bytes(4 * 32003))
    # `hub info` answers from the header and the file's size (1 streamline, 1 point); reading the records
    # sizes its block by the declared scalars, which is what is checked before allocating
    line = _refused(capsys, "convert", str(path), str(tmp_path / "out.tck"))
    assert "a block of records" in line and "--max-memory" in line
    assert not (tmp_path / "out.tck").exists()


def test_a_gifti_array_declaring_gigabytes_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "lh.surf.gii"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<GIFTI Version="1.0" NumberOfDataArrays="1">'
        '<DataArray Intent="NIFTI_INTENT_POINTSET" DataType="NIFTI_TYPE_FLOAT32"'
        ' ArrayIndexingOrder="RowMajorOrder" Dimensionality="2" Dim0="500000000" Dim1="3"'
        ' Encoding="GZipBase64Binary" Endian="LittleEndian" ExternalFileName="" ExternalFileOffset="">'
        "<Data>eJwDAAAAAAE=</Data></DataArray></GIFTI>\n"
    )
    line = _refused(capsys, "--max-memory", "1G", "info", str(path))
    assert "DataArray 0 (500000000, 3) of float32" in line


def test_the_python_api_takes_the_budget_too(index_bomb: Path) -> None:
    with pytest.raises(budget.BudgetError, match="memory budget of 1 MB"):
        conversion.read(str(index_bomb), max_memory="1M")


def test_a_parquet_summary_reads_its_unit_column_within_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`hub info` of a hub Parquet file reads the unit column alone, held to what the footer declares."""
    source = tmp_path / "spikes.h5"
    with h5py.File(source, "w") as file:
        file["spike_times"] = np.sort(np.random.default_rng(0).uniform(0, 100, 300_000))
        file["spike_times_index"] = np.array([150_000, 300_000])
    table = tmp_path / "spikes.parquet"
    assert hub(capsys, "convert", str(source), str(table))[0] == ExitCode.OK
    line = _refused(capsys, "--max-memory", "2M", "info", str(table))
    assert "the Parquet column unit_id (300000 rows) declares 2.4 MB" in line and "--max-memory" in line
    code, out, _ = hub(capsys, "--max-memory", "4M", "info", str(table))
    assert code == ExitCode.OK and "300000" in out
