"""Byte budgets of remote inputs, counted by a TCP proxy in front of moto (issue 19): `hub convert`
downloads at most 1.1x an input, for every format; `hub validate` reads a file once; `hub info` reads what
it shows (an NWB/HDF5 index and each unit's ends, a tractogram's header and counts, a Parquet footer; an
image's header: test_remote_datasets.py). The digest of the input
is the one its local copy has, or the store's own SHA-256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from remote_helpers import counted_fixture  # noqa: F401

from neurodatahub.cli import main
from neurodatahub.core import conversion, storage
from neurodatahub.core.registry import input_format

N_UNITS = 100
N_SPIKES = 1_000_000
RATE = 30_000.0
BLOCK = 64 * 1024  # core.remote.BLOCK: what one random read fetches
HEADERS = 1024  # HTTP response headers and XML errors, per request, at most


def _spikes(n_units: int = N_UNITS, n_spikes: int = N_SPIKES, seed: int = 0) -> Any:
    from neurodatahub.spikes import common

    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_spikes, rng.dirichlet(np.ones(n_units)))
    counts[3] = 0  # an empty unit
    samples = np.concatenate([np.sort(rng.integers(0, int(600 * RATE), count)) for count in counts])
    return common.build(
        spike_times=samples / RATE,
        spike_times_index=np.cumsum(counts),
        time_unit="s",
        start_time=0.0,
        length=600.0,
        sampling_rate=RATE,
        unit_attributes={"depth": rng.uniform(0, 3000, n_units)},
        metadata={"nwb": {"session_start_time": "2026-01-01T00:00:00+00:00", "subject": {"subject_id": "a"}}},
    )


def _tractogram(path: Path, n_streamlines: int = 6000, seed: int = 1) -> None:
    """A TRK with a per-point scalar and a per-streamline property, written by nibabel (a peer)."""
    import nibabel as nib
    from nibabel.streamlines import ArraySequence, Tractogram, TrkFile

    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 60, n_streamlines)
    points = rng.uniform(20, 80, (n_streamlines, 1, 3)) + rng.normal(0, 1, (n_streamlines, 60, 3)).cumsum(1)
    lines = ArraySequence([points[i, : lengths[i]].astype(np.float32) for i in range(n_streamlines)])
    fa = ArraySequence([rng.uniform(0, 1, (length, 1)).astype(np.float32) for length in lengths])
    tractogram = Tractogram(
        lines,
        data_per_point={"fa": fa},
        data_per_streamline={"weight": rng.uniform(0, 1, (n_streamlines, 1)).astype(np.float32)},
        affine_to_rasmm=np.eye(4),
    )
    header = {"dimensions": (100, 100, 100), "voxel_sizes": (1.0, 1.0, 1.0), "voxel_to_rasmm": np.eye(4)}
    nib.streamlines.save(TrkFile(tractogram, header=header), str(path))


def _pynwb_file(spikes: Any, path: Path) -> None:
    """The same spikes in an NWB file pynwb writes (bulk columns): no hub record in it."""
    from datetime import UTC, datetime

    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import Units

    nwbfile = NWBFile("remote test", "pynwb-made", datetime(2026, 1, 1, tzinfo=UTC))
    times = VectorData(name="spike_times", description="times", data=np.asarray(spikes.spike_times))
    index = VectorIndex(
        name="spike_times_index", data=np.asarray(spikes.spike_times_index, np.uint32), target=times
    )
    ids = ElementIdentifiers(name="id", data=np.asarray(spikes.unit_ids))
    nwbfile.units = Units(name="units", description="bulk", id=ids, columns=[times, index])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)


def _mask(path: Path) -> None:
    """A binary mask whose voxels do not compress away: the header is a small part of the file."""
    import nibabel as nib

    data = (np.random.default_rng(2).random((128, 128, 96)) < 0.3).astype(np.uint8)
    affine = np.diag([1.5, 1.5, 1.5, 1.0])
    nib.save(nib.Nifti1Image(data, affine), str(path))


@pytest.fixture(scope="module")
def local_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    spikes = _spikes()
    paths = {
        "nwb": folder / "in.nwb",
        "h5": folder / "in.h5",
        "parquet": folder / "in.parquet",
        "phy": folder / "sorting.phy",
        "trk": folder / "in.trk",
        "tck": folder / "in.tck",
        "trx": folder / "in.trx",
        "trx_folder": folder / "in_folder.trx",
        "mask": folder / "sub-01_label-lesion_mask.nii.gz",
        "pynwb": folder / "pynwb.nwb",
    }
    for key in ("nwb", "h5", "parquet"):
        conversion.write(spikes, str(paths[key]))
    _pynwb_file(spikes, paths["pynwb"])
    conversion.write(spikes, str(paths["phy"]), format="phy")
    _tractogram(paths["trk"])
    conversion.convert(str(paths["trk"]), str(paths["tck"]))  # keeps the grid in its header keys
    conversion.convert(str(paths["trk"]), str(paths["trx"]))
    conversion.convert(str(paths["trk"]), str(paths["trx_folder"]), to_format="trx-folder")
    _mask(paths["mask"])
    return paths


def _size(path: Path) -> int:
    return storage.size_of(str(path))


CONVERSIONS = [
    ("nwb", "out.h5"),
    ("pynwb", "out.h5"),
    ("h5", "out.nwb"),
    ("parquet", "out.nwb"),
    ("phy", "out.nwb"),
    ("trk", "out.tck"),
    ("tck", "out.trk"),
    ("trx", "out.trk"),
    ("trx_folder", "out.trk"),
    ("mask", "out_mask.nii"),
]


@pytest.mark.parametrize(("key", "target"), CONVERSIONS)
def test_convert_downloads_an_input_once(
    key: str, target: str, local_inputs: dict[str, Path], counted: Any, tmp_path: Path
) -> None:
    local = local_inputs[key]
    url = counted.put(local, local.name)
    report_path = tmp_path / "report.json"
    code, traffic = counted.measure(
        lambda: main(["convert", url, str(tmp_path / target), "--report", str(report_path)])
    )
    assert code == 0
    size = _size(local)
    assert traffic.downloaded <= 1.1 * size, f"{key}: {traffic.downloaded} bytes for a {size}-byte input"
    source = json.loads(report_path.read_text())["source"]
    if local.is_dir():  # a folder has no single digest
        assert "checksum" not in source
        return
    # one pass: the digest of the bytes the reader fetched is the local file's
    assert source["checksum"] == storage.checksum_of(str(local), "xxh3_128")
    assert source["checksum_algorithm"] == "xxh3_128" and source["checksum_source"] == "content"
    assert source["size_bytes"] == size
    assert source["checksum_fetched_bytes"] <= source["fetched_bytes"] <= traffic.downloaded


def test_validate_reads_a_remote_file_once(local_inputs: dict[str, Path], counted: Any) -> None:
    for key in ("nwb", "h5", "trk"):
        url = counted.put(local_inputs[key], local_inputs[key].name)
        code, traffic = counted.measure(lambda url=url: main(["validate", url]))
        assert code == 0
        assert traffic.downloaded <= 1.05 * _size(local_inputs[key]), key


def _info(url: str, capsys: pytest.CaptureFixture) -> dict[str, Any]:
    assert main(["info", url, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("key", "budget"),
    [
        ("nwb", 0.05),  # the index, the attributes, the hub's record of the first and last spike
        ("h5", 0.05),
        ("pynwb", 0.05),  # no record: each unit's first and last spike, one exact range per unit
        ("parquet", 0.05),  # the footer and the run-length encoded unit column
        ("trk", BLOCK + 4 * HEADERS),  # the header; points from the file size
        ("tck", BLOCK + 6 * HEADERS),  # the header and the end marker
        ("trx", 3 * BLOCK + 8 * HEADERS),  # the zip directory at the end, header.json
        ("trx_folder", BLOCK + 8 * HEADERS),  # the listing, header.json; positions never opened
    ],
)
def test_info_reads_what_it_shows(
    key: str, budget: float, local_inputs: dict[str, Path], counted: Any, capsys: pytest.CaptureFixture
) -> None:
    local = local_inputs[key]
    url = counted.put(local, local.name)
    remote, traffic = counted.measure(lambda: _info(url, capsys))
    limit = budget * _size(local) if budget < 1 else budget
    assert traffic.downloaded <= limit, f"{key}: {traffic.downloaded} bytes, at most {limit:.0f}"
    assert traffic.downloaded < 0.5 * _size(local)
    if key in ("nwb", "h5"):  # the hub's own files say where their spikes start and end
        assert len(traffic.requests) <= 12, [request.range for request in traffic.requests]
    # the same facts as a full read of the local file (what `hub info` said before it read only headers)
    spec = input_format(str(local))
    full = conversion.summarize_file(spec, str(local))
    for name, value in full.items():
        assert remote[name] == pytest.approx(value) if isinstance(value, float) else remote[name] == value


def test_info_of_hdf5_reports_its_page_size(
    counted: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A file written with paged aggregation is fetched a page at a time; `hub info` says its page size."""
    import h5py

    path, paged = tmp_path / "plain.h5", tmp_path / "paged.h5"
    conversion.write(_spikes(n_units=40, n_spikes=400_000, seed=3), str(path))
    with h5py.File(path) as source, h5py.File(paged, "w", fs_strategy="page", fs_page_size=16384) as copy:
        for name in source:
            source.copy(source[name], copy, name)
        copy.attrs.update(source.attrs)
    url = counted.put(paged, "paged.h5")
    summary, traffic = counted.measure(lambda: _info(url, capsys))
    plain = _info(str(path), capsys)
    assert summary["hdf5_page_size"] == 16384 and plain["hdf5_page_size"] is None
    assert {**summary, "path": "", "hdf5_page_size": None} == {**plain, "path": ""}
    assert traffic.downloaded <= 0.05 * _size(paged)


def _unused_dataset_file(tmp_path: Path) -> tuple[Path, int]:
    """A spike file with 4 MB the spike reader never reads (a raw signal under another name)."""
    import h5py

    path = tmp_path / "with_raw.h5"
    conversion.write(_spikes(n_units=20, n_spikes=300_000, seed=4), str(path))
    unused = np.random.default_rng(5).random(512 * 1024)
    with h5py.File(path, "a") as file:
        file.create_dataset("raw_unused", data=unused)
    return path, unused.nbytes


def test_skipped_ranges_are_fetched_once_for_the_digest(counted: Any, tmp_path: Path) -> None:
    path, unused = _unused_dataset_file(tmp_path)
    url = counted.put(path, "with_raw.h5")
    report, traffic = counted.measure(lambda: conversion.convert(url, str(tmp_path / "out.nwb")))
    assert report.source.checksum == storage.checksum_of(str(path), "xxh3_128")
    # the ranges the reader skipped (less what whole blocks around its own reads brought), for the digest
    assert report.source.checksum_fetched_bytes >= unused - 2 * BLOCK
    assert report.source.fetched_bytes == path.stat().st_size  # every byte, once
    assert traffic.downloaded <= 1.1 * path.stat().st_size


def test_a_whole_object_sha256_from_the_store_is_used_as_is(counted: Any, tmp_path: Path) -> None:
    """S3's x-amz-checksum-sha256 of a single-part upload is the digest: nothing is fetched for it, so the
    4 MB the reader does not need are never downloaded."""
    path, unused = _unused_dataset_file(tmp_path)
    url = counted.put(path, "sha.h5", ChecksumAlgorithm="SHA256")
    report, traffic = counted.measure(lambda: conversion.convert(url, str(tmp_path / "out.nwb")))
    source = report.source
    assert source.checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert source.checksum_algorithm == "sha256" and source.checksum_source == "object_store"
    assert source.checksum_fetched_bytes == 0
    assert traffic.downloaded <= path.stat().st_size - unused + 256 * 1024


def test_a_multipart_checksum_is_not_taken_for_a_digest(counted: Any, tmp_path: Path) -> None:
    """A multipart upload's SHA-256 is a digest of its parts' digests, not of the content (and its ETag no
    digest at all): the digest is computed from the bytes instead."""
    path = tmp_path / "big.nwb"
    conversion.write(_spikes(n_units=30, n_spikes=1_000_000, seed=6), str(path))
    data = path.read_bytes()
    client, bucket, key = counted.client, counted.bucket, "multipart.nwb"
    upload = client.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")
    parts = []
    for number, start in enumerate(range(0, len(data), 5 * 1024 * 1024), start=1):
        part = client.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data[start : start + 5 * 1024 * 1024],
            ChecksumAlgorithm="SHA256",
        )
        parts.append({"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]})
    assert len(parts) > 1
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    url = f"{counted.url}/{key}"
    report, traffic = counted.measure(lambda: conversion.convert(url, str(tmp_path / "o.h5")))
    assert report.source.checksum_source == "content" and report.source.checksum_algorithm == "xxh3_128"
    assert report.source.checksum == storage.checksum_of(str(path), "xxh3_128")
    assert traffic.downloaded <= 1.1 * len(data)


def test_a_remote_output_is_not_downloaded_to_be_described(
    local_inputs: dict[str, Path], counted: Any, tmp_path: Path
) -> None:
    url = counted.put(local_inputs["nwb"], "in.nwb")
    target = f"{counted.url}/out.h5"
    report, traffic = counted.measure(lambda: conversion.convert(url, target))
    assert traffic.downloaded <= 1.1 * _size(local_inputs["nwb"])
    uploaded = counted.client.get_object(Bucket=counted.bucket, Key="out.h5")["Body"].read()
    (tmp_path / "out.h5").write_bytes(uploaded)
    assert report.target.checksum == storage.checksum_of(str(tmp_path / "out.h5"), "xxh3_128")
    assert report.target.size_bytes == len(uploaded)
