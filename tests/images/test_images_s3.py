"""Every image format on S3 (moto on loopback): written, read back equal, validated; an OME-Zarr series
is read by the chunks a consumer needs, and a NIfTI series streams from S3 without a local copy."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from image_helpers import OBLIQUE, labels, save_nifti, series, write_lut

from neurodatahub.cli import main
from neurodatahub.core import storage
from neurodatahub.core.conversion import convert, read

FORMATS = (".nii.gz", ".nii", ".mgz", ".nrrd", ".ome.zarr", ".dscalar.nii")


def upload(local: Path, url: str) -> None:
    fs, path = storage.filesystem(url)
    fs.put(str(local), path, recursive=local.is_dir())


@pytest.mark.parametrize("extension", FORMATS[:5])
def test_series_to_s3_and_back(tmp_path: Path, s3_bucket: str, extension: str) -> None:
    data = series()
    source = save_nifti(tmp_path / "sub-01_task-rest_bold.nii.gz", data, OBLIQUE, repetition_time=2.0)
    remote = f"{s3_bucket}/images/bold{extension}"
    report = convert(str(source), remote)
    assert report.target.size_bytes > 0
    model = read(remote)
    assert type(model).__name__ == "ImageSeries" and np.array_equal(model.data, data)
    assert np.allclose(model.affine, OBLIQUE, atol=1e-5)
    assert main(["validate", remote]) == 0
    back = tmp_path / f"back{extension.replace('.', '_')}.nii"
    convert(remote, str(back))
    assert np.array_equal(np.asarray(nib.load(back).dataobj), data)


def test_parcellation_and_its_table_on_s3(tmp_path: Path, s3_bucket: str) -> None:
    image = save_nifti(tmp_path / "sub-01_atlas-Toy_dseg.nii.gz", labels(count=4))
    write_lut(tmp_path / "sub-01_atlas-Toy_dseg.tsv")
    upload(tmp_path / "sub-01_atlas-Toy_dseg.nii.gz", f"{s3_bucket}/in/sub-01_atlas-Toy_dseg.nii.gz")
    upload(tmp_path / "sub-01_atlas-Toy_dseg.tsv", f"{s3_bucket}/in/sub-01_atlas-Toy_dseg.tsv")
    remote = read(f"{s3_bucket}/in/sub-01_atlas-Toy_dseg.nii.gz")
    assert len(remote.lut.regions) == 4 and np.array_equal(remote.data, nib.load(image).dataobj)
    convert(f"{s3_bucket}/in/sub-01_atlas-Toy_dseg.nii.gz", f"{s3_bucket}/out/atlas_dseg.nii.gz")
    assert storage.exists(f"{s3_bucket}/out/atlas_dseg.tsv")  # the table is placed with the image
    assert read(f"{s3_bucket}/out/atlas_dseg.nii.gz").lut.regions == remote.lut.regions


def test_an_ome_zarr_series_is_read_by_the_chunks_needed(tmp_path: Path, s3_bucket: str) -> None:
    """Every chunk but those of volume 3 is deleted: volume 3 still reads equal (its chunks are all it
    needs), volume 2 reads as the fill value (zarr's missing chunk), so the deletion was real."""
    from neurodatahub.images.formats.omezarr import open_volume

    data = series()
    remote = f"{s3_bucket}/zarr/bold.ome.zarr"
    convert(str(save_nifti(tmp_path / "sub-01_bold.nii.gz", data)), remote, write_options={"chunk_size": 8})
    fs, path = storage.filesystem(remote)
    chunks = [key for key in fs.find(f"{path}/0") if not key.rsplit("/", 1)[-1].startswith(".")]
    assert len(chunks) == data.shape[3] * 8  # one volume per chunk along t, 2 x 2 x 2 spatial chunks
    fs.rm([key for key in chunks if not key.removeprefix(f"{path}/0/").startswith("3/")])
    with open_volume(remote) as volume:
        assert np.array_equal(volume.read(3, 4)[..., 0], data[..., 3])
        assert not volume.read(2, 3).any()


def test_nifti_series_streams_from_s3_by_byte_ranges(tmp_path: Path, s3_bucket: str) -> None:
    """An uncompressed series is read volume by volume through the block cache, never downloaded whole."""
    from neurodatahub.images.formats.nifti import open_volume

    data = series((40, 40, 40, 12))  # 1.5 MB per volume: each volume spans whole 2 MiB blocks or less
    remote = f"{s3_bucket}/raw/bold.nii"
    upload(save_nifti(tmp_path / "bold.nii", data), remote)
    with open_volume(remote) as volume:
        assert np.array_equal(volume.read(5, 6)[..., 0], data[..., 5])
