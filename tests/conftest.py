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


@pytest.fixture(autouse=True, scope="session")
def _validation_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`hub validate` remembers results in the user's cache: the tests keep theirs in a temporary one."""
    import os

    before = os.environ.get("NEURODATAHUB_VALIDATE_CACHE")
    os.environ["NEURODATAHUB_VALIDATE_CACHE"] = str(tmp_path_factory.mktemp("validate-cache"))
    yield
    if before is None:
        os.environ.pop("NEURODATAHUB_VALIDATE_CACHE")
    else:
        os.environ["NEURODATAHUB_VALIDATE_CACHE"] = before


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


@pytest.fixture(autouse=True, scope="session")
def _batches_run_in_process() -> Iterator[None]:
    """Batches of the suite run in the test's own process (NEURODATAHUB_JOBS=1) unless a test asks for
    workers or a cluster: a local Dask cluster per CLI test would cost seconds each on 2 shared cores.
    The execution layer's own tests (tests/datasets) start local clusters and `dask_cluster` explicitly."""
    import os

    saved = {name: os.environ.pop(name, None) for name in ("NEURODATAHUB_JOBS", "DASK_SCHEDULER_ADDRESS")}
    os.environ["NEURODATAHUB_JOBS"] = "1"
    try:
        yield
    finally:
        os.environ.pop("NEURODATAHUB_JOBS", None)
        os.environ.update({name: value for name, value in saved.items() if value is not None})


class DaskCluster:
    """A real `dask scheduler` and `dask worker` processes on 127.0.0.1, their logs in files.

    Workers run without a nanny (a test kills one and Dask must notice, not restart it) and without AWS
    variables: S3 works on them only through the storage options a batch passes along.
    """

    def __init__(self, folder: Path) -> None:
        import os

        self.folder = folder
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("AWS_") and name not in ("DASK_SCHEDULER_ADDRESS",)
        }
        self.env["DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED"] = "False"  # as README advises for small tasks
        self.processes: list = []
        self.workers: dict[str, object] = {}

    def _start(self, name: str, *args: str) -> object:
        import subprocess
        import sys

        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT, env=self.env
        )
        self.processes.append(process)
        return process

    def start_scheduler(self) -> None:
        self._start(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"
        )

    def start_worker(self, name: str) -> object:
        process = self._start(
            name,
            "worker",
            self.address,
            "--name",
            name,
            "--nthreads",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            "--local-directory",
            str(self.folder / name),
        )
        self.workers[name] = process
        return process

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(count, timeout=90)

    def logs(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except Exception:
                process.kill()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """One real Dask cluster (a scheduler and two workers on loopback) shared by the suite's cluster tests."""
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.start_scheduler()
        cluster.start_worker("worker-1")
        cluster.start_worker("worker-2")
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.stop()
