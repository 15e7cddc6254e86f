"""core.remote: whatever a reader asks for, in any order, it gets the file's bytes, no byte is fetched
twice, and the digest is the whole file's. Run over fsspec's memory filesystem, instrumented to record the
ranges asked of it (the S3 figures are in test_remote_budgets.py, counted on the wire)."""

from __future__ import annotations

import hashlib
import io
import itertools
from typing import Any, ClassVar

import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from hypothesis import given, settings, strategies as st

from neurodatahub.core import remote, storage


class RecordingMemory(MemoryFileSystem):
    """fsspec's in-memory filesystem, remembering every byte range fetched from each of its files."""

    cachable = False
    fetched_from: ClassVar[dict[str, list[tuple[int, int]]]] = {}

    @property
    def fetched(self) -> list[tuple[int, int]]:
        return self.fetched_from.setdefault(self.recorded, [])

    def record(self, path: str) -> RecordingMemory:
        self.recorded = self._strip_protocol(path)
        self.fetched_from[self.recorded] = []
        return self

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        data = super().cat_file(path, start=start, end=end, **kwargs)
        begin = start or 0
        self.fetched_from.setdefault(self._strip_protocol(path), []).append((begin, begin + len(data)))
        return data


def _object(data: bytes, name: str = "/data.bin") -> tuple[RecordingMemory, remote.RemoteObject]:
    fs = RecordingMemory().record(name)
    fs.pipe_file(name, data)
    return fs, remote.RemoteObject.open(fs, name, f"memory://{name}")


def _never_twice(fetched: list[tuple[int, int]]) -> None:
    ordered = sorted(fetched)
    for (_, end), (start, _) in itertools.pairwise(ordered):
        assert start >= end, f"bytes {start}..{end} were fetched twice"


def _xxh3(data: bytes) -> str:
    import xxhash

    return xxhash.xxh3_128(data).hexdigest()


reads = st.lists(st.tuples(st.integers(0, 300_000), st.integers(0, 70_000)), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(reads=reads, seed=st.integers(0, 2**16))
def test_any_reads_get_the_bytes_fetch_each_once_and_hash_the_whole_file(
    reads: list[tuple[int, int]], seed: int
) -> None:
    data = np.random.default_rng(seed).bytes(300_000)  # more than SMALL_OBJECT: fetched by blocks
    fs, source = _object(data)
    handle = remote.RemoteFile(source)
    for offset, size in reads:
        handle.seek(offset)
        assert handle.read(size) == data[offset : offset + size]
    digest = source.digest()
    assert digest.value == _xxh3(data) and digest.algorithm == "xxh3_128" and digest.source == "content"
    _never_twice(fs.fetched)
    assert sum(end - start for start, end in fs.fetched) == len(data) == digest.fetched_bytes


def test_a_small_object_is_fetched_whole_by_its_first_read() -> None:
    data = np.random.default_rng(3).bytes(remote.SMALL_OBJECT)
    fs, source = _object(data)
    handle = remote.RemoteFile(source)
    handle.seek(200_000)
    assert handle.read(10) == data[200_000:200_010]
    handle.seek(0)
    assert handle.read() == data
    assert fs.fetched == [(0, len(data))]
    fs, source = _object(data + b"x")  # one byte more: a block
    assert remote.RemoteFile(source).read(10) == data[:10] and fs.fetched == [(0, remote.BLOCK)]


def test_sequential_reads_grow_their_requests() -> None:
    data = np.random.default_rng(0).bytes(40 * 1024 * 1024)
    fs, source = _object(data)
    handle = remote.RemoteFile(source)
    while handle.read(100_000):
        pass
    sizes = [end - start for start, end in fs.fetched]
    assert len(sizes) < 15 and max(sizes) == remote.PART  # readahead reached whole parts
    assert source.digest().checksum_fetched_bytes == 0 and source.digest().value == _xxh3(data)


def test_exact_ranges_are_fetched_together_and_only_them() -> None:
    data = np.random.default_rng(1).bytes(1_000_000)
    fs, source = _object(data)
    wanted = [(start, start + 16) for start in range(1000, 990_000, 9_000)]
    assert source.read_ranges(wanted) == [data[start:end] for start, end in wanted]
    assert sum(end - start for start, end in fs.fetched) == 16 * len(wanted)
    close = [(100, 108), (600, 620)]  # nearer than MERGE_GAP: one request, the gap included
    before = len(fs.fetched)
    assert source.read_ranges(close) == [data[100:108], data[600:620]]
    assert fs.fetched[before:] == [(100, 620)]


def test_a_local_copy_reuses_what_was_fetched(tmp_path: Any) -> None:
    data = np.random.default_rng(2).bytes(300_000)
    fs, source = _object(data)
    remote.RemoteFile(source).read(1000)
    copy = source.local_copy(tmp_path)
    assert copy.read_bytes() == data
    _never_twice(fs.fetched)
    handle = remote.RemoteFile(source)  # now served from the copy
    handle.seek(299_990)
    assert handle.read() == data[299_990:] and source.digest().value == _xxh3(data)


def test_past_its_budget_the_spool_drops_hashed_segments_first() -> None:
    data = np.random.default_rng(3).bytes(200_000)
    _, source = _object(data)
    source._spool = remote.Spool(segment=16_384)  # small segments and budget: eviction at test scale
    source._budget = 3 * 16_384
    handle = remote.RemoteFile(source)
    assert b"".join(iter(lambda: handle.read(10_000), b"")) == data
    assert source._spool.bytes_held <= 3 * 16_384
    handle.seek(1000)
    assert handle.read(5000) == data[1000:6000]  # dropped, fetched again: correct, if not once
    assert source.digest().value == _xxh3(data)


def test_the_file_object_reads_lines_and_seeks_like_a_file() -> None:
    data = b"first line\nsecond\n\nlast without newline"
    _, source = _object(data)
    handle = remote.RemoteFile(source)
    assert handle.readline() == b"first line\n" and handle.tell() == 11
    assert list(handle) == [b"second\n", b"\n", b"last without newline"]
    assert handle.seek(-4, io.SEEK_END) == len(data) - 4 and handle.read() == b"line"
    assert handle.seek(2) == 2 and handle.read(3) == b"rst" and handle.size == len(data)
    with pytest.raises(OSError, match="before the start"):
        handle.seek(-1)
    wrapped = io.TextIOWrapper(remote.RemoteFile(source), encoding="utf-8")
    assert wrapped.read().splitlines()[1] == "second"


def test_a_session_fetches_a_file_once_however_often_it_is_opened() -> None:
    data = np.random.default_rng(4).bytes(100_000)
    fs = RecordingMemory().record("/shared.bin")
    fs.pipe_file("/shared.bin", data)
    with remote.session():
        for _ in range(3):
            with remote.opened(fs, "/shared.bin", "memory:///shared.bin") as source:
                assert remote.RemoteFile(source).read() == data
        with remote.session() as inner:  # nested scopes are the outer one
            assert inner.find("memory:///shared.bin") is source
    _never_twice(fs.fetched)
    assert remote.current() is None
    with remote.opened(fs, "/shared.bin", "memory:///shared.bin") as alone:  # no scope: this open only
        remote.RemoteFile(alone).read(10)
    assert len(fs.fetched) > 1


def test_only_a_whole_object_sha256_is_trusted() -> None:
    digest = hashlib.sha256(b"content").digest()
    encoded = __import__("base64").b64encode(digest).decode()
    single = {"ChecksumSHA256": encoded, "ETag": '"0cc175b9c0f1b6a831c399e269772661"'}
    assert remote.trusted_sha256(single) == digest.hex()
    assert remote.trusted_sha256({**single, "ChecksumType": "FULL_OBJECT"}) == digest.hex()
    assert remote.trusted_sha256({**single, "ChecksumType": "COMPOSITE"}) is None
    assert remote.trusted_sha256({**single, "ChecksumSHA256": encoded + "-3"}) is None  # parts' digest
    assert remote.trusted_sha256({**single, "ETag": '"9b2cf535f27731c974343645a3985328-2"'}) is None
    assert remote.trusted_sha256({"ETag": single["ETag"]}) is None  # no checksum: the ETag is not one
    assert remote.trusted_sha256({**single, "ChecksumSHA256": "not base64!"}) is None


def test_storage_reads_ranges_of_local_and_remote_files_alike(tmp_path: Any) -> None:
    data = np.random.default_rng(5).bytes(50_000)
    (tmp_path / "a.bin").write_bytes(data)
    MemoryFileSystem().pipe_file("/ranges/a.bin", data)
    wanted = [(10, 20), (40_000, 40_016)]
    expected = [data[10:20], data[40_000:40_016]]
    assert storage.read_ranges(str(tmp_path / "a.bin"), wanted) == expected
    with storage.reading():
        assert storage.read_ranges("memory:///ranges/a.bin", wanted) == expected
        assert storage.size_of("memory:///ranges/a.bin") == len(data)
        digest = storage.read_digest("memory:///ranges/a.bin")
    assert digest["checksum"] == _xxh3(data) and digest["fetched_bytes"] == len(data)
    assert storage.read_digest(str(tmp_path / "a.bin")) is None  # local files: storage.checksum_of


def _recording_url(data: bytes, name: str) -> tuple[RecordingMemory, str]:
    """A file on a recording memory filesystem that storage.filesystem() hands out for memory:// URLs."""
    import fsspec

    fs = RecordingMemory().record(name)
    fs.pipe_file(name, data)
    fsspec.register_implementation("memory", RecordingMemory, clobber=True)
    return fs, f"memory://{name}"


@pytest.fixture
def recording_memory() -> Any:
    import fsspec

    yield
    fsspec.register_implementation("memory", MemoryFileSystem, clobber=True)


def test_chunked_hdf5_is_read_in_few_requests_and_its_rows_by_chunk(
    tmp_path: Any, recording_memory: Any
) -> None:
    """HDF5 reads a chunked dataset one chunk at a time: the readahead turns that into a few large
    requests; reading a handful of rows fetches only the chunks that hold them."""
    import h5py

    from neurodatahub.core.codecs.hdf5 import open_hdf5, read_rows

    values = np.cumsum(np.random.default_rng(6).random(2_000_000))
    with h5py.File(tmp_path / "chunked.h5", "w") as file:
        file.create_dataset("times", data=values, chunks=(20_000,), compression="gzip", shuffle=True)
    data = (tmp_path / "chunked.h5").read_bytes()
    fs, url = _recording_url(data, "/chunked.h5")
    with open_hdf5(url) as file:
        assert np.array_equal(file["times"][()], values)
    assert 0 < len(fs.fetched) < 20  # 100 chunks of about 150 kB
    _never_twice(fs.fetched)
    fs.fetched.clear()
    rows = [5, 1_999_999, 700_000, 5]
    with open_hdf5(url) as file:
        assert np.array_equal(read_rows(file["times"], rows, url), values[rows])
    chunk = len(data) / 100
    assert 0 < sum(end - start for start, end in fs.fetched) < 4 * chunk + 8 * remote.BLOCK


def test_rows_of_every_hdf5_layout_read_as_h5py_reads_them(tmp_path: Any) -> None:
    import h5py

    from neurodatahub.core.codecs.hdf5 import open_hdf5, read_rows

    path = tmp_path / "layouts.h5"
    values = np.arange(100_000, dtype=np.float64)
    with h5py.File(path, "w") as file:
        file.create_dataset("contiguous_big_endian", data=values.astype(">f8"))
        file.create_dataset("chunked", data=values, chunks=(1000,))  # pynwb's default: raw chunks
        file.create_dataset("gzip", data=values, chunks=(1000,), compression="gzip")
        file.create_dataset("rows", data=values.reshape(-1, 4), chunks=(500, 4))
        file.create_dataset("sparse", shape=(5000,), chunks=(1000,), dtype="i4", fillvalue=7)
        file["sparse"][:1000] = 1  # the other chunks are never written: their fill value
        file.create_dataset("strings", data=np.array([b"a", b"bc", b"def"]))
    rows = [99_999, 5, 5, 0, 24_999, 61_234]
    with open_hdf5(str(path)) as file:
        for name, dataset in file.items():
            picked = [row % dataset.shape[0] for row in rows]
            assert np.array_equal(read_rows(dataset, picked, str(path)), dataset[()][picked]), name
        assert read_rows(file["chunked"], [], str(path)).shape == (0,)
