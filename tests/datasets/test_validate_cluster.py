"""Dataset validation on Dask: a real `dask scheduler` and two `dask worker` processes on 127.0.0.1
(`--scheduler ADDRESS`), and the local cluster of `--jobs 2`; both give the in-process result."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import mixed
import pytest

from neurodatahub.cli import main

DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        processes += [
            subprocess.Popen(
                [str(DASK), "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                **quiet,
            )
            for _ in range(2)
        ]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Counter]:
    root = tmp_path_factory.mktemp("cluster") / "study"
    return root, Counter(mixed.build(root, subjects=12))


def _problems(capsys: pytest.CaptureFixture, root: Path, *options: str) -> tuple[int, Counter, dict]:
    code = main(["validate", str(root), "--format", "json", "--no-cache", *options])
    report = json.loads(capsys.readouterr().out)
    found = Counter(
        (entry["path"].removeprefix(f"{root}/"), problem["code"])
        for entry in report["files"]
        for problem in entry["problems"]
    )
    return code, found, report


def test_an_existing_cluster_by_address(scheduler: str, dataset, capsys: pytest.CaptureFixture) -> None:
    root, expected = dataset
    code, found, report = _problems(capsys, root, "--scheduler", scheduler)
    assert found == expected and code == 2
    in_process, _, alone = _problems(capsys, root, "-j", "1")
    assert in_process == code
    assert [entry | {"cached": None} for entry in report["files"]] == [
        entry | {"cached": None} for entry in alone["files"]
    ]


def test_a_local_cluster_of_two_workers(dataset, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    from neurodatahub.datasets import running

    monkeypatch.setattr(running, "IN_PROCESS_BELOW", 1)  # ~100 files would stay in this process
    root, expected = dataset
    code, found, _ = _problems(capsys, root, "--jobs", "2")
    assert found == expected and code == 2
