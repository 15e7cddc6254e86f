"""Trust on first use: the digest of the first verified download of a file whose source publishes none.

It is kept in `hashes.lock.json` in the data directory (one TrustedHash per entry and file) and becomes
the reference of every later download and of `hub catalog verify`: a file that changes at its source is
refused, as one that fails a published hash is. Deleting the record (or the lock file) trusts anew.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neurodatahub.catalog import state

LOCK_NAME = "hashes.lock.json"
LOCK_FORMAT = "neurodatahub-trusted-hashes"


def lock_path() -> Path:
    return state.data_dir() / LOCK_NAME


def key(entry: str, file: str) -> str:
    return f"{entry.lower()}/{file}"


def records() -> dict[str, dict[str, Any]]:
    return (state.read_json(lock_path(), LOCK_FORMAT) or {}).get("hashes", {})


def lookup(entry: str, file: str) -> dict[str, Any] | None:
    """The TrustedHash of a file of an entry, if its first download recorded one."""
    return records().get(key(entry, file))


def record(entry: str, file: str, url: str | None, sha256: str, size_bytes: int) -> dict[str, Any]:
    """Record a first-use digest (validated as a TrustedHash); an existing record is kept, not replaced."""
    from neurodatahub.core.models import TrustedHash

    found = TrustedHash(
        entry=entry,
        file=file,
        url=url,
        sha256=sha256,
        size_bytes=size_bytes,
        recorded_at=datetime.now(UTC).replace(microsecond=0),
    ).model_dump(mode="json", exclude_none=True)

    def change(document: dict[str, Any]) -> dict[str, Any]:
        return document.setdefault("hashes", {}).setdefault(key(entry, file), found)

    return state.update(lock_path(), LOCK_FORMAT, change)


def forget(entry: str, file: str | None = None) -> int:
    """Drop the records of an entry (or of one of its files): the next download is trusted anew."""

    def change(document: dict[str, Any]) -> int:
        hashes = document.setdefault("hashes", {})
        doomed = [
            key
            for key in hashes
            if key == key(entry, file or "") or (file is None and key.startswith(f"{entry.lower()}/"))
        ]
        for key in doomed:
            del hashes[key]
        return len(doomed)

    return state.update(lock_path(), LOCK_FORMAT, change)
