"""Images to and from nibabel's in-memory images, no file: what nibabel would have read or written."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from image_helpers import OBLIQUE, labels, scalar, series
from nibabel import cifti2

from neurodatahub.core.errors import InvalidDataError, UsageError
from neurodatahub.core.models import AtlasLUT, ImageSeries, VoxelMap
from neurodatahub.images import from_nibabel, to_nibabel


def test_volumes_both_ways() -> None:
    image = nib.Nifti1Image(scalar(), OBLIQUE)
    image.header.set_intent("t test", (12.0,))
    model = from_nibabel(image, name="tmap")
    assert isinstance(model, VoxelMap) and (model.name, model.intent) == ("tmap", "ttest")
    assert model.intent_parameters.tolist() == [12.0, 0.0, 0.0]
    back = to_nibabel(model)
    assert isinstance(back, nib.Nifti1Image) and back.header.get_intent()[:2] == ("t test", (12.0,))
    assert np.array_equal(np.asarray(back.dataobj), scalar()) and np.allclose(back.affine, OBLIQUE)


def test_series_mgh_and_parcellations() -> None:
    run = nib.Nifti1Image(series(), OBLIQUE)
    run.header.set_xyzt_units("mm", "sec")
    run.header["pixdim"][4] = 2.5
    model = from_nibabel(run)
    assert isinstance(model, ImageSeries) and model.repetition_time == 2.5 and model.volume_count == 6
    assert to_nibabel(model).header.get_zooms()[3] == 2.5
    lut = AtlasLUT(atlas_name="Toy", regions=[{"index": index, "name": f"r{index}"} for index in range(1, 5)])
    parcellation = from_nibabel(nib.MGHImage(labels().astype(np.int32), OBLIQUE), "Parcellation", lut=lut)
    assert parcellation.lut.atlas_name == "Toy" and np.array_equal(parcellation.data, labels())
    small = AtlasLUT(atlas_name="Small", regions=[{"index": 1, "name": "r1"}])
    with pytest.raises(InvalidDataError, match="not in the lookup table"):
        from_nibabel(nib.MGHImage(labels().astype(np.int32), OBLIQUE), "Parcellation", lut=small)
    with pytest.raises(UsageError, match="not an image class"):
        from_nibabel(run, "SpikeData")


def test_cifti_both_ways() -> None:
    columns = cifti2.BrainModelAxis.from_surface(np.arange(6), 6, "CortexRight")
    image = cifti2.Cifti2Image(
        np.ones((1, 6), np.float32), cifti2.Cifti2Header.from_axes((cifti2.ScalarAxis(["a"]), columns))
    )
    model = from_nibabel(image)
    assert type(model).__name__ == "GrayordinateMaps" and model.brain_models[0].surface_vertices == 6
    back = to_nibabel(model)
    assert isinstance(back, cifti2.Cifti2Image) and back.header.get_axis(1) == columns


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("sub-01_atlas-Toy_dseg.nii.gz", labels()),
        ("sub-01_task-rest_bold.nii.gz", series()),
        ("sub-01_stat-z_statmap.nii.gz", scalar() - 0.5),
        ("t1.mgz", scalar()),
    ],
)
def test_every_image_class_has_a_preview(tmp_path: Path, name: str, data: np.ndarray) -> None:
    from image_helpers import save_nifti

    from neurodatahub.cli import main
    from neurodatahub.core.conversion import convert

    source = save_nifti(tmp_path / name.replace(".mgz", ".nii.gz"), data)
    if name.endswith(".mgz"):
        convert(str(source), str(tmp_path / name))
        source = tmp_path / name
    assert main(["preview", str(source), "-o", str(tmp_path / "look.png")]) == 0
    assert (tmp_path / "look.png").read_bytes()[:4] == b"\x89PNG"
