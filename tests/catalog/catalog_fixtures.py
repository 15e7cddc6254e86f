"""Fixtures for the fetch tests: a local source server and a temporary catalog pointing at it.

Not a conftest.py: a second module named conftest would shadow tests/conftest.py for the tests that
import from it (the test folders are not packages).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from catalog_server import ServerState, serve

API_KEY = "s3cret-dataverse-key-0123"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PAYLOADS = {
    "tarball": make_tar({"sub-01/func/bld001_rest_finalmask.nii.gz": b"\x1f\x8b fake nifti " * 100}),
    "readme": b"GSP-like test dataset\n",
    "trk": os.urandom(3 * 1024 * 1024 + 123),  # several chunks, so a drop can happen midway
    "zip": make_zip(
        {"tracts/AF_L.trk": b"TRACK" + b"\x00" * 995, "tracts/AF_R.trk": b"TRACK" + b"\x01" * 995}
    ),
    "lut": b"1 Left-Thalamus 0 118 14 0\n",
    "evil": make_zip({"ok.txt": b"fine", "../escaped.txt": b"gotcha"}),
}


def _entry(name: str, kind: str, source: dict[str, Any], **extra: Any) -> dict[str, Any]:
    entry = {
        "name": name,
        "display_name": f"Test {name}",
        "kind": kind,
        "description": "Generated for the fetch tests.",
        "license": "CC0-1.0",
        "citation": "Nobody (2025) Test data.",
        "facts_source": "tests/catalog/conftest.py",
        **source,
        **extra,
    }
    if kind != "atlas":
        entry["type"] = "functional" if kind == "functional_connectome" else "structural"
    return entry


def publish(state: ServerState) -> list[dict[str, Any]]:
    """Put the payloads and the API answers on the server; return the catalog entries that use them."""
    base = state.base
    data = PAYLOADS
    state.files.update(
        {
            "/dataverse/api/access/datafile/11": data["tarball"],
            "/dataverse/api/access/datafile/12": data["readme"],
            "/figshare/files/21": data["trk"],
            "/github/download/v1/tracts.zip": data["zip"],
            "/plain/lut.txt": data["lut"],
            "/plain/evil.zip": data["evil"],
        }
    )
    dataverse_files = [
        {
            "label": "sub-01.tar.gz",
            "dataFile": {
                "id": 11,
                "filename": "sub-01.tar.gz",
                "filesize": len(data["tarball"]),
                "md5": md5(data["tarball"]),
            },
        },
        {
            "label": "README.txt",
            "dataFile": {
                "id": 12,
                "filename": "README.txt",
                "filesize": len(data["readme"]),
                "checksum": {"type": "MD5", "value": md5(data["readme"])},
            },
        },
    ]
    state.api.update(
        {
            "/dataverse/api/datasets/:persistentId/?persistentId=doi:10.5072/FK2/TEST": {
                "status": "OK",
                "data": {"latestVersion": {"files": dataverse_files}},
            },
            "/figshare/v2/articles/123": {
                "id": 123,
                "files": [
                    {
                        "id": 21,
                        "name": "tracts.trk",
                        "size": len(data["trk"]),
                        "computed_md5": md5(data["trk"]),
                        "download_url": f"{base}/figshare/files/21",
                    }
                ],
            },
            "/github/api/repos/owner/atlas/releases/tags/v1": {
                "tag_name": "v1",
                "assets": [
                    {
                        "name": "tracts.zip",
                        "size": len(data["zip"]),
                        "browser_download_url": f"{base}/github/download/v1/tracts.zip",
                        "digest": f"sha256:{sha256(data['zip'])}",
                    }
                ],
            },
        }
    )
    return [
        _entry(
            "test_dataverse",
            "functional_connectome",
            {
                "source_type": "dataverse",
                "persistent_id": "doi:10.5072/FK2/TEST",
                "dataverse_server": f"{base}/dataverse",
            },
            n_subjects=1,
        ),
        _entry("test_figshare", "structural_connectome", {"source_type": "figshare", "article_id": 123}),
        _entry(
            "test_github",
            "atlas",
            {"source_type": "github_release", "repository": "owner/atlas", "release_tag": "v1"},
        ),
        _entry(
            "test_http",
            "atlas",
            {
                "source_type": "http",
                "files": [
                    {
                        "name": "lut.txt",
                        "url": f"{base}/plain/lut.txt",
                        "size_bytes": len(data["lut"]),
                        "checksum": {"algorithm": "sha256", "value": sha256(data["lut"])},
                    }
                ],
            },
        ),
        _entry(
            "test_evil",
            "atlas",
            {
                "source_type": "http",
                "files": [
                    {
                        "name": "evil.zip",
                        "url": f"{base}/plain/evil.zip",
                        "checksum": {"algorithm": "unknown"},
                    }
                ],
            },
        ),
    ]


@pytest.fixture(name="source_server")
def source_server_fixture() -> Iterator[ServerState]:
    with serve() as state:
        yield state


@pytest.fixture(name="served")
def served_fixture(
    source_server: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ServerState:
    """A catalog of entries served by the local server, an empty data dir, and no ambient keys."""
    folder = tmp_path / "catalog"
    folder.mkdir()
    for entry in publish(source_server):
        (folder / f"{entry['name']}.yaml").write_text(yaml.safe_dump(entry, sort_keys=False))
    base = source_server.base
    for name, value in {
        "NEURODATAHUB_CATALOG_PATH": str(folder),
        "NEURODATAHUB_DATA_DIR": str(tmp_path / "data"),
        "NEURODATAHUB_CONFIG": str(tmp_path / "no-config.yaml"),
        "NEURODATAHUB_FIGSHARE_API_URL": f"{base}/figshare/v2",
        "NEURODATAHUB_GITHUB_API_URL": f"{base}/github/api",
        "NEURODATAHUB_FETCH_BACKOFF": "0",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("DATAVERSE_API_KEY", "FIGSHARE_API_KEY", "GITHUB_TOKEN", "NEURODATAHUB_DATAVERSE_URL"):
        monkeypatch.delenv(name, raising=False)
    return source_server
