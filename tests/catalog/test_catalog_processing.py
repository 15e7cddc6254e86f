"""Processing after a fetch: real small tractograms and functional runs, served on 127.0.0.1.

The entries carry the `processing` step of the real dTOR985, HCP1065 and GSP1000 entries; what a fetch
makes must equal what the converters make from the same files, and be registered as processed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import h5py
import nibabel as nib
import numpy as np
import pytest
import yaml
from catalog_fixtures import make_tar, make_zip, md5, sha256, source_server_fixture  # noqa: F401
from catalog_server import ServerState

from neurodatahub.catalog import fetch, get_fetch_status
from neurodatahub.cli import main

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])
SHAPE = (4, 5, 3)
TIMEPOINTS = 6


def _trk_bytes(seed: int, n_streamlines: int = 5) -> bytes:
    rng = np.random.default_rng(seed)
    streamlines = [
        rng.uniform(1, 7, size=(rng.integers(2, 9), 3)).astype(np.float32) for _ in range(n_streamlines)
    ]
    tractogram = nib.streamlines.Tractogram(streamlines, affine_to_rasmm=np.eye(4))
    header = {"dimensions": np.array(SHAPE, dtype=np.int16), "voxel_sizes": np.array([2, 2, 2], np.float32)}
    header["voxel_to_rasmm"] = AFFINE
    buffer = io.BytesIO()
    nib.streamlines.TrkFile(tractogram, header=header).save(buffer)
    return buffer.getvalue()


def _nifti_bytes(data: np.ndarray) -> bytes:
    image = nib.Nifti1Image(data, AFFINE)
    return image.to_bytes()


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


def _runs(n_subjects: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        f"sub-{index:04d}": rng.normal(size=(*SHAPE, TIMEPOINTS)).astype(np.float32)
        for index in range(n_subjects)
    }


MASK = np.zeros(SHAPE, dtype=np.uint8)
MASK[1:3, 1:4, 1] = 1


def _publish(state: ServerState, tmp_path: Path, runs: dict[str, np.ndarray]) -> dict[str, Any]:
    base = state.base
    trk = _trk_bytes(1)
    tracts = {
        "atlas/association/AF_L.trk": _trk_bytes(2),
        "atlas/association/AF_R.trk.gz": _gzip(_trk_bytes(3)),
        "atlas/cranial_nerve/CNII_L.trk": _trk_bytes(4),
    }
    tarball = make_tar(
        {
            f"{subject}/func/{subject}_bld001_rest_skip4_mni152_finalmask.nii.gz": _gzip(_nifti_bytes(data))
            for subject, data in runs.items()
        }
    )
    zipped = make_zip(tracts)
    state.files.update(
        {
            "/figshare/files/31": trk,
            "/github/download/v2/tracts.zip": zipped,
            "/dataverse/api/access/datafile/41": tarball,
        }
    )
    state.api.update(
        {
            "/figshare/v2/articles/321": {
                "id": 321,
                "files": [
                    {
                        "id": 31,
                        "name": "tracts.trk",
                        "size": len(trk),
                        "computed_md5": md5(trk),
                        "download_url": f"{base}/figshare/files/31",
                    }
                ],
            },
            "/github/api/repos/owner/tracts/releases/tags/v2": {
                "tag_name": "v2",
                "assets": [
                    {
                        "name": "tracts.zip",
                        "size": len(zipped),
                        "browser_download_url": f"{base}/github/download/v2/tracts.zip",
                        "digest": f"sha256:{sha256(zipped)}",
                    }
                ],
            },
            "/dataverse/api/datasets/:persistentId/?persistentId=doi:10.5072/FK2/RUNS": {
                "status": "OK",
                "data": {
                    "latestVersion": {
                        "files": [
                            {
                                "label": "runs.tar.gz",
                                "dataFile": {
                                    "id": 41,
                                    "filename": "runs.tar.gz",
                                    "filesize": len(tarball),
                                    "md5": md5(tarball),
                                },
                            }
                        ]
                    }
                },
            },
        }
    )
    common = {
        "description": "Processing test.",
        "license": "CC0-1.0",
        "citation": "Nobody (2026).",
        "facts_source": "tests",
    }
    entries = [
        {
            "name": "proc_dtor",
            "display_name": "t",
            "kind": "structural_connectome",
            "type": "structural",
            "source_type": "figshare",
            "article_id": 321,
            "processing": "trk_to_tck",
        },
        {
            "name": "proc_hcp",
            "display_name": "t",
            "kind": "structural_connectome",
            "type": "structural",
            "source_type": "github_release",
            "repository": "owner/tracts",
            "release_tag": "v2",
            "processing": "merge_trk_to_tck",
        },
        {
            "name": "proc_gsp",
            "display_name": "t",
            "kind": "functional_connectome",
            "type": "functional",
            "source_type": "dataverse",
            "persistent_id": "doi:10.5072/FK2/RUNS",
            "dataverse_server": f"{base}/dataverse",
            "requires_mask": True,
            "default_batches": 500,
            "processing": "gsp1000_to_hdf5",
        },
    ]
    folder = tmp_path / "catalog"
    folder.mkdir()
    for entry in entries:
        (folder / f"{entry['name']}.yaml").write_text(yaml.safe_dump({**entry, **common}, sort_keys=False))
    return {"catalog": folder, "tracts": tracts, "trk": trk}


@pytest.fixture(name="processing_server")
def processing_server_fixture(
    source_server: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    runs = _runs(3)
    published = _publish(source_server, tmp_path, runs)
    base = source_server.base
    for name, value in {
        "NEURODATAHUB_CATALOG_PATH": str(published["catalog"]),
        "NEURODATAHUB_DATA_DIR": str(tmp_path / "data"),
        "NEURODATAHUB_CONFIG": str(tmp_path / "no-config.yaml"),
        "NEURODATAHUB_FIGSHARE_API_URL": f"{base}/figshare/v2",
        "NEURODATAHUB_GITHUB_API_URL": f"{base}/github/api",
        "NEURODATAHUB_FETCH_BACKOFF": "0",
        "DATAVERSE_API_KEY": "unused-key",
    }.items():
        monkeypatch.setenv(name, value)
    return {**published, "runs": runs}


def _streamlines(path: Path) -> list[np.ndarray]:
    return list(nib.streamlines.load(str(path)).streamlines)


def test_single_trk_is_converted_to_tck_and_registered_processed(
    processing_server: dict, tmp_path: Path
) -> None:
    result = fetch("proc_dtor", tmp_path / "dtor")
    tck = tmp_path / "dtor" / "tracts.tck"
    assert str(tck) in result.output_files and result.processing_time_seconds > 0
    expected = _streamlines(tmp_path / "dtor" / "tracts.trk")
    got = _streamlines(tck)
    assert len(got) == len(expected) == 5
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-4)
    assert get_fetch_status("proc_dtor")["processed"]


def test_tracts_are_merged_without_cranial_nerves(processing_server: dict, tmp_path: Path) -> None:
    fetch("proc_hcp", tmp_path / "hcp")
    merged = tmp_path / "hcp" / "proc_hcp.tck"
    kept = [
        _streamlines(path) for path in sorted((tmp_path / "hcp").rglob("*.trk*")) if "CN" not in path.name
    ]
    assert len(_streamlines(merged)) == sum(len(tract) for tract in kept) == 10
    assert get_fetch_status("proc_hcp")["processed"]


def test_functional_runs_become_chunks_with_a_mask(processing_server: dict, tmp_path: Path) -> None:
    mask = tmp_path / "mask.nii.gz"
    nib.save(nib.Nifti1Image(MASK, AFFINE), mask)
    code = main(["fetch", "proc_gsp", "--output-dir", str(tmp_path / "gsp"), "--mask", str(mask)])
    assert code == 0
    chunks = sorted((tmp_path / "gsp" / "hdf5").glob("*.h5"))
    assert [path.name for path in chunks] == [
        "gsp1000_chunk_000.h5",
        "gsp1000_chunk_001.h5",
    ]  # 1000 // 500 = 2 each
    runs = processing_server["runs"]
    with h5py.File(chunks[0]) as first:
        expected = runs["sub-0000"][MASK.astype(bool)].T
        np.testing.assert_array_equal(first["timeseries"][0], expected)
        assert first["timeseries"].shape == (2, TIMEPOINTS, int(MASK.sum()))
    assert get_fetch_status("proc_gsp")["processed"]


def test_functional_runs_without_a_mask_are_registered_unprocessed(
    processing_server: dict, tmp_path: Path
) -> None:
    result = fetch("proc_gsp", tmp_path / "gsp")
    assert any("mask" in warning for warning in result.warnings)
    assert not (tmp_path / "gsp" / "hdf5").exists()
    assert not get_fetch_status("proc_gsp")["processed"]


def test_dry_run_lists_the_processing_step(
    processing_server: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["fetch", "proc_hcp", "--output-dir", str(tmp_path / "hcp"), "--dry-run"]) == 0
    assert "process: merging the .trk tracts" in capsys.readouterr().out
