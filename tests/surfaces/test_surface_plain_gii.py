"""GIfTI files named plain `.gii` (brainspace, HCP's wb_command) are known by their content, even when
kilobytes of provenance metadata come before the first DataArray, as in HCP's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line
from nibabel.gifti import GiftiDataArray, GiftiImage

from neurodatahub.core import conversion, registry
from neurodatahub.core.errors import ExitCode

VERTICES = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
FACES = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]], dtype=np.int32)
# what wb_command records in every file it writes: the command line and the build, several kB
PROVENANCE = {
    "ProgramProvenance": "Connectome Workbench\nType: Command Line Application\n" + "x" * 6000,
    "Provenance": "wb_command -surface-resample " + " ".join(f"arg{n}" for n in range(400)),
}


def _surface(path: Path, metadata: dict[str, str]) -> Path:
    image = GiftiImage(
        darrays=[
            GiftiDataArray(VERTICES, intent="NIFTI_INTENT_POINTSET"),
            GiftiDataArray(FACES, intent="NIFTI_INTENT_TRIANGLE"),
        ]
    )
    image.meta.update({"AnatomicalStructurePrimary": "CortexLeft", **metadata})
    image.to_filename(str(path))
    return path


@pytest.mark.parametrize("metadata", [{}, PROVENANCE], ids=["brainspace", "hcp"])
def test_a_plain_gii_surface_is_gifti(capsys: pytest.CaptureFixture, tmp_path: Path, metadata: dict) -> None:
    path = _surface(tmp_path / "sub-01.L.midthickness.32k_fs_LR.gii", metadata)
    assert registry.detect_format(str(path)).name == "gifti"
    code, _, err = hub(capsys, "convert", str(path), str(tmp_path / "lh.ply"))
    assert code == 0, err
    mesh = conversion.read(str(tmp_path / "lh.ply"))
    np.testing.assert_array_equal(mesh.vertices, VERTICES)
    np.testing.assert_array_equal(mesh.faces, FACES)


def test_plain_gii_data_is_gifti_func(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    thickness = GiftiImage(
        darrays=[GiftiDataArray(np.arange(4, dtype=np.float32), intent="NIFTI_INTENT_SHAPE")]
    )
    thickness.meta.update(PROVENANCE)
    thickness.to_filename(str(tmp_path / "thickness.gii"))
    geometry = _surface(tmp_path / "lh.gii", {})
    assert registry.detect_format(str(tmp_path / "thickness.gii")).name == "gifti-func"
    code, _, err = hub(capsys, "info", str(tmp_path / "thickness.gii"))
    assert code == ExitCode.USAGE and "-R geometry=SURFACE_FILE" in one_line(err)
    code, out, err = hub(capsys, "info", str(tmp_path / "thickness.gii"), "-R", f"geometry={geometry}")
    assert code == 0 and "vertex_data" in out, err
