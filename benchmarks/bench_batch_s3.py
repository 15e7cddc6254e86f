"""A batch on S3 (issue 12): what `hub convert s3://.../raw/ s3://.../out/{relpath}/{stem}.h5` asks the
store, and what that costs when each request is a round trip to a distant store.

50 NWB files written by pynwb (as bench_batch's, 10,000 spikes each, about 180 kB) are put on a moto
server on 127.0.0.1; every `hub` command runs as a whole process against the byte-counting proxy of the
remote tests (tests/byte_proxy.py), which holds each request ROUND_TRIP seconds on its way (moto on
loopback answers in about a millisecond; S3 from a lab or another region takes tens). Measured: the batch
in one process (-j 1: the requests are the point, not the cores), its requests a file (the listing of the
input tree aside) and its time; against, in the same run, `hub convert` of single files from the same
bucket (what a shell loop over the files, or a workflow tool's job per file, pays a file).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the remote tests' proxy

from bench_batch import _hub, _nwb_dataset

FILES = 50
SINGLES = 5  # files converted one `hub convert` each
ROUND_TRIP = 0.02  # seconds
BUCKET = "bench-batch-s3"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], env: dict[str, str], proxy: Any) -> tuple[float, Any]:
    proxy.reset()
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - started, proxy.reset()


def _per_file(counts: Any) -> int:
    """Requests naming one file (GET, HEAD, PUT of an object), not listings of folders."""
    return sum(
        1
        for request in counts.requests
        if "list-type" not in request.path and (".nwb" in request.path or ".h5" in request.path)
    )


def run() -> list[dict]:
    import logging

    import boto3
    from byte_proxy import ByteProxy
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-batch-s3-") as tmp:
            raw = _nwb_dataset(Path(tmp) / "raw", FILES)
            client = boto3.client(
                "s3",
                endpoint_url=f"http://127.0.0.1:{port}",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
                region_name="us-east-1",
            )
            client.create_bucket(Bucket=BUCKET)
            keys = []
            for path in sorted(raw.rglob("*.nwb")):
                keys.append(f"raw/{path.relative_to(raw).as_posix()}")
                client.put_object(Bucket=BUCKET, Key=keys[-1], Body=path.read_bytes())
            with ByteProxy(port, delay=ROUND_TRIP) as proxy:
                env = {
                    **os.environ,
                    "AWS_ENDPOINT_URL": proxy.url,
                    "AWS_ACCESS_KEY_ID": "bench",
                    "AWS_SECRET_ACCESS_KEY": "bench",
                    "AWS_DEFAULT_REGION": "us-east-1",
                }
                hub = _hub()
                batch = [
                    hub,
                    "convert",
                    f"s3://{BUCKET}/raw",
                    f"s3://{BUCKET}/out/{{relpath}}/{{stem}}.h5",
                    "--style",
                    "ragged",
                    "-j",
                    "1",
                ]
                batch_seconds, batch_counts = _run(batch, env, proxy)
                singles = [
                    _run(
                        [
                            hub,
                            "convert",
                            f"s3://{BUCKET}/{key}",
                            f"s3://{BUCKET}/single/{Path(key).stem}.h5",
                            "--style",
                            "ragged",
                        ],
                        env,
                        proxy,
                    )
                    for key in keys[:SINGLES]
                ]
    finally:
        server.stop()
    single_seconds = statistics.median(seconds for seconds, _ in singles)
    single_requests = statistics.median(_per_file(counts) for _, counts in singles)
    batch_requests = _per_file(batch_counts) / FILES
    listings = len(batch_counts.requests) - _per_file(batch_counts)
    what = (
        f"{FILES} NWB files (pynwb, 10,000 spikes each) on S3 -> ragged HDF5 on S3,"
        f" {ROUND_TRIP * 1000:.0f} ms a request"
    )
    return [
        {
            "name": f"hub convert of an S3 prefix (-j 1, whole process), {what}: requests a file",
            "value": batch_requests,
            "unit": "requests",
            "compared_with": "hub convert of one S3 file per process, same bucket, same run",
            "single_file_requests": single_requests,
            "listing_requests": listings,
            "seconds": batch_seconds,
            "seconds_a_file": batch_seconds / FILES,
        },
        {
            "name": f"hub convert of one S3 file (whole process, median of {SINGLES}), {what}",
            "value": single_seconds,
            "unit": "s",
            "requests": single_requests,
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
