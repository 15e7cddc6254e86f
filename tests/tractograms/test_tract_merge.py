"""lacuna's trk_to_tck and merge_trk_to_tck: same parameters, results nibabel agrees with, lacuna's error
types, cranial nerves left out by default, atomic outputs; and `hub tract`."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from tract_helpers import nibabel_file, write_raw_trk

from neurodatahub.cli import main
from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode, HubError
from neurodatahub.tractograms import DEFAULT_EXCLUDE_PATTERNS, find_trk_files, merge_trk_to_tck, trk_to_tck


def _nibabel_points(path: Path | str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nib.streamlines.load(str(path)).streamlines.get_data()


def test_trk_to_tck_matches_nibabel(tmp_path: Path) -> None:
    source = nibabel_file("complex.trk")
    written = trk_to_tck(source, tmp_path / "out.tck")
    assert written == tmp_path / "out.tck" and isinstance(written, Path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = nib.streamlines.load(source)
        nib.streamlines.save(reference.tractogram, str(tmp_path / "nibabel.tck"))
    np.testing.assert_allclose(_nibabel_points(written), _nibabel_points(tmp_path / "nibabel.tck"), atol=1e-6)


def test_trk_to_tck_errors_are_lacunas_types(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        trk_to_tck(tmp_path / "missing.trk", tmp_path / "out.tck")
    with pytest.raises(ValueError, match=r"must be a \.trk"):
        trk_to_tck(nibabel_file("standard.tck"), tmp_path / "out.tck")
    with pytest.raises(ValueError, match=r"must be a \.tck"):
        trk_to_tck(nibabel_file("standard.trk"), tmp_path / "out.trk")
    existing = tmp_path / "existing.tck"
    existing.write_text("keep me")
    with pytest.raises(FileExistsError):
        trk_to_tck(nibabel_file("standard.trk"), existing)
    assert existing.read_text() == "keep me"
    trk_to_tck(nibabel_file("standard.trk"), existing, overwrite=True)
    assert len(_nibabel_points(existing)) == 360
    damaged = tmp_path / "damaged.trk"
    damaged.write_bytes(Path(nibabel_file("standard.trk")).read_bytes()[:-10])
    with pytest.raises(RuntimeError, match="truncated") as caught:
        trk_to_tck(damaged, tmp_path / "never.tck")
    assert isinstance(caught.value, HubError) and caught.value.exit_code == ExitCode.USAGE
    assert not (tmp_path / "never.tck").exists()


def _tract_folder(root: Path) -> dict[str, Path]:
    """An HCP1065-like tree: categories, .trk and .trk.gz, cranial nerves in a folder and by name."""
    files = {
        "AF_L": root / "association" / "AF_L.trk",
        "CC": root / "commissural" / "CC.trk.gz",
        "CST_R": root / "projection" / "deeper" / "CST_R.trk",
        "CNII_L": root / "cranial_nerve" / "CNII_L.trk.gz",
        "CNV_R": root / "brainstem" / "CNV_R.trk",
        "CNVIII_L": root / "brainstem" / "cnviii_l.trk",
    }
    for seed, path in enumerate(files.values()):
        path.parent.mkdir(parents=True, exist_ok=True)
        plain = path.with_suffix("") if path.suffix == ".gz" else path
        write_raw_trk(plain, 3 + seed, 4 + seed, seed=seed)
        if path.suffix == ".gz":
            path.write_bytes(gzip.compress(plain.read_bytes()))
            plain.unlink()
    (root / "notes.txt").write_text("not a tract")
    (root / "association" / "AF_L.tck").write_text("not a trk either")
    return files


def test_merge_leaves_cranial_nerves_out_and_keeps_order(tmp_path: Path) -> None:
    files = _tract_folder(tmp_path / "tracts")
    found = find_trk_files(str(tmp_path / "tracts"))
    assert [Path(url).name for url in found] == ["AF_L.trk", "CC.trk.gz", "CST_R.trk"]
    merged = merge_trk_to_tck(tmp_path / "tracts", tmp_path / "all.tck")
    assert merged == tmp_path / "all.tck"
    expected = np.concatenate([_nibabel_points(files[name]) for name in ("AF_L", "CC", "CST_R")])
    np.testing.assert_allclose(_nibabel_points(merged), expected, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = nib.streamlines.load(str(merged)).header
    assert int(header["count"]) == 3 + 4 + 5
    assert header["reference_dimensions"] == "100 100 100"  # every file shares the grid, so it is kept


def test_merge_exclusions_are_case_insensitive_and_replace_the_default(tmp_path: Path) -> None:
    _tract_folder(tmp_path / "tracts")
    names = {Path(url).name for url in find_trk_files(str(tmp_path / "tracts"), ["CST", "commissural"])}
    assert names == {"AF_L.trk", "CNII_L.trk.gz", "CNV_R.trk", "cnviii_l.trk"}
    assert len(find_trk_files(str(tmp_path / "tracts"), [])) == 6
    merged = merge_trk_to_tck(tmp_path / "tracts", tmp_path / "all.tck", exclude_patterns=[])
    assert len(conversion.read(str(merged)).offsets) == sum(3 + seed for seed in range(6))
    assert any("cranial_nerve" in pattern for pattern in DEFAULT_EXCLUDE_PATTERNS)


def test_merge_errors_are_lacunas_types(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        merge_trk_to_tck(tmp_path / "missing", tmp_path / "out.tck")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no .trk or .trk.gz"):
        merge_trk_to_tck(tmp_path / "empty", tmp_path / "out.tck")
    _tract_folder(tmp_path / "tracts")
    with pytest.raises(ValueError, match=r"must be a \.tck"):
        merge_trk_to_tck(tmp_path / "tracts", tmp_path / "out.trk")
    with pytest.raises(ValueError, match="is a file"):
        merge_trk_to_tck(tmp_path / "tracts" / "notes.txt", tmp_path / "out.tck")
    with pytest.raises(ValueError, match=r"no .trk"):
        merge_trk_to_tck(tmp_path / "tracts", tmp_path / "out.tck", exclude_patterns=[".trk"])


def test_a_damaged_tract_stops_the_merge_before_any_output(tmp_path: Path) -> None:
    files = _tract_folder(tmp_path / "tracts")
    files["CST_R"].write_bytes(files["CST_R"].read_bytes()[:600])  # a cut header
    target = tmp_path / "all.tck"
    target.write_text("the previous merge")
    with pytest.raises(RuntimeError, match="truncated TRK header"):
        merge_trk_to_tck(tmp_path / "tracts", target, overwrite=True)
    assert target.read_text() == "the previous merge"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["all.tck", "tracts"]


def test_hub_tract_commands(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _tract_folder(tmp_path / "tracts")
    assert main(["tract", "merge", str(tmp_path / "tracts"), str(tmp_path / "all.tck")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert len(conversion.read(str(tmp_path / "all.tck")).offsets) == 12
    assert main(["tract", "merge", str(tmp_path / "tracts"), "x.tck", "--list", "--keep-all"]) == 0
    assert len(capsys.readouterr().out.split()) == 6
    assert main(["tract", "merge", str(tmp_path / "tracts"), "x.tck", "--list", "--exclude", "af_l"]) == 0
    listed = capsys.readouterr().out.split()
    assert len(listed) == 5 and not any("AF_L" in line for line in listed)
    code = main(["tract", "merge", str(tmp_path / "tracts"), str(tmp_path / "all.tck")])
    err = capsys.readouterr().err
    assert code == ExitCode.OUTPUT and "exists" in err and len(err.strip().splitlines()) == 1
    code = main(["tract", "trk-to-tck", nibabel_file("standard.trk"), str(tmp_path / "one.tck")])
    assert code == 0 and len(conversion.read(str(tmp_path / "one.tck")).offsets) == 120
    code = main(["tract", "trk-to-tck", str(tmp_path / "nothing.trk"), str(tmp_path / "two.tck")])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE and "no such file" in err and "Traceback" not in err
