"""Bad input to `hub extract` and to region tables: one clear line, the documented exit code, no output."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from neurodatahub.cli import main
from neurodatahub.regions import extract_scalar_map

SHAPE = (8, 9, 7)


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    paths = {
        "scalar": tmp_path / "fa.nii.gz",
        "dseg": tmp_path / "atlas-A_dseg.nii.gz",
        "lut": tmp_path / "atlas-A_dseg.tsv",
    }
    nib.save(nib.Nifti1Image(rng.random(SHAPE).astype(np.float32), np.eye(4)), paths["scalar"])
    nib.save(nib.Nifti1Image(rng.integers(0, 4, SHAPE).astype(np.int16), np.eye(4)), paths["dseg"])
    paths["lut"].write_text("index\tname\n1\ta\n2\tb\n3\tc\n")
    return paths


def _fails(args: list[str], code: int, message: str, capsys: pytest.CaptureFixture, output: Path) -> None:
    assert main(args) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hub: error:") and message in err[0], err
    assert not output.exists() and not list(output.parent.glob(f".{output.name}*"))


def test_a_good_call_writes_the_table(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.tsv"
    args = [str(inputs["scalar"]), str(inputs["dseg"]), "--lut", str(inputs["lut"]), "--scalar-name", "FA"]
    assert main(["extract", *args, "-o", str(out)]) == 0
    assert out.read_text().splitlines()[0].startswith("index\tlabel\themisphere")


def test_shape_mismatch(inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    other = tmp_path / "small.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((8, 9, 6), np.float32), np.eye(4)), other)
    out = tmp_path / "out.tsv"
    _fails(["extract", str(other), str(inputs["dseg"]), "-o", str(out)], 2, "shape mismatch", capsys, out)
    with pytest.raises(ValueError, match="shape mismatch"):  # a ValueError too, as qsiparc raises
        extract_scalar_map(str(other), str(inputs["dseg"]), None, "FA")


def test_different_affines(inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    moved = tmp_path / "moved.nii.gz"
    nib.save(nib.Nifti1Image(np.ones(SHAPE, np.float32), np.diag([-1.0, 1, 1, 1])), moved)
    out = tmp_path / "out.parquet"
    _fails(["extract", str(moved), str(inputs["dseg"]), "-o", str(out)], 2, "different affines", capsys, out)


@pytest.mark.parametrize("compressed", [True, False])
def test_truncated_nifti(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture, compressed: bool
) -> None:
    whole = inputs["scalar"].read_bytes() if compressed else gzip.decompress(inputs["scalar"].read_bytes())
    broken = tmp_path / ("cut.nii.gz" if compressed else "cut.nii")
    broken.write_bytes(whole[: len(whole) * 2 // 3])
    out = tmp_path / "out.tsv"
    _fails(["extract", str(broken), str(inputs["dseg"]), "-o", str(out)], 2, "cut.nii", capsys, out)


def test_nan_index_in_the_lookup_table(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    inputs["lut"].write_text("index\tname\n1\ta\nNaN\tb\n")
    out = tmp_path / "out.tsv"
    args = [
        "extract",
        str(inputs["scalar"]),
        str(inputs["dseg"]),
        "--lut",
        str(inputs["lut"]),
        "-o",
        str(out),
    ]
    _fails(args, 1, "line 3: region index 'NaN' is not an integer", capsys, out)


def test_lookup_table_without_a_name_column(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    inputs["lut"].write_text("index\n1\n2\n")
    out = tmp_path / "out.tsv"
    args = [
        "extract",
        str(inputs["scalar"]),
        str(inputs["dseg"]),
        "--lut",
        str(inputs["lut"]),
        "-o",
        str(out),
    ]
    _fails(args, 1, "needs an index and a name column", capsys, out)


def test_region_table_with_missing_columns(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    table = tmp_path / "regions.tsv"
    table.write_text("index\tlabel\themisphere\tmean\tscalar\n1\ta\tL\t0.5\tFA\n")
    out = tmp_path / "regions.parquet"
    _fails(["convert", str(table), str(out)], 1, "missing columns volume_mm3", capsys, out)


def test_usage_errors(inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out.tsv"
    two_luts = ["--lut", str(inputs["lut"]), "--lut", str(inputs["lut"])]
    _fails(
        ["extract", str(inputs["scalar"]), str(inputs["dseg"]), *two_luts, "-o", str(out)],
        2,
        "2 lookup tables",
        capsys,
        out,
    )
    _fails(["extract", str(inputs["scalar"]), "-o", str(out)], 2, "give SCALAR DSEG", capsys, out)
    _fails(
        ["extract", str(inputs["scalar"]), str(inputs["dseg"]), "--tier", "core", "-o", str(out)],
        2,
        "stat_tier",
        capsys,
        out,
    )
