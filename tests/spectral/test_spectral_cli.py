"""`hub convert`, `hub info`, `hub validate` on spectral caches, local and on S3; bad caches fail cleanly."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line
from conftest import DOCUMENTS
from spectralbrain.io import export as sb

from neurodatahub.cli import main
from neurodatahub.compat import spectralbrain as compat
from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode

DOCUMENT = DOCUMENTS / "valid" / "SpectralDecomposition.yaml"
logging.getLogger("spectralbrain").setLevel(logging.WARNING)


def test_convert_info_and_validate(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    h5, npz, again = tmp_path / "s.h5", tmp_path / "s.npz", tmp_path / "again.h5"
    for source, target in ((DOCUMENT, h5), (h5, npz), (npz, again)):
        code, _, err = hub(capsys, "convert", str(source), str(target))
        assert code == 0 and err == "", err
    code, out, _ = hub(capsys, "info", str(again), "--json")
    summary = json.loads(out)
    assert code == 0 and (summary["kind"], summary["format"]) == ("spectral", "hdf5")
    assert (
        summary["eigenvalues"] == 3 and summary["vertices"] == 4 and summary["descriptors"] == {"hks": [4, 2]}
    )
    assert summary["metadata"] == {"hemi": "lh", "n_eigenvalues": 3, "subject": "sub-01"}
    code, out, _ = hub(capsys, "validate", str(h5), str(npz), "--json")
    assert code == 0 and all(item["valid"] and item["kind"] == "spectral" for item in json.loads(out))
    assert sb.load_hdf5(again)["metadata"]["spectralbrain_version"] == "0.1.0"  # the document's version


def test_compression_options(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    import h5py

    target = tmp_path / "lzf.h5"
    code, _, err = hub(capsys, "convert", str(DOCUMENT), str(target), "-O", "compression=lzf")
    assert code == 0, err
    with h5py.File(target) as file:
        assert file["eigenvectors"].compression == "lzf" and file["descriptors/hks"].compression == "lzf"
    code, _, err = hub(capsys, "convert", str(DOCUMENT), str(tmp_path / "x.h5"), "-O", "compression=zstd")
    assert code == ExitCode.USAGE and "compression" in one_line(err) and not (tmp_path / "x.h5").exists()


def test_invalid_caches_are_invalid_and_broken_ones_unreadable(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    bad_faces = tmp_path / "faces.h5"
    sb.save_hdf5(bad_faces, vertices=np.zeros((3, 3)), faces=np.array([[0, 1, 7]]))
    short_descriptor = tmp_path / "descriptor.h5"
    sb.save_hdf5(short_descriptor, eigenvectors=np.ones((4, 2)), descriptors={"hks": np.ones((3, 2))})
    code, out, _ = hub(capsys, "validate", str(bad_faces), str(short_descriptor), "--json")
    outcomes = json.loads(out)
    assert code == ExitCode.INVALID and not any(item["valid"] for item in outcomes)
    assert "face vertex indices" in outcomes[0]["error"] and "'hks' has 3 values" in outcomes[1]["error"]
    whole = tmp_path / "whole.h5"
    sb.save_hdf5(whole, eigenvalues=np.arange(50.0), eigenvectors=np.ones((200, 50)))
    cut = tmp_path / "cut.h5"
    cut.write_bytes(whole.read_bytes()[:3000])
    code, _, err = hub(capsys, "info", str(cut), "--from", "hdf5")
    assert code == ExitCode.USAGE and "cut.h5" in one_line(err)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, eigenvalues=np.ones(2), hks=np.array([{"a": 1}, None], dtype=object))
    code, _, err = hub(capsys, "info", str(pickled))
    assert code == ExitCode.USAGE and "pickled" in one_line(err)


def test_spectral_caches_on_s3(
    s3_bucket: str, aws_env: str, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    local = tmp_path / "cache.h5"
    sb.save_hdf5(
        local, eigenvalues=np.array([0.0, 0.5]), eigenvectors=np.eye(3)[:, :2], metadata={"hemi": "rh"}
    )
    assert main(["convert", str(local), f"{s3_bucket}/cache.npz"]) == 0
    assert main(["convert", f"{s3_bucket}/cache.npz", f"{s3_bucket}/cache.h5"]) == 0
    capsys.readouterr()
    loaded = compat.load_hdf5(f"{s3_bucket}/cache.h5")
    reference = sb.load_hdf5(local)
    assert loaded["metadata"] == {"hemi": "rh", "spectralbrain_version": "0.1.0"}
    assert all(np.array_equal(loaded[key], reference[key]) for key in ("eigenvalues", "eigenvectors"))
    url = f"{s3_bucket}/written/by/compat.h5"
    assert compat.save_hdf5(url, eigenvalues=np.array([1.0])) == url
    assert conversion.read(url).software_version == "0.1.0"
