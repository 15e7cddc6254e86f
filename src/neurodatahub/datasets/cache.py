"""Results of earlier runs, so that an unchanged dataset is not read again.

A result is stored under its file's content digest, its name and its companions' digests (readers take
the space from a name, labels from a sidecar), how it was read, and the hub's and the schema's versions:
any of these changing makes a new key. Finding the digest must not read the file either: a file's stat
(size, mtime, inode; an object store's ETag) is remembered with the digest it had, and only a changed
stat reads the bytes again. So a second run over the same files reads nothing, and a CI run on a fresh
checkout (new mtimes) hashes every file but validates only those whose content changed.

One SQLite file (the standard library's: safe against concurrent runs, one file to delete), written by
the process that runs the validation, never by workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from neurodatahub import __version__
from neurodatahub.core import storage

FILE_NAME = "validate-v1.sqlite"


def default_folder() -> Path:
    """NEURODATAHUB_VALIDATE_CACHE, else $XDG_CACHE_HOME/neurodatahub/validate, else
    ~/.cache/neurodatahub/validate."""
    if os.environ.get("NEURODATAHUB_VALIDATE_CACHE"):
        return Path(os.environ["NEURODATAHUB_VALIDATE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "neurodatahub" / "validate"


@cache
def versions() -> str:
    """The hub's version and a digest of the generated schema: results of another schema do not count."""
    from neurodatahub_models import JSON_SCHEMA_PATH

    return f"{__version__}+{hashlib.sha256(JSON_SCHEMA_PATH.read_bytes()).hexdigest()[:16]}"


class ResultCache:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / FILE_NAME
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS stamps (url TEXT PRIMARY KEY, stamp TEXT, digest TEXT);"
            "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, result TEXT);"
            "CREATE TABLE IF NOT EXISTS thumbnails (key TEXT PRIMARY KEY, png BLOB, note TEXT);"
        )

    def close(self) -> None:
        self._db.commit()
        self._db.close()

    def digest(self, url: str, storage_options: Mapping[str, Any] | None = None) -> str:
        """The content digest of a file or folder, from the remembered one when its stat is unchanged."""
        stamp = _stamp(url, storage_options)
        row = self._db.execute("SELECT stamp, digest FROM stamps WHERE url = ?", (_key_url(url),)).fetchone()
        if row is not None and row[0] == stamp:
            return row[1]
        digest = _content_digest(url, stamp, storage_options)
        self._db.execute("INSERT OR REPLACE INTO stamps VALUES (?, ?, ?)", (_key_url(url), stamp, digest))
        return digest

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT result FROM results WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, result: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO results VALUES (?, ?)", (key, json.dumps(result, default=str))
        )

    def thumbnail(self, key: str) -> tuple[bytes | None, str] | None:
        """A picture drawn before (PNG bytes, or None and why there is none), or None when never drawn."""
        row = self._db.execute("SELECT png, note FROM thumbnails WHERE key = ?", (key,)).fetchone()
        return (row[0], row[1]) if row else None

    def put_thumbnail(self, key: str, png: bytes | None, note: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO thumbnails VALUES (?, ?, ?)", (key, png, note))


def result_key(digest: str, name: str, companions: list[str], settings: Mapping[str, Any]) -> str:
    text = json.dumps(
        {"digest": digest, "name": name, "companions": companions, "settings": settings, "hub": versions()},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _key_url(url: str) -> str:
    return os.path.abspath(storage.local_path(url)) if storage.is_local(url) else url


def _stamp(url: str, storage_options: Mapping[str, Any] | None) -> str:
    """What changes when the content may have: sizes and times of a local file (of every file of a
    folder), sizes and ETags of objects ("etag:" when every object has one)."""
    if storage.is_local(url):
        path = storage.local_path(url)
        if path.is_dir():
            entries = sorted(
                (str(entry.relative_to(path)), _stat_text(entry))
                for entry in path.rglob("*")
                if entry.is_file()
            )
            return hashlib.sha256(json.dumps(entries).encode()).hexdigest()
        return _stat_text(path)
    fs, path = storage.filesystem(url, storage_options)
    infos = sorted(fs.find(path, detail=True).items()) if fs.isdir(path) else [(path, fs.info(path))]
    tags = [(name, info.get("size"), info.get("ETag") or info.get("etag")) for name, info in infos]
    if all(tag for _, _, tag in tags):
        return "etag:" + hashlib.sha256(json.dumps(tags, default=str).encode()).hexdigest()
    times = [
        (name, info.get("size"), str(info.get("LastModified") or info.get("mtime"))) for name, info in infos
    ]
    return hashlib.sha256(json.dumps(times).encode()).hexdigest()


def _stat_text(path: Path) -> str:
    found = path.stat()
    return f"{found.st_size}:{found.st_mtime_ns}:{found.st_ctime_ns}:{found.st_ino}"


def _content_digest(url: str, stamp: str, storage_options: Mapping[str, Any] | None) -> str:
    """xxh3 of the bytes (of every file, for a folder); objects whose store gave ETags (content hashes it
    computed) are known by them: no byte is downloaded."""
    if stamp.startswith("etag:"):
        return stamp
    if not storage.is_dir(url, storage_options):
        return storage.checksum_of(url, "xxh3_128", storage_options)
    if storage.is_local(url):
        path = storage.local_path(url)
        files = sorted(str(entry.relative_to(path)) for entry in path.rglob("*") if entry.is_file())
    else:
        fs, path = storage.filesystem(url, storage_options)
        files = sorted(name[len(path.rstrip("/")) + 1 :] for name in fs.find(path))
    parts = [
        (name, storage.checksum_of(storage.join(url, name), "xxh3_128", storage_options)) for name in files
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()
