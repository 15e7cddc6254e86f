"""The local registry across processes, `hub catalog register`, and `hub validate` on broken catalogs."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from neurodatahub.catalog import UnsafeArchiveError, get_connectome_path, get_data_dir, get_fetch_status
from neurodatahub.catalog.archives import check_archive
from neurodatahub.catalog.errors import NotRegisteredError
from neurodatahub.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("NEURODATAHUB_CATALOG_PATH", raising=False)
    monkeypatch.setenv("NEURODATAHUB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_data_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NEURODATAHUB_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert get_data_dir() == (tmp_path / "xdg" / "neurodatahub").resolve()
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert get_data_dir() == (Path.home() / ".cache" / "neurodatahub").resolve()


def test_registry_survives_a_new_process(data_dir: Path, tmp_path: Path) -> None:
    chunks = tmp_path / "my_gsp"
    chunks.mkdir()
    (chunks / "gsp1000_chunk_000.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    run_python(
        f"from neurodatahub.catalog import register; register('GSP1000', {str(chunks)!r}, processed=True)"
    )
    found = run_python(
        "from neurodatahub.catalog import get_connectome_path; print(get_connectome_path('GSP1000'))"
    )
    assert found == str(chunks.resolve())
    status = get_fetch_status("gsp1000")  # the catalog name finds the registration too
    assert status["registered"] and status["processed"] and status["size_bytes"] == 108
    assert (
        json.loads((data_dir / "registry.json").read_text())["entries"]["gsp1000"]["catalog_name"]
        == "gsp1000"
    )


def test_cli_register_list_and_unregister(data_dir: Path, tmp_path: Path, capsys) -> None:
    atlas = tmp_path / "schaefer.nii.gz"
    atlas.write_bytes(b"\x1f\x8b")
    assert main(["catalog", "register", "schaefer2018", str(atlas)]) == 0
    capsys.readouterr()
    assert main(["catalog", "search", "available=true", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [(e["name"], e["local_path"]) for e in found] == [("schaefer2018", str(atlas.resolve()))]
    other = tmp_path / "other.nii.gz"
    other.write_bytes(b"")
    assert main(["catalog", "register", "schaefer2018", str(other)]) == 4  # taken name, no --force
    assert "already registered" in capsys.readouterr().err
    assert main(["catalog", "unregister", "schaefer2018"]) == 0
    assert atlas.exists()
    with pytest.raises(NotRegisteredError):
        get_connectome_path("schaefer2018")
    with pytest.raises(FileNotFoundError):  # lacuna's callers catch this
        get_connectome_path("schaefer2018")


def test_registering_a_missing_path_is_refused(data_dir: Path, tmp_path: Path, capsys) -> None:
    assert main(["catalog", "register", "x", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_tar_symlink_escaping_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as opened:
        link = tarfile.TarInfo("data/passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "../../etc/passwd"
        opened.addfile(link)
        absolute = tarfile.TarInfo("/abs.txt")
        opened.addfile(absolute, io.BytesIO(b""))
    with pytest.raises(UnsafeArchiveError, match="outside its folder"):
        check_archive(archive)


def _broken_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "catalog"
    shutil.copytree(REPO / "catalog", copy)
    return copy


def test_validate_catalog_fails_on_a_missing_licence(tmp_path: Path) -> None:
    copy = _broken_copy(tmp_path)
    entry = yaml.safe_load((copy / "tian2020.yaml").read_text())
    del entry["license"]
    (copy / "tian2020.yaml").write_text(yaml.safe_dump(entry))
    result = subprocess.run(
        [sys.executable, "-m", "neurodatahub.cli", "validate", str(copy)], capture_output=True, text=True
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "tian2020.yaml" in result.stdout and "license" in result.stdout


def test_validate_catalog_fails_on_duplicates_bad_hashes_and_a_stale_index(tmp_path: Path, capsys) -> None:
    copy = _broken_copy(tmp_path)
    entry = yaml.safe_load((copy / "hcp1065.yaml").read_text())
    (copy / "hcp1065_copy.yaml").write_text(yaml.safe_dump(entry))
    entry["files"][0]["checksum"]["value"] = "abc123"
    (copy / "hcp1065.yaml").write_text(yaml.safe_dump(entry))
    assert main(["validate", str(copy), "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)[0]["problems"]
    text = json.dumps(problems)
    assert "sha256 digest" in text and "hcp1065_copy.yaml" in text
    shutil.rmtree(copy)
    copy = _broken_copy(tmp_path)
    (copy / "index.json").write_text((copy / "index.json").read_text().replace("Schaefer", "Shafer"))
    assert main(["validate", str(copy)]) == 1
    assert "stale" in capsys.readouterr().out
