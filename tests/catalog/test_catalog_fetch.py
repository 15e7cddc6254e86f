"""Fetching against a local server that speaks the Dataverse, Figshare and GitHub release APIs."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_fixtures import API_KEY, PAYLOADS, served_fixture, source_server_fixture  # noqa: F401
from catalog_server import ServerState

from neurodatahub.catalog import (
    AuthenticationError,
    DiskSpaceError,
    FetchProgress,
    IntegrityError,
    UnsafeArchiveError,
    fetch,
    fetch_connectome,
    get_connectome_path,
    get_fetch_status,
    registered,
)
from neurodatahub.catalog.errors import FetchError
from neurodatahub.cli import main


def downloads(state: ServerState) -> list[tuple[str, str | None]]:
    """Requests for file bytes (not API listings)."""
    return [(path, byte_range) for path, byte_range in state.log if "/files/" in path or "datafile" in path]


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*")) if folder.exists() else []


def test_dataverse_fetch_with_key_extracts_verifies_and_registers(
    served: ServerState, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    served.api_key = API_KEY
    monkeypatch.setenv("DATAVERSE_API_KEY", API_KEY)
    seen: list[FetchProgress] = []
    result = fetch_connectome("test_dataverse", tmp_path / "out", progress_callback=seen.append)
    out = tmp_path / "out"
    assert result.success and result.registered and result.register_name == "test_dataverse"
    assert (out / "README.txt").read_bytes() == PAYLOADS["readme"]
    assert (out / "sub-01" / "sub-01" / "func" / "bld001_rest_finalmask.nii.gz").exists()
    assert not list(out.glob("*.partial"))
    assert {p.phase for p in seen} >= {"downloading", "extracting", "registering", "done"}
    assert max(p.percent_complete for p in seen) <= 100
    status = get_fetch_status("test_dataverse")
    assert status["registered"] and status["downloaded"] and not status["processed"]
    assert status["location"] == out.resolve() and status["size_bytes"] > 0
    assert get_connectome_path("TEST_DATAVERSE") == out.resolve()


def test_figshare_fetch_checks_the_published_md5(served: ServerState, tmp_path: Path) -> None:
    result = fetch("test_figshare", tmp_path / "fig")
    assert (tmp_path / "fig" / "tracts.trk").read_bytes() == PAYLOADS["trk"]
    assert result.output_files == [str(tmp_path / "fig" / "tracts.trk")]


def test_github_release_fetch_uses_the_asset_digest(served: ServerState, tmp_path: Path) -> None:
    fetch("test_github", tmp_path / "gh", keep_original=False)
    assert sorted(p.name for p in (tmp_path / "gh" / "tracts" / "tracts").iterdir()) == [
        "AF_L.trk",
        "AF_R.trk",
    ]
    assert not (tmp_path / "gh" / "tracts.zip").exists()


def test_http_fetch_into_the_data_directory(served: ServerState) -> None:
    result = fetch("test_http")
    assert Path(result.output_dir).parent.name == "atlases"
    assert (Path(result.output_dir) / "lut.txt").read_bytes() == PAYLOADS["lut"]


def test_dropped_connection_resumes_with_a_range_request(served: ServerState, tmp_path: Path) -> None:
    path = "/figshare/files/21"
    served.drop_after[path], served.drops_left[path] = 1_000_000, 1
    fetch("test_figshare", tmp_path / "fig")
    assert (tmp_path / "fig" / "tracts.trk").read_bytes() == PAYLOADS["trk"]
    ranges = [byte_range for p, byte_range in downloads(served) if p == path]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and int(ranges[1][6:-1]) >= 1


def test_interrupted_run_is_resumed_by_the_next_one(
    served: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = "/figshare/files/21"
    served.drop_after[path], served.drops_left[path] = 2_000_000, 1
    monkeypatch.setenv("NEURODATAHUB_FETCH_RETRIES", "1")
    with pytest.raises(FetchError, match="gave up"):
        fetch("test_figshare", tmp_path / "fig")
    partial = tmp_path / "fig" / "tracts.trk.partial"
    kept = partial.stat().st_size
    assert 0 < kept < len(PAYLOADS["trk"]) and not registered()
    fetch("test_figshare", tmp_path / "fig")
    assert downloads(served)[-1] == (path, f"bytes={kept}-")
    assert (tmp_path / "fig" / "tracts.trk").read_bytes() == PAYLOADS["trk"]


def test_corrupt_payload_is_deleted_and_nothing_registered(served: ServerState, tmp_path: Path) -> None:
    served.corrupt.add("/figshare/files/21")
    with pytest.raises(IntegrityError, match="md5"):
        fetch("test_figshare", tmp_path / "fig")
    assert leftovers(tmp_path / "fig") == []
    assert registered() == []


def test_missing_api_key_is_a_clear_error(served: ServerState, tmp_path: Path, capsys) -> None:
    served.api_key = API_KEY
    code = main(["fetch", "test_dataverse", "--output-dir", str(tmp_path / "dv")])
    err = capsys.readouterr().err
    assert code == 5
    assert "requires an API key" in err and "DATAVERSE_API_KEY" in err and len(err.strip().splitlines()) == 1


def test_wrong_api_key_is_refused_and_never_printed(served: ServerState, tmp_path: Path, capsys) -> None:
    served.api_key = API_KEY
    wrong = "not-the-right-key-987"
    code = main(["fetch", "test_dataverse", "--api-key", wrong, "--output-dir", str(tmp_path / "dv")])
    captured = capsys.readouterr()
    assert code == 5 and "rejected the API key" in captured.err
    assert wrong not in captured.out + captured.err
    with pytest.raises(AuthenticationError) as error:
        fetch("test_dataverse", tmp_path / "dv", api_key=wrong)
    assert wrong not in str(error.value)


def test_api_key_from_the_config_file(
    served: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served.api_key = API_KEY
    config = tmp_path / "config.yaml"
    config.write_text(f"dataverse:\n  api_key: {API_KEY}\n")
    monkeypatch.setenv("NEURODATAHUB_CONFIG", str(config))
    assert fetch("test_dataverse", tmp_path / "dv").success


def test_zip_escaping_its_folder_is_refused(served: ServerState, tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchiveError, match=r"\.\./escaped\.txt"):
        fetch("test_evil", tmp_path / "evil" / "inside")
    assert not (tmp_path / "evil" / "escaped.txt").exists()
    assert not (tmp_path / "evil" / "inside" / "evil").exists()
    assert registered() == []


def test_full_disk_stops_before_downloading(served: ServerState, tmp_path: Path) -> None:
    with pytest.raises(DiskSpaceError, match="free"):
        fetch("test_figshare", tmp_path / "fig", free_space_of=lambda _: 1000)
    assert downloads(served) == [] and leftovers(tmp_path / "fig") == []


def test_dry_run_prints_sizes_and_steps_and_fetches_nothing(
    served: ServerState, tmp_path: Path, capsys
) -> None:
    assert main(["fetch", "test_figshare", "--dry-run", "--output-dir", str(tmp_path / "fig")]) == 0
    out = capsys.readouterr().out
    assert "3.1 MB" in out and "download tracts.trk" in out and "verify tracts.trk (md5)" in out
    assert "register as test_figshare" in out
    assert downloads(served) == [] and not (tmp_path / "fig").exists()


def test_cli_fetch_prints_a_summary(served: ServerState, tmp_path: Path, capsys) -> None:
    assert main(["fetch", "test_http", "--output-dir", str(tmp_path / "lut")]) == 0
    assert "registered as test_http" in capsys.readouterr().out


def test_second_fetch_verifies_instead_of_downloading(served: ServerState, tmp_path: Path) -> None:
    fetch("test_http", tmp_path / "lut")
    before = len(downloads(served) + [p for p in served.log if p[0] == "/plain/lut.txt"])
    fetch("test_http", tmp_path / "lut")
    after = len(downloads(served) + [p for p in served.log if p[0] == "/plain/lut.txt"])
    assert before == after
