"""The only place that opens files: fsspec URLs in, block-cached reads, atomic writes.

Readers get a file object (`open_read`) or, for libraries that need a real path, a local copy
(`local_copy`). Writers never touch the destination: they write into a local temporary path handed out
by `atomic_write`, which moves it into place (or uploads it, for object stores) only when the writer
and its checks succeed. A failed conversion therefore leaves no half file and never damages an
existing one.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import mmap
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from neurodatahub.core import environment, remote, scratch, words
from neurodatahub.core.errors import InputError, OutputError, StorageError

HASH_CHUNK = 8 * 1024 * 1024  # remote files: bounded reads into one reused buffer
# a file mapped whole counts its size in the process's RSS; windows keep it to this (a multiple of
# mmap.ALLOCATIONGRANULARITY, as window offsets must be)
HASH_WINDOW = 16 * 1024 * 1024
S3_PROTOCOLS = ("s3", "s3a")
# S3 time limits and attempts: an endpoint that accepts connections and never answers fails in bounded
# time. -S connect_timeout=/read_timeout=/retries= or these variables change them.
TIMEOUT_VARIABLES = {
    "connect_timeout": ("NEURODATAHUB_CONNECT_TIMEOUT", 10.0),
    "read_timeout": ("NEURODATAHUB_READ_TIMEOUT", 60.0),
    "retries": ("NEURODATAHUB_STORAGE_RETRIES", 1),
}
PART_SIZE_VARIABLE = "NEURODATAHUB_UPLOAD_PART_SIZE"  # multipart uploads: bytes per part (S3: >= 5 MiB)
BACKEND_MODULES = ("botocore", "aiobotocore", "aiohttp", "s3fs", "fsspec", "urllib3", "asyncio")


def protocol_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def is_local(url: str) -> bool:
    return protocol_of(url) in ("file", "local")


def local_path(url: str) -> Path:
    """Path of a local URL (plain path or file://)."""
    return Path(url[len("file://") :] if url.startswith("file://") else url).expanduser()


def returned(url: str | Path) -> Path | str:
    """What a peer-compatible function returns for a file it wrote: a Path, as the peers do, for local
    files; the URL itself for remote ones (a Path would mangle `s3://`)."""
    url = str(url)
    return local_path(url) if is_local(url) else url


def s3_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """s3fs options from the standard AWS variables plus explicit ones, which win.

    Credentials and regions come from botocore's usual chain (AWS_ACCESS_KEY_ID, AWS_PROFILE,
    ~/.aws/config...). The endpoint is resolved here because older botocore releases ignore
    AWS_ENDPOINT_URL, and S3-compatible stores (MinIO, Ceph, moto) need it.
    """
    resolved: dict[str, Any] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        resolved["endpoint_url"] = endpoint
    if os.environ.get("AWS_PROFILE"):
        resolved["profile"] = os.environ["AWS_PROFILE"]
    resolved.update(options or {})
    limits = {name: resolved.pop(name, None) for name in TIMEOUT_VARIABLES}
    config = dict(resolved.get("config_kwargs") or {})
    for name in ("connect_timeout", "read_timeout"):
        config.setdefault(name, _limit(name, limits[name]))
    # one retry loop, s3fs's (it also retries cut downloads, which botocore's cannot see; `attempts`):
    # nested loops would multiply the attempts, and a server that never answers would hold the hub for
    # many minutes
    config.setdefault("retries", {"max_attempts": 1, "mode": "standard"})
    resolved["config_kwargs"] = config
    return resolved


def attempts(options: Mapping[str, Any] | None = None) -> int:
    """Tries of each S3 request: 1 + the retries option (-S retries=), else NEURODATAHUB_STORAGE_RETRIES."""
    return int(_limit("retries", (options or {}).get("retries"))) + 1


def _limit(name: str, given: Any) -> float:
    """A timeout (more than 0) or the retries (at least 0): the storage option, else its variable."""
    variable, default = TIMEOUT_VARIABLES[name]
    rule = {"minimum": 0} if name == "retries" else {"above": 0}
    if given is None:
        return environment.number(variable, float(default), **rule)
    return environment.parse(given, f"storage option {name}", float(default), **rule)


def filesystem(url: str, storage_options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """The fsspec filesystem and the path within it for a URL."""
    import fsspec

    protocol = protocol_of(url)
    options = s3_options(storage_options) if protocol in S3_PROTOCOLS else dict(storage_options or {})
    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
    except (ImportError, ValueError) as error:
        raise InputError(f"cannot open {url}: {error}") from error
    if protocol in S3_PROTOCOLS:
        _retry_connection_errors()
        fs.retries = attempts(storage_options)
    return fs, path


@functools.cache
def _retry_connection_errors() -> None:
    """s3fs retries timeouts and cut transfers; refused connections (botocore's ConnectionError) are
    transient too, and with botocore's own retries off they would otherwise fail at the first try."""
    import botocore.exceptions
    import s3fs.core

    s3fs.core.add_retryable_error(botocore.exceptions.ConnectionError)


def backend_failure(error: BaseException) -> bool:
    """An exception of the storage libraries (botocore, aiohttp, s3fs, fsspec...) rather than of the hub."""
    return any(
        klass.__module__.split(".")[0] in BACKEND_MODULES and klass.__module__ != "builtins"
        for klass in type(error).__mro__
    )


def describe_failure(error: BaseException) -> str:
    """One line for a backend exception: its class and first line, never its arguments' internals."""
    text = " ".join(str(error).split()) or "no details"
    return f"{type(error).__name__}: {text[:300]}"


@contextlib.contextmanager
def _storage_errors(url: str) -> Iterator[None]:
    """Turn backend failures into hub errors that name the URL."""
    try:
        yield
    except FileNotFoundError as error:
        raise InputError(f"{url}: no such file or directory") from error
    except IsADirectoryError as error:
        raise InputError(f"{url} is a directory, not a file") from error
    except PermissionError as error:
        raise StorageError(f"{url}: permission denied ({error})") from error
    except (ConnectionError, TimeoutError) as error:
        raise StorageError(f"{url}: storage backend unreachable ({describe_failure(error)})") from error
    except StorageError:
        raise
    except Exception as error:
        if not backend_failure(error):
            raise
        raise StorageError(f"{url}: storage backend failed ({describe_failure(error)})") from error


def exists(url: str, storage_options: Mapping[str, Any] | None = None) -> bool:
    if is_local(url):
        return local_path(url).exists()
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url):
        return fs.exists(path)


def is_dir(url: str, storage_options: Mapping[str, Any] | None = None) -> bool:
    if is_local(url):
        return local_path(url).is_dir()
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url):
        return fs.isdir(path)


def entry_type(url: str, storage_options: Mapping[str, Any] | None = None) -> str | None:
    """What an input about to be read is: "file", "folder", or None when nothing is at `url`.

    In a reading scope a remote URL is opened first: a file's HEAD is the one its reads then use, so
    telling it from a folder costs no request of its own (asking is-a-folder, then exists, costs a LIST
    and a HEAD before the open's HEAD).
    """
    if is_local(url):
        path = local_path(url)
        return "folder" if path.is_dir() else "file" if path.exists() else None
    scope = remote.current()
    if scope is not None:
        fs, path = filesystem(url, storage_options)
        with _storage_errors(url):
            try:
                scope.get(fs, path, url)
                return "file"
            except (FileNotFoundError, IsADirectoryError):
                pass  # a folder (an object store's prefix has no HEAD), or nothing
    if is_dir(url, storage_options):
        return "folder"
    return "file" if exists(url, storage_options) else None


def list_names(url: str, storage_options: Mapping[str, Any] | None = None) -> list[str]:
    """Names of the entries of a directory (not recursive)."""
    if is_local(url):
        return sorted(entry.name for entry in local_path(url).iterdir())
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url):
        return sorted(Path(entry).name for entry in fs.ls(path, detail=False))


def list_entries(url: str, storage_options: Mapping[str, Any] | None = None) -> list[tuple[str, bool]]:
    """(name, is a folder) of each entry of a directory, sorted by name, in one listing call."""
    if is_local(url):  # scandir's entries know their type without a stat each
        with os.scandir(local_path(url)) as found:
            return sorted((entry.name, entry.is_dir()) for entry in found)
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url):
        return _entries(fs.ls(path, detail=True))


def _entries(listing: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    return sorted((_name(entry), entry["type"] == "directory") for entry in listing)


def _name(entry: dict[str, Any]) -> str:
    """The name of an fsspec listing's entry (its path's last part; folders may end with /)."""
    return Path(entry["name"].rstrip("/")).name


# folders an object store lists at once: each listing is a round trip, and a dataset of a thousand subjects
# has thousands of folders (measured, moto with a 30 ms round trip added: 200 folders one after the other
# 7.3 s, at once 1.2 s)
LISTINGS_AT_ONCE = 32


def list_entries_of(
    urls: Sequence[str],
    storage_options: Mapping[str, Any] | None = None,
    sizes: dict[str, int] | None = None,
) -> list[list[tuple[str, bool]]]:
    """`list_entries` of each folder, in order; an object store's are requested at once (fsspec's async
    API on its own event loop, at most LISTINGS_AT_ONCE in flight), a local disk's one after the other.
    An object store's listing also gives each file's size: `sizes` gets them by URL (asking later would
    cost a request a file)."""
    if not _lists_at_once(urls, storage_options):
        return [list_entries(url, storage_options) for url in urls]
    found = []
    for url, result in zip(urls, _listings_at_once(urls, storage_options), strict=True):
        if isinstance(result, BaseException):
            with _storage_errors(url):
                raise result
        found.append(_entries(result))
        for entry in result if sizes is not None else ():
            if entry["type"] != "directory" and entry.get("size") is not None:
                sizes[join(url, _name(entry))] = int(entry["size"])
    return found


def existing(urls: Iterable[str], storage_options: Mapping[str, Any] | None = None) -> set[str]:
    """Those of `urls` that exist. On an object store the folders holding them are listed from their
    common folder down, a level at a time and each level at once, skipping the branches an upper level
    showed absent: a new output tree costs a request or two in all, instead of two a URL (s3fs's exists:
    a HEAD, then a LIST when the key is absent)."""
    urls = list(dict.fromkeys(url.rstrip("/") for url in urls))
    if not _lists_at_once(urls, storage_options):
        return {url for url in urls if exists(url, storage_options)}
    wanted: dict[str, set[str]] = {}  # folder -> names in it on the way to a url
    roots = _common_folders(urls)
    for url in urls:
        root = next(root for root in roots if url.startswith(root + "/"))
        folder = root
        for name in url[len(root) + 1 :].split("/"):
            wanted.setdefault(folder, set()).add(name)
            folder = f"{folder}/{name}"
    names: dict[str, set[str]] = {}
    level = sorted(roots)
    while level:
        following = []
        for folder, result in zip(
            level, _listings_at_once(level, storage_options, refresh=True), strict=True
        ):
            if isinstance(result, FileNotFoundError):
                continue  # no folder: nothing below it exists
            if isinstance(result, BaseException):
                with _storage_errors(folder):
                    raise result
            found = dict(_entries(result))  # name -> is a folder
            names[folder] = set(found)
            following += [f"{folder}/{name}" for name in sorted(wanted[folder]) if found.get(name)]
        level = [folder for folder in following if folder in wanted]
    return {url for url in urls if url.rpartition("/")[2] in names.get(url.rpartition("/")[0], ())}


def _common_folders(urls: Sequence[str]) -> set[str]:
    """The deepest folder holding all of `urls`, one per bucket (an object store lists no bucket list)."""
    by_bucket: dict[str, list[str]] = {}
    for url in urls:
        scheme, _, path = url.partition("://")
        parts = path.split("/")[:-1]
        by_bucket.setdefault(f"{scheme}://{parts[0]}", []).append("/".join(parts))
    return {
        f"{bucket.partition('://')[0]}://{os.path.commonpath(folders)}"
        for bucket, folders in by_bucket.items()
    }


def _lists_at_once(urls: Sequence[str], storage_options: Mapping[str, Any] | None) -> bool:
    """The URLs are on one remote filesystem with an async API (fsspec's), whose folders list at once."""
    if not urls or is_local(urls[0]) or not all(protocol_of(url) == protocol_of(urls[0]) for url in urls):
        return False
    return bool(getattr(filesystem(urls[0], storage_options)[0], "async_impl", False))


def _listings_at_once(
    urls: Sequence[str], storage_options: Mapping[str, Any] | None, refresh: bool = False
) -> list[Any]:
    """fsspec's detailed listing of each remote folder (or the exception it raised), requested at once."""
    import asyncio

    from fsspec.asyn import sync

    fs, _ = filesystem(urls[0], storage_options)
    paths = [filesystem(url, storage_options)[1] for url in urls]
    fresh = {"refresh": True} if refresh else {}  # not from the listings cache: outputs change under it

    async def listed() -> list[Any]:
        gate = asyncio.Semaphore(LISTINGS_AT_ONCE)

        async def one(path: str) -> Any:
            async with gate:
                return await fs._ls(path, detail=True, **fresh)

        return await asyncio.gather(*(one(path) for path in paths), return_exceptions=True)

    return sync(fs.loop, listed)


def list_files(url: str, storage_options: Mapping[str, Any] | None = None) -> list[tuple[str, int]]:
    """(path below the folder, size in bytes) of every file below a folder, in one listing call."""
    if is_local(url):
        root = local_path(url)
        files = (entry for entry in root.rglob("*") if entry.is_file())
        return sorted((entry.relative_to(root).as_posix(), entry.stat().st_size) for entry in files)
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url):
        found = fs.find(path, detail=True)
    prefix = path.rstrip("/") + "/"
    return sorted(
        (name[len(prefix) :], int(entry["size"]))
        for name, entry in found.items()
        if entry.get("type") == "file" and name.startswith(prefix)
    )


GLOB_CHARACTERS = "*?["


def is_glob(url: str) -> bool:
    return any(character in url for character in GLOB_CHARACTERS)


def glob(pattern: str, storage_options: Mapping[str, Any] | None = None) -> list[str]:
    """URLs matching a glob (`**` crosses folders), local or remote, sorted; the protocol is kept."""
    if is_local(pattern):
        import glob as globbing

        return sorted(globbing.glob(str(local_path(pattern)), recursive=True))
    fs, path = filesystem(pattern, storage_options)
    protocol = protocol_of(pattern)
    with _storage_errors(pattern):
        return sorted(f"{protocol}://{found}" for found in fs.glob(path))


def same_place(first: str, second: str, storage_options: Mapping[str, Any] | None = None) -> bool:
    """Whether two URLs name the same file or folder: the same path once resolved (symlinks, `..`,
    `file://`), or, locally, the same object on disk (a hard link)."""
    if is_local(first) != is_local(second):
        return False
    if is_local(first):
        a, b = local_path(first), local_path(second)
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    if protocol_of(first) != protocol_of(second):
        return False
    fs, path = filesystem(first, storage_options)
    return path.rstrip("/") == fs._strip_protocol(second).rstrip("/")


def join(url: str, name: str) -> str:
    return str(local_path(url) / name) if is_local(url) else url.rstrip("/") + "/" + name


@contextlib.contextmanager
def open_read(url: str, storage_options: Mapping[str, Any] | None = None) -> Iterator[IO[bytes]]:
    """A binary file object; remote files are read through core.remote: fetched in ranges, never in one
    piece, and never twice within a `reading()` scope."""
    with _storage_errors(url):
        if is_local(url):
            with open(local_path(url), "rb") as handle:
                yield handle
            return
        fs, path = filesystem(url, storage_options)
        with remote.opened(fs, path, url) as source:
            yield remote.RemoteFile(source)


def handle_size(handle: Any) -> int | None:
    """Bytes of an open file (local or fsspec), None when it cannot say."""
    import io

    try:
        return os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        size = getattr(handle, "size", None)
        return int(size) if isinstance(size, int) else None


def read_head(url: str, size: int = 4096, storage_options: Mapping[str, Any] | None = None) -> bytes:
    with open_read(url, storage_options) as handle:
        return handle.read(size)


@contextlib.contextmanager
def local_copy(url: str, storage_options: Mapping[str, Any] | None = None) -> Iterator[Path]:
    """A local path to the data: the file itself when local, else a temporary download (file or folder)."""
    if is_local(url):
        path = local_path(url)
        if not path.exists():
            raise InputError(f"{url}: no such file or directory")
        yield path
        return
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url):
        folder = fs.isdir(path)
    if not folder:  # a file: through core.remote, so that bytes already fetched are not fetched again
        with contextlib.ExitStack() as stack:
            with _storage_errors(url):
                copy = stack.enter_context(remote.local_copy(fs, path, url))
            yield copy
        return
    with scratch.folder() as tmp:
        target = tmp / (Path(path).name or "download")
        with _storage_errors(url):
            fs.get(path, str(target), recursive=True)
        yield target


def refuse_existing(url: str, overwrite: bool, storage_options: Mapping[str, Any] | None = None) -> None:
    """An OutputError when `url` exists and may not be replaced, saying how to allow it."""
    if not overwrite and exists(url, storage_options):
        raise OutputError(f"{url} exists; pass {words.option('overwrite')} to replace it")


# errors of writing that say the output cannot be written (disk full, quota, file too large, read-only)
OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def output_failure(url: str, error: OSError, code: int | None = None) -> OutputError:
    """An OutputError naming the user's target (never the hidden temporary) and the reason."""
    code = code or error.errno
    reason = os.strerror(code) if code else " ".join(str(error).split())
    return OutputError(f"cannot write {url}: {reason}")


def _output_errno(error: BaseException, staging: Path) -> int | None:
    """The errno of a writer's OSError that is the output's fault, else None: a write errno (h5py and
    others put it in their text only), or any failure on a disk with no space left."""
    if not isinstance(error, OSError):
        return None
    if error.errno in OUTPUT_ERRNOS:
        return error.errno
    text = str(error)
    for code in OUTPUT_ERRNOS:
        if f"errno = {code}," in text:
            return code
    with contextlib.suppress(OSError):
        if shutil.disk_usage(staging.parent).free == 0:
            return errno.ENOSPC
    return None


def _check_kind_of_target(url: str, target: Path, directory: bool) -> None:
    """A file is not written over a folder, nor a folder over a file, even with --overwrite."""
    if directory and target.exists() and not target.is_dir():
        raise OutputError(f"cannot write the folder {url}: a file of that name exists")
    if not directory and target.is_dir():
        raise OutputError(f"cannot write {url}: it is an existing folder (name a file inside it)")


@contextlib.contextmanager
def atomic_write(
    url: str,
    *,
    overwrite: bool = False,
    directory: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> Iterator[Path]:
    """Yield a local temporary path to write; on success it replaces `url`, on failure it vanishes.

    Local targets get their temporary beside them (same filesystem, so the final move is atomic), named
    after this process (core.scratch) so that a killed run's is swept by the next one; whether the
    folder takes files is found out before the writer starts. Remote targets are written to a local
    temporary and uploaded once complete. Write failures (disk full, read-only...) are OutputError.
    """
    refuse_existing(url, overwrite, storage_options)
    if is_local(url):
        target = local_path(url)
        if not target.parent.is_dir():
            raise OutputError(f"cannot write {url}: folder {target.parent} does not exist")
        _check_kind_of_target(url, target, directory)
        scratch.sweep_once(target.parent)
        staging = scratch.partial_name(target)
        try:
            try:
                staging.mkdir() if directory else staging.touch(exist_ok=False)
            except OSError as error:
                raise output_failure(url, error) from error
            with _writer_errors(url, staging):
                yield staging
            try:
                _move_into_place(staging, target)
            except OSError as error:
                raise output_failure(url, error) from error
        finally:
            _remove(staging)
        return
    with scratch.folder() as tmp:
        staging = tmp / Path(url.rstrip("/")).name
        if directory:
            staging.mkdir()
        with _writer_errors(url, staging):
            yield staging
        _upload(staging, url, directory, storage_options)
        forget(url)  # what this scope fetched of the old object is not the new one


@contextlib.contextmanager
def _writer_errors(url: str, staging: Path) -> Iterator[None]:
    """The writer's OSErrors that are the output's fault (disk full, read-only, ...) as output failures."""
    try:
        yield
    except OSError as error:
        code = _output_errno(error, staging)
        if code is None:
            raise
        raise output_failure(url, error, code) from error


def make_parents(url: str) -> None:
    """Create the folders above a local `url` (object stores have none to create)."""
    if is_local(url):
        local_path(url).parent.mkdir(parents=True, exist_ok=True)


def add_files(staging: Path, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
    """Put the files of a local folder into a folder at `url`, each atomically, leaving its other files.

    For tools whose convention is to add files to an existing folder (a sorter's output folder holds
    the recording too); the folder and its parents are created when missing.
    """
    if is_local(url):
        local_path(url).mkdir(parents=True, exist_ok=True)
    for source in sorted(staging.iterdir()):
        with atomic_write(join(url, source.name), overwrite=True, storage_options=storage_options) as tmp:
            shutil.copyfile(source, tmp)


def staged_url(url: str) -> str:
    """A hidden name beside `url` for a file written now and placed later (`place`), in the same form as
    `atomic_write`'s temporaries, so that `remove_leftovers` finds it if its writer is killed."""
    head, _, name = url.rstrip("/").rpartition("/")
    staged = scratch.partial_name(Path(name)).name  # tagged with this process: swept once it is gone
    return f"{head}/{staged}" if head else staged


def place(staged: str, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
    """Move a complete file written at `staged` to `url` (a rename locally, a server-side move remotely)."""
    if is_local(url):
        os.replace(local_path(staged), local_path(url))
        return
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url):
        fs.mv(filesystem(staged, storage_options)[1], path)
    forget(url)  # what this scope fetched of the old object is not the new one


def discard(url: str, storage_options: Mapping[str, Any] | None = None) -> None:
    """Remove a file or folder if it exists (a staged file no longer wanted)."""
    if is_local(url):
        _remove(local_path(url))
        return
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url), contextlib.suppress(FileNotFoundError):
        fs.rm(path, recursive=True)


def remove_leftovers(urls: Iterable[str]) -> int:
    """Remove the temporaries killed writers left beside local `urls` (`scratch.partial_name`), whatever
    process made them; call it only when no writer of them can still be running. Returns how many were
    removed. Each folder is listed once, however many targets it holds (a flat output folder of
    thousands of targets would otherwise be listed once per target)."""
    wanted: dict[str, set[str]] = {}
    for url in urls:
        if is_local(url):  # remote writes stage in the writer's own temporary folder, never beside it
            folder, name = os.path.split(str(local_path(url)))
            wanted.setdefault(folder, set()).add(name)
    removed = 0
    for folder, names in wanted.items():
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            tag, separator, name = entry.name.partition(f"{scratch.PARTIAL}.")
            if separator and name in names and scratch.TAG.fullmatch(tag):
                _remove(Path(entry.path))
                removed += 1
    return removed


def _move_into_place(staging: Path, target: Path) -> None:
    """Replace `target` by `staging` so that `target` is always whole: the old or the new one.

    A file is one rename. A folder cannot be renamed over a non-empty folder, so the two are exchanged
    in one step (renameat2 RENAME_EXCHANGE) and the old one, now at the staging name, removed. Where
    the file system cannot exchange, the old folder is moved aside under a tagged name first: a crash
    between the two renames leaves it there, and the next run (or `hub clean`) puts it back.
    Concurrent writers of one target each place a whole folder; the last one wins.
    """
    if not staging.is_dir():
        os.replace(staging, target)
        return
    for _ in range(8):  # other writers may place or remove the target between the checks below
        if not target.exists():
            try:
                staging.rename(target)
                return
            except OSError as error:
                if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                continue
        if not target.is_dir():
            raise OutputError(f"cannot replace {target}: it is no longer a folder")
        try:
            exchanged = _exchange(staging, target)
        except FileNotFoundError:
            continue  # the target went away meanwhile: place ours
        if exchanged:
            _remove(staging)  # the old folder, now at the staging name
            return
        retired = scratch.retired_name(target)
        try:
            target.rename(retired)
        except FileNotFoundError:
            continue
        try:
            staging.rename(target)
        except OSError:
            retired.rename(target)
            raise
        _remove(retired)
        return
    raise OutputError(f"cannot place {target}: other processes keep replacing it")


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported.

    Through ctypes because neither os nor shutil expose renameat2 (os.rename cannot replace a
    non-empty folder), and no maintained library offers it.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _upload(staging: Path, url: str, directory: bool, storage_options: Mapping[str, Any] | None) -> None:
    """Upload a finished local file or folder; a failed or interrupted multipart upload is aborted, so
    nothing half-uploaded stays in the bucket (S3 bills incomplete uploads until they are aborted)."""
    if not staging.exists():
        raise OutputError(f"the writer produced nothing for {url}")
    fs, path = filesystem(url, storage_options)
    part_size = environment.number(PART_SIZE_VARIABLE, 0, whole=True, minimum=1, unit="bytes")
    sizes = {"chunksize": part_size} if part_size and protocol_of(url) in S3_PROTOCOLS else {}
    try:
        with _storage_errors(url), _missing_bucket_is_storage(url):
            if directory:
                if fs.exists(path):
                    fs.rm(path, recursive=True)
                fs.put(str(staging), path, recursive=True, **sizes)
            else:
                fs.put_file(str(staging), path, **sizes)
    except BaseException:
        if protocol_of(url) in S3_PROTOCOLS:
            abort_uploads(fs, path)
        raise


@contextlib.contextmanager
def _missing_bucket_is_storage(url: str) -> Iterator[None]:
    """On writing, "not found" means the bucket (or container) is missing: a storage failure (exit 5)."""
    try:
        yield
    except FileNotFoundError as error:
        raise StorageError(f"cannot write {url}: the bucket does not exist ({error})") from error


def abort_uploads(fs: Any, path: str) -> int:
    """Abort the incomplete multipart uploads of `path` (and below it); returns how many were aborted.

    s3fs aborts the upload it was making when a part fails, but not when the abort itself fails (the
    connection that broke the part breaks the abort) nor when the process is interrupted: this runs one
    more time, with its own short attempts, and never raises.
    """
    bucket, _, key = path.partition("/")
    aborted = 0
    with contextlib.suppress(Exception):
        listed = fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=key)
        for upload in listed.get("Uploads", []):
            with contextlib.suppress(Exception):
                fs.call_s3(
                    "abort_multipart_upload", Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
                aborted += 1
    return aborted


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def size_of(url: str, storage_options: Mapping[str, Any] | None = None) -> int:
    """Size in bytes of a file, or of all files below a folder."""
    if is_local(url):  # without fsspec: its import alone costs more than the call
        path = local_path(url)
        if path.is_dir():
            return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())
        with _storage_errors(url):
            return path.stat().st_size
    opened = remote.find(url)
    if opened is not None:
        return opened.size
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url):
        return int(fs.du(path, total=True)) if fs.isdir(path) else int(fs.size(path))


def checksum_of(
    url: str, algorithm: str = "sha256", storage_options: Mapping[str, Any] | None = None
) -> str | None:
    """Hex digest of a file's bytes, read in bounded blocks; None for folders (no single digest to give).

    sha256, sha1 and md5 come from hashlib (publishers give those); xxh3_128 from xxhash, fast enough
    (about 10 GB/s) to identify every file a conversion touches without slowing it.
    """
    if is_dir(url, storage_options):
        return None
    if algorithm == "xxh3_128":
        import xxhash

        digest: Any = xxhash.xxh3_128()
    else:
        digest = hashlib.new(algorithm)
    if is_local(url):  # hash the page cache in place, a window at a time: no copies through Python
        with open(local_path(url), "rb") as handle:  # buffers, and no more of the file mapped than a window
            size = os.fstat(handle.fileno()).st_size
            for offset in range(0, size, HASH_WINDOW):
                length = min(HASH_WINDOW, size - offset)
                with mmap.mmap(handle.fileno(), length, offset=offset, access=mmap.ACCESS_READ) as mapped:
                    digest.update(mapped)
        return digest.hexdigest()
    buffer = bytearray(HASH_CHUNK)  # one buffer, reused
    view = memoryview(buffer)
    with open_read(url, storage_options) as handle:
        while got := handle.readinto(buffer):
            digest.update(view[:got])
    return digest.hexdigest()


# Remote inputs read once (core.remote) --------------------------------------------------------------------


@contextlib.contextmanager
def reading(listed: Mapping[str, int | None] | None = None) -> Iterator[None]:
    """A scope in which each remote file is fetched at most once, however many times it is opened (to
    detect its format, to read it, to hash it); nested scopes share the outermost. Conversions,
    validation and summaries each run in one. `listed`: url -> size of remote files a listing just gave,
    opened without a HEAD of their own (see core.remote.session)."""
    with remote.session(listed):
        yield


def read_digest(url: str, storage_options: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The provenance facts of a remote file read in this scope: its whole-file digest (from the bytes
    the reader fetched plus, once, those it skipped; or the store's own SHA-256) and the bytes fetched.

    None for folders (no single digest) and local files (hash those with checksum_of).
    """
    if is_local(url):
        return None
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url):
        if remote.find(url) is None and fs.isdir(path):  # what this scope opened is a file
            return None
        with reading(), remote.opened(fs, path, url) as source:
            digest = source.digest()
    return {
        "checksum": digest.value,
        "checksum_algorithm": digest.algorithm,
        "checksum_source": digest.source,
        "fetched_bytes": digest.fetched_bytes,
        "checksum_fetched_bytes": digest.checksum_fetched_bytes,
    }


def read_ranges(
    url: str, ranges: list[tuple[int, int]], storage_options: Mapping[str, Any] | None = None
) -> list[bytes]:
    """The bytes of each (start, end) range of a file; remote ranges not yet fetched in this scope are
    fetched together, exactly, in one round of concurrent requests."""
    if is_local(url):
        with open(local_path(url), "rb") as handle:
            return [os.pread(handle.fileno(), end - start, start) for start, end in ranges]
    fs, path = filesystem(url, storage_options)
    with _storage_errors(url), remote.opened(fs, path, url) as source:
        return source.read_ranges(ranges)


def prefetch(
    url: str, ranges: list[tuple[int, int]], storage_options: Mapping[str, Any] | None = None
) -> None:
    """Fetch these byte ranges of a remote file now, together (a library will read them next, one small
    read at a time); nothing for local files or outside a `reading()` scope."""
    found = remote.find(url)
    if found is not None:
        with _storage_errors(url):
            found.prefetch(ranges)


def read_block_size(url: str, size: int) -> None:
    """Fetch random reads of a remote file opened in this scope in blocks of `size` bytes (an HDF5 file's
    page size, so that one request brings a whole page of metadata)."""
    found = remote.find(url)
    if found is not None and 0 < size <= remote.READAHEAD_MAX:
        found.block = size


def forget(url: str) -> None:
    """Drop what this scope fetched of `url` (written anew, or not to be read again)."""
    scope = remote.current()
    if scope is not None:
        scope.forget(url)
