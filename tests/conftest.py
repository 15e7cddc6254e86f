"""Shared fixtures: a real S3-protocol server on loopback, the peers' data in ../shared, test documents."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# before any test module imports h5py: the hub sets how HDF5 resolves externally stored data at that
# import (core/codecs/hdf5.py), as it does in the `hub` process
import neurodatahub.core.codecs.hdf5  # noqa: F401

TESTS = Path(__file__).resolve().parent
DOCUMENTS = TESTS / "data"
SHARED_DATA = TESTS.parent.parent / "shared" / "data"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto in server mode on 127.0.0.1: s3fs talks HTTP to it exactly as to AWS."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> str:
    """Credentials and endpoint through the standard AWS variables, as a user would set them."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return s3_endpoint


@pytest.fixture
def s3_bucket(aws_env: str) -> str:
    """A fresh bucket; returns its s3:// URL prefix."""
    import s3fs

    name = f"test-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(endpoint_url=aws_env).mkdir(name)
    s3fs.S3FileSystem.clear_instance_cache()
    return f"s3://{name}"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"peer test data not found at {SHARED_DATA} (outside the workplace checkout)")
    return SHARED_DATA
