"""A catalog published at a URL (https, s3 or any fsspec protocol): its index.json, cached with its ETag
or Last-Modified, asked for again once per process with one conditional request, and read from the cache
when the network is not there.

The copy in the cache is the validated index (every entry checked against the schema when it was
downloaded): a remote catalog is untrusted input, and validating 5,000 files on every query would cost
more than the query may take.
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurodatahub.catalog import state
from neurodatahub.catalog.index import INDEX_NAME, read_index, validate_entry
from neurodatahub.core.errors import StorageError

CACHE_FORMAT = "neurodatahub-remote-catalog"
HTTP_PROTOCOLS = ("http", "https")
_checked: dict[str, dict[str, Any]] = {}  # url -> index, for the rest of this process


@dataclass
class Answer:
    """What the source said: unchanged (`data` None), or new bytes with their validators."""

    data: bytes | None
    etag: str | None = None
    last_modified: str | None = None


def index_url(url: str) -> str:
    """The index of a catalog URL: the URL itself when it names a .json file, else <url>/index.json."""
    return url if url.endswith(".json") else url.rstrip("/") + "/" + INDEX_NAME


def cache_file(url: str) -> Path:
    return state.data_dir() / "catalog-cache" / f"remote-{hashlib.sha256(url.encode()).hexdigest()[:32]}.json"


def load(url: str, storage_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The validated index of the catalog at `url` (one conditional request per process at most)."""
    if url in _checked:
        return _checked[url]
    path = cache_file(url)
    cached = _read_cache(path)
    try:
        answer = _ask(index_url(url), cached, storage_options)
    except (StorageError, OSError) as error:
        if cached is None:
            raise StorageError(f"catalog {url} is unreachable and was never cached ({error})") from error
        print(f"hub: warning: catalog {url} is unreachable ({error}); using the cached copy", file=sys.stderr)
        answer = Answer(None)
    if answer.data is None and cached is not None:
        index = cached["index"]
    else:
        index = _validated(answer.data or b"", url)
        document = {
            "format": CACHE_FORMAT,
            "url": url,
            "etag": answer.etag,
            "last_modified": answer.last_modified,
            "index": index,
        }
        state.write(path, json.dumps(document, ensure_ascii=False))
    _checked[url] = index
    return index


def forget() -> None:
    """Ask the sources again on the next load (a new run, for tests and long-lived processes)."""
    _checked.clear()


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None  # no cache, or a damaged one: fetched again
    return document if isinstance(document, dict) and document.get("format") == CACHE_FORMAT else None


def _validated(data: bytes, url: str) -> dict[str, Any]:
    """Every entry of a downloaded index checked against the schema before it is used or cached."""
    index = read_index(data, index_url(url))
    entries = index.get("entries")
    if not isinstance(entries, list):
        raise StorageError(f"{index_url(url)}: the index has no list of entries")
    index["entries"] = [
        validate_entry(entry, f"{url} entry {position}") for position, entry in enumerate(entries)
    ]
    return index


def _ask(url: str, cached: dict[str, Any] | None, storage_options: dict[str, Any] | None) -> Answer:
    from neurodatahub.core import storage

    if storage.protocol_of(url) in HTTP_PROTOCOLS:
        return _ask_http(url, cached)
    return _ask_fsspec(url, cached, storage_options)


def _ask_http(url: str, cached: dict[str, Any] | None) -> Answer:
    """One GET with If-None-Match / If-Modified-Since; 304 means the cached copy is current."""
    from neurodatahub.catalog.http import USER_AGENT, RetryPolicy

    headers = {"User-Agent": USER_AGENT}
    if cached and cached.get("etag"):
        headers["If-None-Match"] = cached["etag"]
    if cached and cached.get("last_modified"):
        headers["If-Modified-Since"] = cached["last_modified"]
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=RetryPolicy.from_env().timeout_seconds) as response:
            return Answer(
                response.read(), response.headers.get("ETag"), response.headers.get("Last-Modified")
            )
    except urllib.error.HTTPError as error:
        if error.code == 304 and cached is not None:
            return Answer(None)
        raise StorageError(f"{url}: HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise StorageError(f"{url}: {getattr(error, 'reason', error)}") from error


def _ask_fsspec(url: str, cached: dict[str, Any] | None, storage_options: dict[str, Any] | None) -> Answer:
    """Object stores: the object's ETag (or modification time) from one metadata request; the bytes only
    when it changed."""
    from neurodatahub.core import storage

    fs, path = storage.filesystem(url, storage_options)
    try:
        info = fs.info(path)
    except FileNotFoundError as error:
        raise StorageError(f"{url}: no such catalog index") from error
    except Exception as error:  # botocore and aiohttp errors, imported by fsspec
        raise StorageError(f"{url}: {error}") from error
    etag = info.get("ETag") or info.get("etag")
    modified = info.get("LastModified") or info.get("last_modified") or info.get("mtime")
    stamp = str(modified) if modified is not None else None
    if (
        cached is not None
        and (etag or stamp)
        and (cached.get("etag"), cached.get("last_modified")) == (etag, stamp)
    ):
        return Answer(None)
    try:
        return Answer(fs.cat_file(path), etag, stamp)
    except Exception as error:
        raise StorageError(f"{url}: {error}") from error
