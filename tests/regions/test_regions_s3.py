"""Region statistics on S3 (a real S3-protocol server): inputs read from it, results written to it."""

from __future__ import annotations

import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
from region_helpers import assert_same_table, scalar_on

from neurodatahub.cli import main
from neurodatahub.core import conversion
from neurodatahub.regions import discover_dseg_files, extract_scalar_map, load_lut_for_dseg, result_frame


def _inputs(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 7, (10, 12, 9)).astype(np.int16)
    affine = np.diag([1.5, 1.5, 1.5, 1.0])
    dwi = folder / "sub-01" / "ses-1" / "dwi"
    dwi.mkdir(parents=True)
    paths = {
        "scalar": dwi / "sub-01_ses-1_space-ACPC_param-md_dwimap.nii.gz",
        "dseg": dwi / "sub-01_ses-1_space-ACPC_seg-Toy_dseg.nii.gz",
        "lut": folder / "atlases" / "atlas-Toy" / "atlas-Toy_dseg.tsv",
    }
    nib.save(nib.Nifti1Image(scalar_on(labels).astype(np.float32), affine), paths["scalar"])
    nib.save(nib.Nifti1Image(labels, affine), paths["dseg"])
    paths["lut"].parent.mkdir(parents=True)
    paths["lut"].write_text("index\tlabel\n" + "".join(f"{i}\tlh_r{i}\n" for i in range(1, 7)))
    return paths


def test_extract_reads_from_and_writes_to_s3(s3_bucket: str, tmp_path: Path) -> None:
    import s3fs

    local = _inputs(tmp_path / "tree")
    fs = s3fs.S3FileSystem()
    fs.put(str(tmp_path / "tree"), f"{s3_bucket}/tree", recursive=True)
    remote = {
        key: f"{s3_bucket}/tree/{path.relative_to(tmp_path / 'tree').as_posix()}"
        for key, path in local.items()
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        here = extract_scalar_map(str(local["scalar"]), str(local["dseg"]), str(local["lut"]), "MD")
        there = extract_scalar_map(remote["scalar"], remote["dseg"], remote["lut"], "MD")
    assert_same_table(result_frame(there), result_frame(here), rtol=0)

    for name in ("parquet", "tsv"):
        target = f"{s3_bucket}/results/md.{name}"
        conversion.write(there, target)
        assert_same_table(result_frame(conversion.read(target)), result_frame(here), rtol=0)

    args = [
        remote["scalar"],
        remote["dseg"],
        "--lut",
        remote["lut"],
        "--scalar-name",
        "MD",
        "-o",
        f"{s3_bucket}/cli/md.parquet",
    ]
    assert main(["extract", *args]) == 0
    assert_same_table(
        result_frame(conversion.read(f"{s3_bucket}/cli/md.parquet")), result_frame(here), rtol=0
    )

    found = discover_dseg_files(f"{s3_bucket}/tree")
    assert [f.atlas_name for f in found] == ["Toy"] and found[0].lut_path == remote["lut"]
    assert [r.name for r in load_lut_for_dseg(found[0]).regions][:2] == ["lh_r1", "lh_r2"]


def test_a_qsirecon_tree_on_s3_to_diffmaps_on_s3(s3_bucket: str, tmp_path: Path) -> None:
    import s3fs

    local = _inputs(tmp_path / "tree")
    derivatives = tmp_path / "tree" / "derivatives" / "qsirecon-DIPY" / "sub-01" / "ses-1" / "dwi"
    derivatives.mkdir(parents=True)
    local["scalar"].rename(derivatives / local["scalar"].name)
    fs = s3fs.S3FileSystem()
    fs.put(str(tmp_path / "tree"), f"{s3_bucket}/tree", recursive=True)
    assert main(["extract", f"{s3_bucket}/tree", "-o", f"{s3_bucket}/out"]) == 0
    written = sorted(fs.find(f"{s3_bucket}/out"))
    stem = "sub-01_ses-1_atlas-Toy_software-DIPY_space-ACPC_param-md_diffmap"
    assert [path.rsplit("/", 1)[1] for path in written] == [f"{stem}.json", f"{stem}.tsv"]
    assert conversion.read(f"s3://{written[1]}").atlas_name == "Toy"
