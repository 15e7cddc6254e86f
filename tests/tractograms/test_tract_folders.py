"""TRX's folder form (the spec allows the members as files in a folder; trx-python loads and saves it):
read and written by the hub, checked against trx-python in both directions."""

from __future__ import annotations

import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import trx.trx_file_memmap as tmm
from cli_helpers import hub
from tract_helpers import nibabel_file

from neurodatahub.core import conversion


def _trx_python_folder(path: Path) -> nib.streamlines.TractogramFile:
    """trx-python's save() to a name without extension writes the folder form."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = nib.streamlines.load(nibabel_file("complex.trk"))
    trx = tmm.TrxFile.from_tractogram(loaded.tractogram, reference=loaded)
    trx.groups["first_two"] = np.array([0, 1], dtype=np.uint32)
    tmm.save(trx, str(path))
    trx.close()
    assert (path / "header.json").is_file() and any(path.glob("positions.3.*"))
    return loaded


def test_the_hub_reads_a_trx_folder_trx_python_wrote(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    folder = tmp_path / "peer_tracks"
    peer = _trx_python_folder(folder)
    code, out, err = hub(capsys, "info", str(folder), "--json")
    assert code == 0 and '"format": "trx-folder"' in out, err
    model = conversion.read(str(folder))
    np.testing.assert_allclose(model.positions, peer.streamlines.get_data(), atol=1e-6)
    np.testing.assert_array_equal(model.offsets, np.asarray(peer.streamlines._offsets))
    groups = {column.name: np.asarray(column.values) for column in model.data_per_streamline}
    np.testing.assert_array_equal(groups["groups/first_two"], [1, 1, 0])
    code, _, err = hub(capsys, "convert", str(folder), str(tmp_path / "out.trk"))
    assert code == 0, err
    np.testing.assert_allclose(
        conversion.read(str(tmp_path / "out.trk")).positions, model.positions, atol=1e-4
    )


def test_trx_python_loads_a_trx_folder_the_hub_wrote(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    source = nibabel_file("complex.trk")
    target = tmp_path / "hub_tracks"
    code, _, err = hub(capsys, "convert", source, str(target), "--to", "trx-folder")
    assert code == 0, err
    assert target.is_dir() and not list(tmp_path.glob(".*"))  # no spill or staging left behind
    model = conversion.read(source)
    loaded = tmm.load(str(target))
    try:
        np.testing.assert_allclose(loaded.streamlines.get_data(), model.positions, atol=1e-6)
        np.testing.assert_array_equal(np.asarray(loaded.streamlines._offsets), model.offsets)
        for column in model.data_per_point:
            np.testing.assert_allclose(
                loaded.data_per_vertex[column.name].get_data().reshape(np.shape(column.values)), column.values
            )
    finally:
        loaded.close()
    as_zip = tmp_path / "same.trx"
    conversion.convert(str(target), str(as_zip))
    np.testing.assert_array_equal(
        conversion.read(str(as_zip)).positions, conversion.read(str(target)).positions
    )


def test_a_trx_folder_on_s3(s3_bucket: str, tmp_path: Path) -> None:
    url = f"{s3_bucket}/tracks"
    conversion.convert(nibabel_file("complex.trk"), url, to_format="trx-folder")
    back = conversion.read(url)
    np.testing.assert_allclose(
        back.positions, conversion.read(nibabel_file("complex.trk")).positions, atol=1e-6
    )
