"""Storage faults are exit 5 in bounded time, with one line: through a proxy in front of the moto server
that refuses, cuts and stalls connections, and with missing credentials, buckets and bad bucket names.
Each `hub` runs as its own process, as in CI (its asyncio loop, its exit, its stderr)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line
from faulty_proxy import FaultyProxy
from safety_helpers import HUB, hub_process, spike_hdf5

from neurodatahub.core import conversion, summary
from neurodatahub.core.errors import ExitCode

# short limits so that the bounded-time claims are checked in seconds, not minutes
FAST = {
    "NEURODATAHUB_CONNECT_TIMEOUT": "1",
    "NEURODATAHUB_READ_TIMEOUT": "2",
    "NEURODATAHUB_STORAGE_RETRIES": "1",
}
# what the limits above allow at most: two attempts of connect + read, plus start-up and retries' waits
BOUND_SECONDS = 30


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[FaultyProxy]:
    host, port = s3_endpoint.removeprefix("http://").split(":")
    faulty = FaultyProxy((host, int(port)))
    try:
        yield faulty
    finally:
        faulty.close()


@pytest.fixture
def bucket(s3_bucket: str) -> str:
    return s3_bucket


def _through(proxy: FaultyProxy, **more: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": proxy.url, **FAST, **more}


def _client() -> object:
    import boto3

    return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")


def _uploads(bucket: str) -> list[dict]:
    return _client().list_multipart_uploads(Bucket=bucket.removeprefix("s3://")).get("Uploads", [])


def _put(bucket: str, key: str, data: bytes) -> str:
    _client().put_object(Bucket=bucket.removeprefix("s3://"), Key=key, Body=data)
    return f"{bucket}/{key}"


def _big_spikes(tmp_path: Path) -> Path:
    """An 11 MB spike file: its upload is multipart with 5 MiB parts (three of them)."""
    return spike_hdf5(tmp_path / "big.h5", n_units=8, per_unit=170_000)


def test_refused_connections_are_exit_5_at_once(proxy: FaultyProxy, bucket: str) -> None:
    url = _put(bucket, "doc.json", b"{}")
    proxy.mode = "refuse"
    run = hub_process("info", url, env=_through(proxy))
    assert run.code == ExitCode.STORAGE, run.err
    assert "storage backend" in run.one_line() and url in run.err
    assert run.seconds < BOUND_SECONDS


def test_a_server_that_never_answers_times_out(proxy: FaultyProxy, bucket: str) -> None:
    url = _put(bucket, "doc.json", b"{}")
    proxy.mode = "stall"
    run = hub_process("info", url, env=_through(proxy, NEURODATAHUB_READ_TIMEOUT="1"))
    assert run.code == ExitCode.STORAGE, run.err
    assert "timeout" in run.one_line().lower() or "timed out" in run.err.lower()
    assert run.seconds < BOUND_SECONDS


def test_nothing_listening_is_exit_5(
    bucket: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _in_process_env(monkeypatch, {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", **FAST})
    code, _, err = hub(capsys, "info", f"{bucket}/x.json")
    assert code == ExitCode.STORAGE, err
    assert "storage backend" in one_line(err)


def test_a_download_cut_midway_is_exit_5(proxy: FaultyProxy, bucket: str, tmp_path: Path) -> None:
    """Every connection is cut inside the first 2 MiB block: the attempts give up."""
    source = spike_hdf5(tmp_path / "in.h5", n_units=4, per_unit=200_000)  # 6.4 MB, several blocks
    url = _put(bucket, "in.h5", source.read_bytes())
    proxy.mode, proxy.cut_after = "cut", 512 << 10
    run = hub_process("convert", url, str(tmp_path / "out.parquet"), env=_through(proxy))
    assert run.code == ExitCode.STORAGE, run.err
    run.one_line()
    assert run.seconds < BOUND_SECONDS
    assert [path.name for path in tmp_path.iterdir()] == ["in.h5"]  # no output, no temporary left


def test_a_connection_cut_once_is_retried(proxy: FaultyProxy, bucket: str, tmp_path: Path) -> None:
    source = spike_hdf5(tmp_path / "in.h5", n_units=4, per_unit=200_000)
    url = _put(bucket, "in.h5", source.read_bytes())
    proxy.mode, proxy.cut_after, proxy.cut_connections = "cut", 512 << 10, 1
    run = hub_process("convert", url, str(tmp_path / "out.h5"), env=_through(proxy))
    assert run.code == ExitCode.OK, run.err
    assert proxy.cut == 1
    got, expected = conversion.read(str(tmp_path / "out.h5")), conversion.read(str(source))
    assert summary.same(summary.fingerprint(got), summary.fingerprint(expected))


def test_an_upload_cut_midway_is_exit_5_and_leaves_no_multipart_upload(
    proxy: FaultyProxy, bucket: str, tmp_path: Path
) -> None:
    """Every connection is cut after 3 MB: every 5 MiB part breaks; the abort (small) gets through."""
    source = _big_spikes(tmp_path)
    target = f"{bucket}/out.h5"
    proxy.mode, proxy.cut_after = "cut", 3 << 20
    env = _through(proxy, NEURODATAHUB_UPLOAD_PART_SIZE=str(5 << 20))
    run = hub_process("convert", str(source), target, "--no-checksum", env=env)
    assert run.code == ExitCode.STORAGE, run.err
    assert target in run.one_line()
    assert proxy.cut >= 1
    assert _uploads(bucket) == []
    assert not _client().list_objects_v2(Bucket=bucket.removeprefix("s3://")).get("Contents")


def test_a_server_gone_mid_upload_prints_one_line(proxy: FaultyProxy, bucket: str, tmp_path: Path) -> None:
    """After the first megabytes nothing gets through any more, not even the abort: one line, exit 5."""
    source = _big_spikes(tmp_path)
    proxy.mode, proxy.cut_after, proxy.then = "cut", 3 << 20, "gone"
    env = _through(proxy, NEURODATAHUB_UPLOAD_PART_SIZE=str(5 << 20))
    first = hub_process("convert", str(source), f"{bucket}/gone.h5", "--no-checksum", env=env, timeout=60)
    assert first.code == ExitCode.STORAGE, first.err
    first.one_line()
    assert first.seconds < BOUND_SECONDS


def test_an_interrupted_upload_is_aborted(proxy: FaultyProxy, bucket: str, tmp_path: Path) -> None:
    """SIGTERM while a part hangs: the multipart upload started is aborted before the process exits."""
    source = _big_spikes(tmp_path)
    proxy.mode, proxy.cut_after, proxy.then = "cut", 3 << 20, "stall"
    proxy.cut_connections = 1  # later connections (the other parts, the abort) get through
    env = dict(os.environ, **_through(proxy, NEURODATAHUB_UPLOAD_PART_SIZE=str(5 << 20)))
    env["NEURODATAHUB_READ_TIMEOUT"] = "60"  # the part hangs until the signal
    process = subprocess.Popen(
        [*HUB, "convert", str(source), f"{bucket}/out.h5", "--no-checksum"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _uploads(bucket) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _uploads(bucket), "the upload never started"
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == ExitCode.INTERRUPTED, err
    assert "interrupted (SIGTERM)" in err and "Traceback" not in err
    assert _uploads(bucket) == []


def _in_process_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str | None]) -> None:
    """The environment of an in-process `hub` call; s3fs's cached clients (and their credentials) go."""
    import s3fs

    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    s3fs.S3FileSystem.clear_instance_cache()


def test_missing_credentials_are_exit_5(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _in_process_env(
        monkeypatch,
        {
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
            "AWS_PROFILE": None,
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
            **FAST,
        },
    )
    code, _, err = hub(capsys, "info", f"{bucket}/x.json")
    assert code == ExitCode.STORAGE, err
    assert "credentials" in one_line(err).lower()


def test_a_missing_bucket_on_write_is_exit_5(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _in_process_env(monkeypatch, FAST)
    source = spike_hdf5(tmp_path / "in.h5")
    code, _, err = hub(capsys, "convert", str(source), f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/out.h5")
    assert code == ExitCode.STORAGE, err
    assert "bucket does not exist" in one_line(err)


def test_a_bucket_name_s3_rejects_is_exit_5(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _in_process_env(monkeypatch, FAST)
    source = spike_hdf5(tmp_path / "in.h5")
    code, _, err = hub(capsys, "convert", str(source), "s3://Not_A_Valid:Bucket/out.h5")
    assert code == ExitCode.STORAGE, err
    one_line(err)


def test_timeouts_come_from_storage_options_too() -> None:
    from neurodatahub.core import storage

    options = storage.s3_options({"connect_timeout": "3", "read_timeout": 7, "retries": 0})
    assert options["config_kwargs"]["connect_timeout"] == 3.0
    assert options["config_kwargs"]["read_timeout"] == 7.0
    assert storage.attempts({"retries": 0}) == 1 and storage.attempts() == 2
    assert options["config_kwargs"]["retries"] == {"max_attempts": 1, "mode": "standard"}
    assert "connect_timeout" not in options
    with pytest.raises(Exception, match="must be positive"):
        storage.s3_options({"read_timeout": "0"})
    assert np.isclose(storage.s3_options()["config_kwargs"]["read_timeout"], 60)
