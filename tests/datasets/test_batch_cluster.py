"""Batches on a real Dask cluster by address (a `dask scheduler` and `dask worker` processes on loopback):
S3 in and out with the storage options carried to workers that have no credentials of their own, never
in a log; a worker killed in the middle of the batch; the address from DASK_SCHEDULER_ADDRESS."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from batch_helpers import pynwb_trains, ragged_tree, same_trains, spike_tree, trains
from cli_helpers import hub

from neurodatahub.datasets.batch import convert_many

SECRET = "hub-secret-7f3a9c0d"  # moto takes any secret: finding this text in a log would be the leak


def test_a_tree_on_s3_converts_on_the_cluster(
    dask_cluster,
    s3_bucket: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import s3fs

    sources = spike_tree(tmp_path / "raw", subjects=3)
    broken = tmp_path / "raw" / "sub-02" / "ses-1" / "sub-02_ses-1_broken.nwb"
    broken.write_bytes(sources[0].read_bytes()[:3000])  # fails on a worker: its error must not leak options
    fs = s3fs.S3FileSystem()
    fs.put(str(tmp_path / "raw"), f"{s3_bucket}/raw", recursive=True)
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # only the options given reach S3
        monkeypatch.delenv(name)
    report = tmp_path / "report.json"
    code, out, err = hub(
        capsys,
        "convert",
        f"{s3_bucket}/raw",
        f"{s3_bucket}/derived/{{relpath}}/{{stem}}.h5",
        "--style",
        "ragged",
        "--scheduler",
        dask_cluster.address,
        "-S",
        "key=testing",
        "-S",
        f"secret={SECRET}",
        "--endpoint-url",
        endpoint,
        "--report",
        str(report),
    )
    assert code == 2, err  # the broken file
    assert out.startswith("3 converted, 0 skipped as complete, 1 failed, 2 ignored")
    assert f"running on the Dask cluster at {dask_cluster.address}" in err
    assert f"failed: {s3_bucket}/raw/sub-02/ses-1/sub-02_ses-1_broken.nwb: " in err
    options = {"key": "testing", "secret": SECRET, "endpoint_url": endpoint}
    for source in sources:
        relative = source.relative_to(tmp_path / "raw").with_suffix(".h5").as_posix()
        written = trains(f"{s3_bucket}/derived/{relative}", storage_options=options)
        assert same_trains(written, pynwb_trains(source))
    assert SECRET not in dask_cluster.logs() and SECRET not in report.read_text() and SECRET not in out + err
    entries = {entry["source"]: entry for entry in json.loads(report.read_text())["entries"]}
    for source in sources:  # sizes as the prefix's listing gave them
        url = f"{s3_bucket}/raw/{source.relative_to(tmp_path / 'raw').as_posix()}"
        assert entries[url]["source_size_bytes"] == source.stat().st_size


def test_a_worker_killed_mid_batch(dask_cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A third worker is killed (SIGKILL) while it converts: Dask runs its task elsewhere, the batch
    completes, every output is whole and the killed writer's temporary file is swept."""
    from distributed import Client

    sources = ragged_tree(tmp_path / "raw", 12)
    victim = dask_cluster.start_worker("worker-victim")
    dask_cluster.wait_for_workers(3)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster.address)
    killed: list[str] = []

    def kill_while_busy(entry: object) -> None:
        if killed:
            return
        with Client(dask_cluster.address, timeout="30s") as client:
            names = {info["name"]: address for address, info in client.scheduler_info()["workers"].items()}
            deadline = time.monotonic() + 30
            while not client.processing(workers=[names["worker-victim"]]).get(names["worker-victim"]):
                assert time.monotonic() < deadline, "the victim never got a task"
                time.sleep(0.01)
            killed.extend(client.processing(workers=[names["worker-victim"]])[names["worker-victim"]])
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)

    out = tmp_path / "out"
    done = convert_many([str(sources)], str(out / "{relpath}" / "{stem}.nwb"), on_entry=kill_while_busy)
    assert killed and victim.returncode == -signal.SIGKILL
    assert done.runs_on == f"the Dask cluster at {dask_cluster.address}"
    assert (done.converted, done.failed, done.not_run) == (12, 0, 0)
    assert not [path for path in out.rglob("*") if path.name.startswith(".")]
    for source in sorted(sources.rglob("*.h5")):
        written = out / source.relative_to(sources).with_suffix(".nwb")
        assert same_trains(trains(str(written)), trains(str(source)))
