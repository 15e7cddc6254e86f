"""Remote reads (issue 19): what `hub info`, `hub validate` and `hub convert` download from S3, per format.

A moto server on 127.0.0.1 holds the inputs; every `hub` command runs as a whole process against a
byte-counting TCP proxy in front of it (tests/byte_proxy.py), so the figures are what crossed the wire,
HTTP headers included: bytes (against the input's size) and requests. Each command is timed beside the
same command on the local file (remote_s is dominated by the test server when requests are many: moto
copies the whole object, under the key's lock, to answer each ranged GET, so a request costs time in
proportion to the file's size; on S3 it does not). Targets: convert <= 1.1x the input for every format,
validate <= 1.1x, info of an NWB/HDF5 spike file or a Parquet table <= 5% of it, of a tractogram its header
and counts (< 1%), of a NIfTI mask its header (a 64 KiB block of the 1.5 MB file: a remote image's
`hub info` reads no voxel; a local one is read whole for its voxel counts).

Inputs: the NWB of bench_spikes.make_inputs (2,000 units, 10 M spikes, 80 MB) with its HDF5 ragged and Phy
copies, the same spikes as pynwb writes them (bulk columns, chunked, no hub record: `hub info` reads each
unit's first and last spike, one exact range per unit; the hub's own files record them) and a Parquet table
the hub makes; a 300 MB TRK from bench_tractograms.make_trk (830 k streamlines) with the TCK and TRX the hub
makes from it; a random binary mask on the 1 mm MNI grid as .nii.gz. Uploaded the way boto3 uploads big
files (multipart, so S3 holds no whole-object SHA-256 and the hub hashes the bytes it reads); one more case
uploads the NWB in one part with a SHA-256, which the hub takes as the digest instead.

Peers, same proxy, same run: h5py over remfile 0.1.15 (HTTP range requests with adaptive chunks; h5py's
wheels are built without the ros3 driver, `h5py.get_config().ros3` is False) and h5py over s3fs's default
file object, doing the same jobs as `hub info` (the index, the unit ids and each unit's first and last
spike) and as a full read (every spike time).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the byte-counting proxy the remote tests use

BUCKET = "bench-remote"
TRK_STREAMLINES = 830_000  # about 300 MB with 20-40 points per streamline
MB = 1e6

CONVERSIONS = {  # input key -> output file name
    "nwb": "out.h5",
    "pynwb": "out.h5",
    "h5": "out.nwb",
    "parquet": "out.nwb",
    "phy": "out.nwb",
    "trk": "out.tck",
    "tck": "out.trk",
    "trx": "out.trk",
    "mask": "out_mask.nii",
}
INFO_TARGETS = {
    "nwb": 0.05,
    "pynwb": 0.05,
    "h5": 0.05,
    "parquet": 0.05,
    "trk": 0.01,
    "tck": 0.01,
    "trx": 0.01,
    "mask": 0.1,
}

PEER_SCRIPT = r"""
import json, sys, time
import h5py, numpy as np
how, url, job = sys.argv[1:4]
started = time.perf_counter()
if how == "remfile":
    import remfile
    handle = remfile.File(url)
else:
    import s3fs
    handle = s3fs.S3FileSystem().open(url, "rb")
with h5py.File(handle, "r") as file:
    units = file["units"]
    index = units["spike_times_index"][()].astype(np.int64)
    ids = units["id"][()]
    if job == "info":
        starts = np.concatenate([[0], index[:-1]])
        filled = index > starts
        rows = np.unique(np.concatenate([starts[filled], index[filled] - 1]))
        ends = units["spike_times"][rows]
    else:
        times = units["spike_times"][()]
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _hub() -> str:
    return shutil.which("hub", path=str(Path(sys.executable).parent)) or "hub"


def _inputs(folder: Path) -> dict[str, Path]:
    import h5py
    import nibabel as nib
    from bench_spikes import _pynwb_write, make_inputs
    from bench_tractograms import make_trk

    from neurodatahub.core import conversion

    paths = make_inputs(folder)
    paths["pynwb"] = folder / "pynwb.nwb"  # the same spikes as pynwb writes them (chunked, no hub record)
    with h5py.File(paths["nwb"], "r") as source:
        _pynwb_write(
            source["units/spike_times"][()], source["units/spike_times_index"][()], str(paths["pynwb"])
        )
    paths["parquet"] = folder / "in.parquet"
    conversion.convert(str(paths["nwb"]), str(paths["parquet"]))
    paths["trk"] = folder / "in.trk"
    make_trk(paths["trk"], TRK_STREAMLINES)
    for key in ("tck", "trx"):
        paths[key] = folder / f"in.{key}"
        conversion.convert(str(paths["trk"]), str(paths[key]))
    paths["mask"] = folder / "sub-01_space-MNI152NLin6Asym_label-lesion_mask.nii.gz"
    data = (np.random.default_rng(0).random((182, 218, 182)) < 0.3).astype(np.uint8)
    affine = np.array([[-1.0, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(data, affine), str(paths["mask"]))
    return paths


def _size(path: Path) -> int:
    from neurodatahub.core import storage

    return storage.size_of(str(path))


def _upload(client: Any, path: Path, key: str) -> str:
    """As boto3 uploads big files: multipart above 8 MB (no whole-object SHA-256 in S3)."""
    if path.is_dir():
        for item in sorted(path.rglob("*")):
            if item.is_file():
                client.upload_file(str(item), BUCKET, f"{key}/{item.relative_to(path)}")
    else:
        client.upload_file(str(path), BUCKET, key)
    return f"s3://{BUCKET}/{key}"


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - started


def _measure(proxy: Any, command: list[str], env: dict[str, str]) -> dict[str, float]:
    proxy.reset()
    seconds = _timed(command, env)
    counts = proxy.reset()
    return {"seconds": seconds, "downloaded": counts.downloaded, "requests": len(counts.requests)}


def _row(
    command: str, key: str, size: int, remote: dict[str, float], local_s: float | None, target: float | None
) -> dict[str, Any]:
    ratio = remote["downloaded"] / size
    row: dict[str, Any] = {
        "name": f"hub {command} s3://.../{key} ({size / MB:.0f} MB): downloaded / file size (whole process)",
        "value": ratio,
        "unit": "x file size",
        "downloaded_mb": remote["downloaded"] / MB,
        "file_mb": size / MB,
        "requests": remote["requests"],
        "remote_s": remote["seconds"],
        "local_s": local_s,
        "compared_with": f"the file's size; hub {command} of the local file in the same run (local_s)",
    }
    if target is not None:
        row.update(target=f"<= {target:g}x the file", meets_target=ratio <= target)
    return row


def _peer_rows(proxy: Any, path: Path, url: str, env: dict[str, str]) -> list[dict]:
    import boto3

    presigned = boto3.client("s3", endpoint_url=proxy.url).generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": url.rsplit("/", 1)[1]}, ExpiresIn=3600
    )
    rows = []
    size = _size(path)
    for how, where in (("remfile", presigned), ("s3fs", url)):
        for job in ("info", "full read"):
            proxy.reset()
            done = subprocess.run(
                [sys.executable, "-c", PEER_SCRIPT, how, where, job.split()[0]],
                capture_output=True,
                text=True,
                env=env,
            )
            counts = proxy.reset()
            if done.returncode:
                raise RuntimeError(f"h5py over {how}, {job}: {done.stderr.strip()[-500:]}")
            name = f"h5py over {how}: {job} of the pynwb NWB ({size / MB:.0f} MB)"
            rows.append(
                {
                    "name": f"{name}: downloaded / file size",
                    "value": counts.downloaded / size,
                    "unit": "x file size",
                    "downloaded_mb": counts.downloaded / MB,
                    "requests": len(counts.requests),
                    "remote_s": json.loads(done.stdout)["seconds"],
                    "compared_with": "hub info (index, unit ends) / hub validate (every spike), same file",
                }
            )
    return rows


def run() -> list[dict]:
    import boto3
    from byte_proxy import ByteProxy
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    credentials = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    os.environ.update(credentials)
    rows: list[dict] = []
    try:
        client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}")
        client.create_bucket(Bucket=BUCKET)
        with (
            tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp,
            ByteProxy(port, lifetime=3600) as proxy,
        ):
            folder = Path(tmp)
            (folder / "in").mkdir()
            paths = _inputs(folder / "in")
            urls = {key: _upload(client, path, path.name) for key, path in paths.items()}
            env = {**os.environ, **credentials, "AWS_ENDPOINT_URL": proxy.url}
            out = folder / "out"
            out.mkdir()
            hub = _hub()
            for key, path in paths.items():
                size = _size(path)
                remote = _measure(proxy, [hub, "info", urls[key], "--json"], env)
                local = _timed([hub, "info", str(path), "--json"], env)
                rows.append(_row("info", key, size, remote, local, INFO_TARGETS.get(key)))
            for key in CONVERSIONS:
                size = _size(paths[key])
                remote = _measure(proxy, [hub, "validate", urls[key]], env)
                local = _timed([hub, "validate", str(paths[key])], env)
                rows.append(_row("validate", key, size, remote, local, 1.1))
            for key, target in CONVERSIONS.items():
                size = _size(paths[key])
                destination = out / target
                remote = _measure(proxy, [hub, "convert", urls[key], str(destination), "--overwrite"], env)
                local = _timed([hub, "convert", str(paths[key]), str(destination), "--overwrite"], env)
                rows.append(_row("convert", key, size, remote, local, 1.1))
            # one part with S3's SHA-256: the store's digest is used, the skipped ranges are not fetched
            client.put_object(
                Bucket=BUCKET, Key="sha256.nwb", Body=paths["nwb"].read_bytes(), ChecksumAlgorithm="SHA256"
            )
            remote = _measure(
                proxy, [hub, "convert", f"s3://{BUCKET}/sha256.nwb", str(out / "o.h5"), "--overwrite"], env
            )
            row = _row("convert", "sha256.nwb", _size(paths["nwb"]), remote, None, 1.1)
            row["note"] = (
                "single-part upload with x-amz-checksum-sha256: recorded as the digest (object_store)"
            )
            rows.append(row)
            rows += _peer_rows(proxy, paths["pynwb"], urls["pynwb"], env)
    finally:
        server.stop()
    return rows
