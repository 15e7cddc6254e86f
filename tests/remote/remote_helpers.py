"""S3 inputs read by the hub through a byte-counting proxy (tests/byte_proxy.py) in front of moto: what
the proxy counts is what the hub downloaded, HTTP headers included. Files are put on moto directly, so
only the hub's own traffic is counted. (A helper module, not a conftest: tests import `conftest` by name.)"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from byte_proxy import ByteProxy, Counts


@dataclass
class CountedBucket:
    proxy: ByteProxy
    url: str  # s3://bucket
    client: Any  # boto3 client talking to moto directly (not counted)

    def put(self, local: Path, key: str, **extra: Any) -> str:
        """Upload a file (or every file of a folder, under key/) without passing through the proxy."""
        if local.is_dir():
            for path in sorted(local.rglob("*")):
                if path.is_file():
                    self.client.put_object(
                        Bucket=self.bucket, Key=f"{key}/{path.relative_to(local)}", Body=path.read_bytes()
                    )
        else:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=local.read_bytes(), **extra)
        return f"{self.url}/{key}"

    @property
    def bucket(self) -> str:
        return self.url.removeprefix("s3://")

    def measure(self, action: Callable[[], Any]) -> tuple[Any, Counts]:
        """What `action` returns and what it downloaded (each remote file opened afresh)."""
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()  # no listing cached by an earlier step
        self.proxy.reset()
        result = action()
        return result, self.proxy.reset()


@pytest.fixture(name="counted")
def counted_fixture(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CountedBucket]:
    import boto3
    import s3fs

    moto_port = int(aws_env.rsplit(":", 1)[1])
    client = boto3.client("s3", endpoint_url=aws_env)
    name = f"remote-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    with ByteProxy(moto_port, lifetime=600) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        s3fs.S3FileSystem.clear_instance_cache()
        yield CountedBucket(proxy, f"s3://{name}", client)
    s3fs.S3FileSystem.clear_instance_cache()
