"""The storage layer on local disk, memory:// and a real S3-protocol server (moto on 127.0.0.1)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError, OutputError


def test_atomic_write_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"original")
    with pytest.raises(RuntimeError), storage.atomic_write(str(target), overwrite=True) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"original"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.bin"]  # no partial file left
    with storage.atomic_write(str(target), overwrite=True) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"


def test_existing_output_is_refused_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"keep")
    with pytest.raises(OutputError, match="exists"), storage.atomic_write(str(target)):
        pytest.fail("must refuse before handing out a path")
    assert target.read_bytes() == b"keep"


def test_missing_output_folder_is_a_clear_error(tmp_path: Path) -> None:
    with (
        pytest.raises(OutputError, match="does not exist"),
        storage.atomic_write(str(tmp_path / "no" / "x.bin")),
    ):
        pass


def test_atomic_folder_write_swaps_the_whole_folder(tmp_path: Path) -> None:
    target = tmp_path / "phy"
    target.mkdir()
    (target / "old.npy").write_bytes(b"old")
    with pytest.raises(ValueError), storage.atomic_write(str(target), overwrite=True, directory=True) as tmp:
        (tmp / "spike_times.npy").write_bytes(b"partial")
        raise ValueError("bad input found midway")
    assert [path.name for path in target.iterdir()] == ["old.npy"]
    with storage.atomic_write(str(target), overwrite=True, directory=True) as tmp:
        (tmp / "spike_times.npy").write_bytes(b"new")
    assert [path.name for path in target.iterdir()] == ["spike_times.npy"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["phy"]


def test_file_urls_and_missing_inputs(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    assert storage.read_head(f"file://{path}") == b"hello"
    with pytest.raises(InputError, match="no such file"), storage.open_read(str(tmp_path / "missing")):
        pass
    with storage.local_copy(str(path)) as local:
        assert local == path


def test_memory_filesystem_round_trip() -> None:
    url = "memory://neurodatahub-tests/doc.txt"
    with storage.atomic_write(url, overwrite=True) as tmp:
        tmp.write_bytes(b"in memory")
    assert storage.read_head(url) == b"in memory"
    assert storage.checksum_of(url) == hashlib.sha256(b"in memory").hexdigest()


def test_s3_round_trip_through_the_environment(s3_bucket: str, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 40_000  # 10 MB: several 2 MiB cache blocks
    url = f"{s3_bucket}/deep/path/data.bin"
    with storage.atomic_write(url) as tmp:
        tmp.write_bytes(payload)
    assert storage.exists(url)
    assert storage.size_of(url) == len(payload)
    with storage.open_read(url) as handle:
        handle.seek(5_000_000)
        assert handle.read(16) == payload[5_000_000:5_000_016]
    assert storage.checksum_of(url) == hashlib.sha256(payload).hexdigest()
    assert storage.checksum_of(url, "md5") == hashlib.md5(payload).hexdigest()
    assert len(storage.checksum_of(url, "xxh3_128")) == 32
    with storage.local_copy(url) as local:
        assert local.read_bytes() == payload
    with pytest.raises(OutputError, match="exists"), storage.atomic_write(url):
        pass


def test_s3_failed_write_uploads_nothing(s3_bucket: str) -> None:
    url = f"{s3_bucket}/never.bin"
    with pytest.raises(RuntimeError), storage.atomic_write(url) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("crash")
    assert not storage.exists(url)


def test_s3_folder_upload_and_listing(s3_bucket: str) -> None:
    url = f"{s3_bucket}/sorting"
    with storage.atomic_write(url, directory=True) as tmp:
        (tmp / "spike_times.npy").write_bytes(b"1")
        (tmp / "params.py").write_text("sample_rate = 30000.0\n")
    assert storage.is_dir(url)
    assert storage.list_names(url) == ["params.py", "spike_times.npy"]
    with storage.local_copy(url) as local:
        assert sorted(path.name for path in local.iterdir()) == ["params.py", "spike_times.npy"]


def test_explicit_endpoint_wins_over_the_environment(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch, aws_env: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    assert storage.s3_options({"endpoint_url": aws_env})["endpoint_url"] == aws_env
    url = f"{s3_bucket}/explicit.bin"
    with storage.atomic_write(url, storage_options={"endpoint_url": aws_env}) as tmp:
        tmp.write_bytes(b"x")
    assert storage.read_head(url, storage_options={"endpoint_url": aws_env}) == b"x"


def test_leftovers_of_killed_writers_are_removed_for_many_targets_at_once(tmp_path: Path) -> None:
    from neurodatahub.core import scratch

    flat, nested = tmp_path / "out", tmp_path / "out" / "sub-01"
    nested.mkdir(parents=True)
    targets = [flat / "a.h5", flat / "b.h5", nested / "a.h5"]
    leftovers = [scratch.partial_name(target) for target in targets] + [scratch.partial_name(flat / "a.h5")]
    for leftover in leftovers:
        leftover.write_bytes(b"partial")
    kept = [
        scratch.partial_name(flat / "other.h5"),  # not a target of this batch
        flat / f".ndhtmp-zz-1-ab{scratch.PARTIAL}.a.h5",  # not the hub's tag
        flat / "a.h5",
        flat / ".hidden",
    ]
    for path in kept:
        path.write_bytes(b"x")
    urls = [str(target) for target in targets] + [str(tmp_path / "gone" / "c.h5"), "s3://bucket/d.h5"]
    assert storage.remove_leftovers(urls) == len(leftovers)
    assert not any(leftover.exists() for leftover in leftovers)
    assert all(path.exists() for path in kept)
