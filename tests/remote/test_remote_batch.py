"""Requests of a batch on S3 (issue 12), counted by the proxy in front of moto: a file the input's listing
gave is planned with one request and converted with one more (its size and its being a file come from the
listing; a small one is fetched whole, with S3's checksum), whether targets exist is found with a listing
or two for the whole output tree, and dataset validation of a prefix asks one request a small file.
On S3 each request is a round trip of tens of milliseconds: a batch of thousands of files pays for each.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from remote_helpers import counted_fixture  # noqa: F401
from test_remote_budgets import _pynwb_file, _spikes

from neurodatahub.core import remote, storage
from neurodatahub.core.errors import InputError
from neurodatahub.datasets import batch, plan


@pytest.fixture(scope="module")
def small_nwb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NWB file pynwb writes, smaller than core.remote.SMALL_OBJECT."""
    path = tmp_path_factory.mktemp("small") / "session.nwb"
    _pynwb_file(_spikes(n_units=8, n_spikes=2_000, seed=3), path)
    assert path.stat().st_size <= remote.SMALL_OBJECT
    return path


def _planned(url: str, size: int | None) -> plan.Entry:
    source = plan.Source(url, "sub-01/session.nwb", size=size)
    destination = url.rsplit("/raw/", 1)[0] + "/out/{relpath}/{stem}.h5"
    return plan.plan_source(source, destination=destination, from_format=None, to_format=None, kind=None)


def test_a_listed_file_is_planned_with_one_request(small_nwb: Path, counted: Any) -> None:
    url = counted.put(small_nwb, "raw/sub-01/session.nwb")
    size = small_nwb.stat().st_size
    listed, traffic = counted.measure(lambda: _planned(url, size))
    assert [(request.method, request.range) for request in traffic.requests] == [("GET", None)]
    unlisted, _ = counted.measure(lambda: _planned(url, None))  # named directly: asked for its size
    assert replace(unlisted, source=listed.source) == listed
    assert (listed.status, listed.found_format, listed.size) == (plan.TODO, ("spikes", "nwb"), size)
    assert listed.target == f"{counted.url}/out/sub-01/session.h5"


def test_existing_targets_are_found_by_listing_their_folders_from_the_top(
    small_nwb: Path, counted: Any, tmp_path: Path
) -> None:
    (tmp_path / "phy").mkdir()
    (tmp_path / "phy" / "params.py").write_text("sample_rate = 30000.0\n")
    for key in ("out/a/x.h5", "out/a/y.h5", "out/b/deep/z.h5"):
        counted.put(small_nwb, key)
    counted.put(tmp_path / "phy", "out/b/sorting")  # a folder target
    there = [f"{counted.url}/{key}" for key in ("out/a/x.h5", "out/b/deep/z.h5", "out/b/sorting")]
    absent = [
        f"{counted.url}/{key}"
        for key in ("out/a/w.h5", "out/b/deep/y.h5", "out/c/d/e/f.h5", "out/a/x.h5/inside", "out/b/deep")
    ]
    one_by_one = {url for url in there + absent if storage.exists(url)}
    found, traffic = counted.measure(lambda: storage.existing(there + absent))
    assert found == one_by_one == set(there) | {f"{counted.url}/out/b/deep"}
    # out/, out/a/, out/b/, out/b/deep/ and out/a/x.h5/ (a file: s3fs lists its parent to tell); never
    # out/c/, which out/'s listing showed absent
    assert len(traffic.requests) <= 6 < 2 * len(there + absent)
    assert not any("prefix=out%2Fc" in request.path for request in traffic.requests)
    nothing, traffic = counted.measure(
        lambda: storage.existing([f"{counted.url}/new/{n}/x.h5" for n in range(40)])
    )
    assert nothing == set() and len(traffic.requests) <= 2  # a new tree: its top folder, and the bucket


def test_a_batch_on_s3_makes_a_few_requests_a_file(small_nwb: Path, counted: Any, tmp_path: Path) -> None:
    """Small files: the planning's GET, the conversion's GET (the whole object, with S3's checksum: no
    HEAD), the PUT. A larger file is read by ranges and asks its HEAD once, for the digest. Every digest
    is the one a HEAD-first read records: S3's SHA-256 of a single-part upload, else the content's."""
    import hashlib

    files = 6
    for n in range(files - 1):
        counted.put(small_nwb, f"raw/sub-{n}/session.nwb")
    counted.put(small_nwb, f"raw/sub-{files - 1}/session.nwb", ChecksumAlgorithm="SHA256")
    large = tmp_path / "large.nwb"
    _pynwb_file(_spikes(n_units=8, n_spikes=60_000, seed=4), large)
    assert large.stat().st_size > remote.SMALL_OBJECT
    counted.put(large, "raw/sub-large/session.nwb")
    done, traffic = counted.measure(
        lambda: batch.convert_many(
            f"{counted.url}/raw",
            f"{counted.url}/out/{{relpath}}/{{stem}}.h5",
            jobs=1,
            options={"style": "ragged"},
        )
    )
    assert batch.summary(done).startswith(f"{files + 1} converted")
    per_file = [
        request
        for request in traffic.requests
        if "/session." in request.path and "list-type" not in request.path
    ]
    small = [request for request in per_file if "sub-large" not in request.path]
    assert sorted(request.method for request in small) == ["GET"] * 2 * files + ["PUT"] * files
    assert [request.method for request in per_file if "sub-large" in request.path].count("HEAD") == 1
    # whether the targets exist: out/ listed, and the bucket (s3fs's look for out as a file); the rest
    # of the requests list the inputs' folders
    outputs = [
        request for request in traffic.requests if "prefix=out" in request.path or "prefix=&" in request.path
    ]
    assert len(outputs) <= 2
    sources = {entry.source.rsplit("/", 2)[1]: entry.conversion.source for entry in done.entries}
    stored = sources.pop(f"sub-{files - 1}")
    assert (stored.checksum_source, stored.checksum) == (
        "object_store",
        hashlib.sha256(small_nwb.read_bytes()).hexdigest(),
    )
    assert sources.pop("sub-large").checksum == storage.checksum_of(str(large), "xxh3_128")
    for source in sources.values():
        assert (source.checksum_source, source.checksum) == (
            "content",
            storage.checksum_of(str(small_nwb), "xxh3_128"),
        )


def test_one_file_is_told_from_a_folder_by_the_head_its_reads_use(
    small_nwb: Path, counted: Any, tmp_path: Path
) -> None:
    from neurodatahub.core import conversion

    url = counted.put(small_nwb, "raw/session.nwb")
    _, traffic = counted.measure(
        lambda: conversion.convert(url, str(tmp_path / "out.h5"), options={"style": "ragged"})
    )
    assert [request.method for request in traffic.requests] == ["HEAD", "GET"]
    with pytest.raises(InputError, match="no such file or directory"):
        conversion.convert(f"{counted.url}/raw/absent.nwb", str(tmp_path / "absent.h5"))


def test_validating_a_prefix_of_small_files_asks_one_get_a_file(small_nwb: Path, counted: Any) -> None:
    from neurodatahub.cli import main

    for n in range(4):
        counted.put(small_nwb, f"lab/sub-{n}/session.nwb")
    code, traffic = counted.measure(
        lambda: main(["validate", f"{counted.url}/lab/", "-j", "1", "--no-cache"])
    )
    assert code == 0
    of_files = [request for request in traffic.requests if "list-type" not in request.path]
    assert [(request.method, request.range) for request in of_files] == [("GET", None)] * 4
