"""Remote inputs read once: each fetched byte is kept in a spool and hashed as it arrives.

fsspec's caches cannot promise that a byte crosses the network once: its block cache is an LRU of a few
blocks (a reader that comes back fetches again), asks for one block per request, lives as long as one
open file (detecting a format, then reading it, downloads the head twice), and nothing in it can hash
what passes through. Written here because no maintained library does all of that together.

One `RemoteObject` per URL and `session` keeps every range it fetched in a spool on local disk (unnamed
temporary files the kernel frees even if the process dies) and serves later reads of those bytes from
there. A read fetches only the ranges nobody fetched before: random reads whole aligned blocks
(`BLOCK`, or the HDF5 page size the file was written with), sequential reads a readahead that grows
with the run of contiguous reads up to `READAHEAD_MAX`, large ranges as parts fetched concurrently; a
small object (`SMALL_OBJECT`) whole, at its first read.
Known scattered ranges (one value per unit of a spike table) are fetched exactly, all at once
(`prefetch`).

The digest: bytes are fed to XXH3-128 in file order as they arrive; bytes fetched ahead of that order
wait in the spool. When the whole-file digest is asked for, the ranges the reader never needed are
fetched once, only for it, and not kept: the digest always covers the whole file, so a remote file and
its local copy have the same one. S3's own SHA-256 (`x-amz-checksum-sha256`) replaces all of this when
the object has one for its whole content (a single-part upload); then nothing more is fetched.

The spool holds at most `spool_budget()` bytes per object: past it, least recently used segments the
digest is done with are dropped first (a reader coming back to them would fetch them again).
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import io
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from neurodatahub.core import environment, scratch
from neurodatahub.core.errors import StorageError

BLOCK = 64 * 1024  # a random read fetches whole blocks: HDF5 metadata, headers, footers
# an object this small is fetched whole by its first read: one request for it costs about what a request
# for a block costs (the round trip, not the bytes), and readers of small files touch most blocks anyway
SMALL_OBJECT = 4 * BLOCK
READAHEAD_MAX = 16 * 1024 * 1024  # what a sequential reader is fetched ahead of, at most
PART = 8 * 1024 * 1024  # the largest single request; larger ranges are split and fetched concurrently
BATCH_BYTES = 64 * 1024 * 1024  # bytes of one round of concurrent requests (held in memory at once)
BATCH_REQUESTS = 256  # requests of one round of concurrent requests
MERGE_GAP = 1024  # exact ranges closer than this are one request: a response's headers cost about as much
SEGMENT = 64 * 1024 * 1024  # spool file granularity (the unit of eviction)
SPOOL_VARIABLE = "NEURODATAHUB_SPOOL_MIB"
SPOOL_DEFAULT_MIB = 4096
RUNS_KEPT = 64  # sequential runs remembered per object (interleaved readers, e.g. members of a zip)
DIGEST_ALGORITHM = "xxh3_128"
STORE_ALGORITHM = "sha256"


def spool_budget() -> int:
    """Bytes one remote object may keep on local disk (NEURODATAHUB_SPOOL_MIB, default 4 GiB)."""
    mib = environment.number(SPOOL_VARIABLE, SPOOL_DEFAULT_MIB, minimum=0, unit="MiB")
    return max(int(mib * 1024 * 1024), SEGMENT)


@dataclass(frozen=True)
class Digest:
    """A whole-file digest and where it came from, with what the object's reads cost."""

    value: str
    algorithm: str
    source: str  # a ChecksumSource value: content, object_store
    fetched_bytes: int
    checksum_fetched_bytes: int


class Ranges:
    """Sorted, disjoint, half-open byte ranges [start, end)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        if start >= end:
            return
        first = bisect.bisect_left(self.ends, start)  # ranges touching or overlapping merge
        last = bisect.bisect_right(self.starts, end)
        if first < last:
            start, end = min(start, self.starts[first]), max(end, self.ends[last - 1])
        self.starts[first:last] = [start]
        self.ends[first:last] = [end]

    def remove(self, start: int, end: int) -> None:
        first = bisect.bisect_right(self.ends, start)
        last = bisect.bisect_left(self.starts, end)
        kept: list[tuple[int, int]] = []
        if first < last:
            if self.starts[first] < start:
                kept.append((self.starts[first], start))
            if self.ends[last - 1] > end:
                kept.append((end, self.ends[last - 1]))
        self.starts[first:last] = [pair[0] for pair in kept]
        self.ends[first:last] = [pair[1] for pair in kept]

    def missing(self, start: int, end: int) -> list[tuple[int, int]]:
        """The pieces of [start, end) not held, in order."""
        found: list[tuple[int, int]] = []
        position = start
        index = bisect.bisect_right(self.ends, start)
        while position < end and index < len(self.starts) and self.starts[index] < end:
            if self.starts[index] > position:
                found.append((position, self.starts[index]))
            position = max(position, self.ends[index])
            index += 1
        if position < end:
            found.append((position, end))
        return found

    def end_of(self, offset: int) -> int:
        """End of the held range that holds `offset`, else `offset` itself."""
        index = bisect.bisect_right(self.starts, offset) - 1
        return self.ends[index] if index >= 0 and self.ends[index] > offset else offset

    def end_before(self, offset: int) -> int:
        """End of the last held range ending at or before `offset` (0 when none)."""
        index = bisect.bisect_right(self.ends, offset) - 1
        return self.ends[index] if index >= 0 else 0

    def next_start(self, offset: int) -> int | None:
        """Start of the first held range starting at or after `offset`."""
        index = bisect.bisect_left(self.starts, offset)
        return self.starts[index] if index < len(self.starts) else None

    @property
    def total(self) -> int:
        return sum(end - start for start, end in zip(self.starts, self.ends, strict=True))


class Spool:
    """Fetched bytes at their offsets, in unnamed temporary files of SEGMENT bytes each (sparse)."""

    def __init__(self, segment: int = SEGMENT) -> None:
        self.segment = segment
        self._files: dict[int, IO[bytes]] = {}
        self.last_use: dict[int, int] = {}
        self._clock = 0

    def _pieces(self, offset: int, length: int) -> Iterator[tuple[IO[bytes], int, int, int]]:
        """(segment file, offset in it, position in the caller's buffer, size) of each piece of a range."""
        done = 0
        while done < length:
            index, inner = divmod(offset + done, self.segment)
            size = min(length - done, self.segment - inner)
            if index not in self._files:
                # unnamed (O_TMPFILE): nothing is left behind, even by a killed process; closed in drop()
                self._files[index] = tempfile.TemporaryFile(prefix="neurodatahub-spool-")  # noqa: SIM115
            self._clock += 1
            self.last_use[index] = self._clock
            yield self._files[index], inner, done, size
            done += size

    def write(self, offset: int, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        for handle, inner, done, size in self._pieces(offset, len(view)):
            written = 0
            while written < size:
                written += os.pwrite(handle.fileno(), view[done + written : done + size], inner + written)

    def read_into(self, offset: int, view: memoryview) -> None:
        for handle, inner, done, size in self._pieces(offset, len(view)):
            _read_fully(handle.fileno(), inner, view[done : done + size])

    @property
    def segments(self) -> list[int]:
        return list(self._files)

    @property
    def bytes_held(self) -> int:
        return len(self._files) * self.segment

    def drop(self, index: int) -> None:
        handle = self._files.pop(index, None)
        self.last_use.pop(index, None)
        if handle is not None:
            handle.close()

    def close(self) -> None:
        for index in list(self._files):
            self.drop(index)


class RemoteObject:
    """One remote file, read once: the spool, what it holds, the digest so far, the transfer counts."""

    def __init__(self, fs: Any, path: str, url: str, size: int, store_digest: str | None = None) -> None:
        self.fs, self.path, self.url, self.size = fs, path, url, size
        self.store_digest = store_digest  # hex SHA-256 the store vouches for, else None
        self._headed = True  # False: opened from a listing, the store not asked (see `open`)
        self.block = BLOCK
        self.requests = 0
        self.fetched_bytes = 0
        self.checksum_fetched_bytes = 0
        self._held = Ranges()
        self._spool = Spool()
        self._lock = threading.RLock()
        self._runs: dict[int, int] = {}  # end of a read -> bytes read contiguously up to it
        self._hasher: Any = None
        self._hashed = 0  # bytes [0, _hashed) are in the digest
        self._local: IO[bytes] | None = None  # a whole local copy, once one was made
        self._local_path: Path | None = None
        self._budget = spool_budget()
        if store_digest is None:
            import xxhash

            self._hasher = xxhash.xxh3_128()

    @classmethod
    def open(cls, fs: Any, path: str, url: str, listed_size: int | None = None) -> RemoteObject:
        """Size (and, on S3, a trustworthy whole-object SHA-256) from one HEAD request.

        A file a listing just gave (`listed_size`) needs no HEAD: a small one is fetched whole at once
        (on S3 the GET brings the checksum as the HEAD would), a larger one asks its HEAD only if its
        digest is wanted (`digest`).
        """
        if listed_size is not None and listed_size <= SMALL_OBJECT:
            return cls._fetched_whole(fs, path, url)
        if listed_size is not None:
            made = cls(fs, path, url, listed_size)
            made._headed = False
            return made
        if _is_s3(fs):
            response = _head(fs, path)
            return cls(fs, path, url, int(response["ContentLength"]), trusted_sha256(response))
        info = fs.info(path)
        if info.get("type") == "directory":
            raise IsADirectoryError(url)
        if info.get("size") is None:  # a server that does not say (HTTP without Content-Length): get it all
            data = fs.cat_file(path)
            made = cls(fs, path, url, len(data))
            made._store(0, data)
            return made
        return cls(fs, path, url, int(info["size"]))

    @classmethod
    def _fetched_whole(cls, fs: Any, path: str, url: str) -> RemoteObject:
        """One GET of the whole object; on S3 with its checksum headers (a non-ranged GET has them)."""
        store_digest = None
        if _is_s3(fs):
            from fsspec.asyn import sync

            response, data = sync(fs.loop, _get_whole, fs, path)
            store_digest = trusted_sha256(response)
        else:
            data = fs.cat_file(path)
        made = cls(fs, path, url, len(data), store_digest)
        made._store(0, data)
        return made

    # reading ------------------------------------------------------------------------------------------

    def readinto(self, offset: int, view: memoryview) -> int:
        end = min(offset + len(view), self.size)
        if offset >= end:
            return 0
        length = end - offset
        with self._lock:
            run = self._runs.pop(offset, 0) + length
            self._runs[end] = run
            if len(self._runs) > RUNS_KEPT:
                del self._runs[next(iter(self._runs))]
            if self._local is not None:
                _read_fully(self._local.fileno(), offset, view[:length])
                return length
            gaps = self._held.missing(offset, end)
            if gaps:  # a read continuing a run is read ahead of by as much as the run, up to the maximum
                readahead = min(run, READAHEAD_MAX) if run > length else 0
                self._fetch(self._planned(gaps, readahead))
            self._spool.read_into(offset, view[:length])
            self._evict(offset, end)
        return length

    def _planned(self, gaps: list[tuple[int, int]], readahead: int) -> list[tuple[int, int]]:
        """The gaps of a read widened to whole blocks, the last one by the readahead of a sequential run;
        never over bytes already held. A small object: all it still misses."""
        if self.size <= SMALL_OBJECT:
            return self._held.missing(0, self.size)
        ranges = [list(gap) for gap in gaps]
        first = ranges[0]
        first[0] = max(first[0] - first[0] % self.block, self._held.end_before(first[0]))
        last = ranges[-1]
        wanted = last[1] + readahead
        wanted = min(-(-wanted // self.block) * self.block, self.size)
        following = self._held.next_start(last[1])
        if following is not None:
            wanted = min(wanted, following)
        last[1] = max(last[1], wanted)
        return [(start, end) for start, end in ranges]

    def prefetch(self, ranges: Sequence[tuple[int, int]]) -> None:
        """Fetch exactly these ranges (those closer than MERGE_GAP as one), concurrently, unless held."""
        merged = Ranges()
        for start, end in sorted(ranges):
            start, end = max(start, 0), min(end, self.size)
            if start < end:
                merged.add(start, end + MERGE_GAP)
        with self._lock:
            if self._local is not None:
                return
            wanted = [
                gap
                for start, end in zip(merged.starts, merged.ends, strict=True)
                for gap in self._held.missing(start, min(end - MERGE_GAP, self.size))
            ]
            if wanted:
                self._fetch(wanted)

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """The bytes of each range, fetching what is missing in one concurrent round."""
        self.prefetch(ranges)
        found = []
        for start, end in ranges:
            buffer = bytearray(max(min(end, self.size) - start, 0))
            self.readinto(start, memoryview(buffer))
            found.append(bytes(buffer))
        return found

    def _fetch(self, ranges: list[tuple[int, int]]) -> None:
        """Fetch ranges into the spool, PART at most per request, a round of requests at a time."""
        for batch in _batches(_parts(ranges)):
            for (start, _), data in zip(batch, self._get(batch), strict=True):
                self._store(start, data)
            self._catch_up()

    def _store(self, start: int, data: bytes) -> None:
        self._spool.write(start, data)
        self._held.add(start, start + len(data))
        self._count(data, for_checksum=False)
        self._feed(start, data)

    def _get(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        if len(ranges) == 1:
            ((start, end),) = ranges
            found = [self.fs.cat_file(self.path, start=start, end=end)]
        else:
            found = self.fs.cat_ranges(
                [self.path] * len(ranges),
                [start for start, _ in ranges],
                [end for _, end in ranges],
                on_error="return",
            )
        for (start, end), data in zip(ranges, found, strict=True):
            if isinstance(data, BaseException):
                raise data
            if len(data) != end - start:
                raise StorageError(
                    f"{self.url}: {len(data)} bytes came for the {end - start} asked at offset {start}"
                    " (the object changed or was cut while it was read)"
                )
        return found

    def _count(self, data: bytes, *, for_checksum: bool) -> None:
        self.requests += 1
        self.fetched_bytes += len(data)
        if for_checksum:
            self.checksum_fetched_bytes += len(data)

    # the digest ---------------------------------------------------------------------------------------

    def _feed(self, offset: int, data: bytes | memoryview) -> None:
        """Hash `data` (at `offset`) from the digest's frontier on, when it reaches that far."""
        if self._hasher is None or not offset <= self._hashed < offset + len(data):
            return
        self._hasher.update(memoryview(data)[self._hashed - offset :])
        self._hashed = offset + len(data)

    def _catch_up(self) -> None:
        """Hash the spooled bytes that now follow the frontier without a hole."""
        if self._hasher is None:
            return
        end = self._held.end_of(self._hashed)
        while self._hashed < end:
            piece = bytearray(min(end - self._hashed, PART))
            self._spool.read_into(self._hashed, memoryview(piece))
            self._feed(self._hashed, piece)

    def digest(self) -> Digest:
        """The whole file's digest: the store's SHA-256, else XXH3 of the bytes, the skipped ranges
        fetched now (once, not kept)."""
        with self._lock:
            if not self._headed and _is_s3(self.fs):  # opened from a listing: the store's checksum now
                self._headed = True
                response = _head(self.fs, self.path)
                if int(response["ContentLength"]) != self.size:
                    raise StorageError(f"{self.url}: the object changed while it was read")
                self.store_digest = trusted_sha256(response)
            if self.store_digest is not None:
                return self._digest(self.store_digest, STORE_ALGORITHM, "object_store")
            while True:
                self._catch_up()
                if self._hashed >= self.size:
                    break
                following = self._held.next_start(self._hashed)
                gap_end = self.size if following is None else following
                for batch in _batches(_parts([(self._hashed, gap_end)])):
                    for (start, _), data in zip(batch, self._get(batch), strict=True):
                        self._count(data, for_checksum=True)
                        self._feed(start, data)
            return self._digest(self._hasher.hexdigest(), DIGEST_ALGORITHM, "content")

    def _digest(self, value: str, algorithm: str, source: str) -> Digest:
        return Digest(value, algorithm, source, self.fetched_bytes, self.checksum_fetched_bytes)

    # whole local copies ---------------------------------------------------------------------------------

    def local_copy(self, folder: Path) -> Path:
        """The whole file on local disk (for libraries that need a path): held bytes copied from the spool,
        the rest fetched once, in order, hashed on the way; later reads are served from the copy."""
        with self._lock:
            if self._local_path is not None:
                return self._local_path
            target = folder / (Path(self.path).name or "download")
            with open(target, "wb") as out:
                position = 0
                while position < self.size:
                    held_end = self._held.end_of(position)
                    if held_end > position:
                        piece = bytearray(min(held_end - position, PART))
                        self._spool.read_into(position, memoryview(piece))
                        out.write(piece)
                        self._feed(position, piece)
                        position += len(piece)
                        continue
                    following = self._held.next_start(position)
                    gap_end = self.size if following is None else following
                    for batch in _batches(_parts([(position, gap_end)])):
                        for (start, _), data in zip(batch, self._get(batch), strict=True):
                            out.write(data)
                            self._count(data, for_checksum=False)
                            self._feed(start, data)
                    position = gap_end
            self._local, self._local_path = open(target, "rb"), target  # noqa: SIM115 (closed in close())
            self._spool.close()
            self._held = Ranges()
            self._held.add(0, self.size)
            return target

    # the spool's budget -------------------------------------------------------------------------------

    def _evict(self, start: int, end: int) -> None:
        """Past the budget, drop least recently used segments: those the digest is done with first."""
        segment = self._spool.segment
        while self._spool.bytes_held > self._budget:
            in_use = set(range(start // segment, (end - 1) // segment + 1))
            candidates = [index for index in self._spool.segments if index not in in_use]
            if not candidates:
                return
            hashed = [
                index for index in candidates if self._hasher is None or (index + 1) * segment <= self._hashed
            ]
            victim = min(hashed or candidates, key=lambda index: self._spool.last_use[index])
            self._spool.drop(victim)
            self._held.remove(victim * segment, (victim + 1) * segment)

    def close(self) -> None:
        with self._lock:
            self._spool.close()
            if self._local is not None:
                self._local.close()


def _read_fully(descriptor: int, offset: int, view: memoryview) -> None:
    got = 0
    while got < len(view):
        count = os.preadv(descriptor, [view[got:]], offset + got)
        if count <= 0:
            raise OSError("a local copy is shorter than the remote file it was made from")
        got += count


def _parts(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(offset, min(offset + PART, end)) for start, end in ranges for offset in range(start, end, PART)]


def _batches(parts: list[tuple[int, int]]) -> Iterator[list[tuple[int, int]]]:
    """Rounds of concurrent requests, bounded in bytes (memory) and in number."""
    batch: list[tuple[int, int]] = []
    size = 0
    for start, end in parts:
        if batch and (size + end - start > BATCH_BYTES or len(batch) >= BATCH_REQUESTS):
            yield batch
            batch, size = [], 0
        batch.append((start, end))
        size += end - start
    if batch:
        yield batch


def _head(fs: Any, path: str) -> dict[str, Any]:
    """S3's HEAD of an object, with its checksum."""
    return fs.call_s3("head_object", **_with_checksum(fs, path))


async def _get_whole(fs: Any, path: str) -> tuple[dict[str, Any], bytes]:
    """S3's GET of a whole object, with its checksum, and its bytes."""
    response = await fs._call_s3("get_object", **_with_checksum(fs, path))
    body = response["Body"]
    try:
        data = await body.read()
    finally:
        body.close()
    return response, data


def _with_checksum(fs: Any, path: str) -> dict[str, Any]:
    """An S3 request's object arguments, asking for its checksum headers (ChecksumMode)."""
    bucket, key, version = fs.split_path(path)
    return {
        "Bucket": bucket,
        "Key": key,
        "ChecksumMode": "ENABLED",
        **({"VersionId": version} if version else {}),
    }


def _is_s3(fs: Any) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
    return "s3" in protocols and hasattr(fs, "call_s3")


def trusted_sha256(head: dict[str, Any]) -> str | None:
    """The object's SHA-256 as hex when S3 vouches for the whole content, else None.

    Only a full-object checksum is the digest of the bytes: a multipart upload's ETag is not a digest of
    the content, and its SHA-256 is composite (a digest of the parts' digests, written `<base64>-<parts>`,
    ChecksumType COMPOSITE). Some S3-compatible servers omit the type and the suffix, so a multipart ETag
    (`"<hex>-<parts>"`) alone also disqualifies the checksum.
    """
    value = head.get("ChecksumSHA256")
    if not value or "-" in value:
        return None
    if head.get("ChecksumType", "FULL_OBJECT") != "FULL_OBJECT":
        return None
    if "-" in str(head.get("ETag", "")).strip('"'):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return raw.hex() if len(raw) == 32 else None


class RemoteFile(io.RawIOBase):
    """A seekable binary file over a RemoteObject; closing it leaves the object (and its spool) alone."""

    def __init__(self, remote: RemoteObject) -> None:
        super().__init__()
        self.remote = remote
        self.name = remote.url
        self._position = 0

    @property
    def size(self) -> int:
        return self.remote.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.remote.size}[whence]
        if base + offset < 0:
            raise OSError(f"{self.remote.url}: seek before the start of the file")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        count = self.remote.readinto(self._position, memoryview(buffer).cast("B"))
        self._position += count
        return count

    def read(self, size: int | None = -1) -> bytes:
        left = max(self.remote.size - self._position, 0)
        buffer = bytearray(left if size is None or size < 0 else min(size, left))
        count = self.readinto(buffer)
        return bytes(buffer[:count]) if count < len(buffer) else bytes(buffer)

    def readall(self) -> bytes:
        return self.read()

    def readline(self, size: int | None = -1) -> bytes:
        line = bytearray()
        limit = None if size is None or size < 0 else size
        while limit is None or len(line) < limit:
            piece = self.read(8192 if limit is None else min(8192, limit - len(line)))
            if not piece:
                break
            cut = piece.find(b"\n")
            if cut >= 0:
                line += piece[: cut + 1]
                self.seek(cut + 1 - len(piece), io.SEEK_CUR)
                break
            line += piece
        return bytes(line)


class Session:
    """The remote objects opened in one scope (a command, a conversion), each fetched once."""

    def __init__(self) -> None:
        self._objects: dict[str, RemoteObject] = {}
        self.listed: dict[str, int] = {}  # url -> size, of files a listing gave (see `session`)
        self._lock = threading.Lock()
        self._scratch: contextlib.ExitStack | None = None  # the scratch folder, made on first use
        self._folder = Path()

    def get(self, fs: Any, path: str, url: str) -> RemoteObject:
        with self._lock:
            found = self._objects.get(url)
            if found is None:
                found = self._objects[url] = RemoteObject.open(fs, path, url, self.listed.get(url))
            return found

    def find(self, url: str) -> RemoteObject | None:
        return self._objects.get(url)

    def forget(self, url: str) -> None:
        with self._lock:
            found = self._objects.pop(url, None)
        if found is not None:
            found.close()

    def folder(self) -> Path:
        with self._lock:
            if self._scratch is None:
                self._scratch = contextlib.ExitStack()
                self._folder = self._scratch.enter_context(scratch.folder())
            return self._folder

    def close(self) -> None:
        with self._lock:
            objects, self._objects = list(self._objects.values()), {}
            folder, self._scratch = self._scratch, None
        for found in objects:
            found.close()
        if folder is not None:
            folder.close()


_current: ContextVar[Session | None] = ContextVar("neurodatahub_remote_session", default=None)


@contextlib.contextmanager
def session(listed: Mapping[str, int | None] | None = None) -> Iterator[Session]:
    """A scope in which each remote file is fetched once, however often it is opened; nested scopes
    share the outermost one. Spools and local copies are removed when it ends.

    `listed`: url -> size of files a listing just gave (None: it did not say). They are known to be
    files and are opened without a HEAD request (`RemoteObject.open`): small ones by one GET of all
    their bytes, which brings S3's checksum as the HEAD would, larger ones asking the HEAD only when
    their digest is wanted.
    """
    current = _current.get()
    known = {url: size for url, size in (listed or {}).items() if size is not None}
    if current is not None:
        current.listed.update(known)
        yield current
        return
    made = Session()
    made.listed.update(known)
    token = _current.set(made)
    try:
        yield made
    finally:
        _current.reset(token)
        made.close()


def current() -> Session | None:
    return _current.get()


def find(url: str) -> RemoteObject | None:
    """The object this scope opened for `url`, if any."""
    scope = _current.get()
    return None if scope is None else scope.find(url)


@contextlib.contextmanager
def opened(fs: Any, path: str, url: str) -> Iterator[RemoteObject]:
    """The session's object for `url`, or, outside any session, one that lives for this open only."""
    scope = _current.get()
    if scope is not None:
        yield scope.get(fs, path, url)
        return
    made = RemoteObject.open(fs, path, url)
    try:
        yield made
    finally:
        made.close()


@contextlib.contextmanager
def local_copy(fs: Any, path: str, url: str) -> Iterator[Path]:
    """A whole local copy of a remote file, made from what the session already fetched plus the rest."""
    with session() as scope, opened(fs, path, url) as found:
        yield found.local_copy(scope.folder())
