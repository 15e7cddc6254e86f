"""Catalog entries, checksums and fetch progress: what the schema cannot say about them."""

from __future__ import annotations

from typing import Any

from neurodatahub.core.checks import (
    invariant,
    require_digest,
    require_unique,
)


@invariant("Checksum")
def _checksum(checksum: Any) -> None:
    if checksum.algorithm != "unknown" and checksum.value is None:
        raise ValueError(
            f"a {checksum.algorithm} checksum needs its value (use algorithm unknown if none is published)"
        )
    require_digest(
        checksum.algorithm if checksum.algorithm != "unknown" else None, checksum.value, "checksum"
    )


@invariant("CatalogEntry")
def _catalog_entry(entry: Any) -> None:
    require_unique([file.name for file in entry.files or ()], "file names")


@invariant("FetchProgress")
def _fetch_progress(progress: Any) -> None:
    if progress.files_completed > progress.files_total:
        raise ValueError("files_completed exceeds files_total")
    if progress.bytes_total and (progress.bytes_transferred or 0) > progress.bytes_total:
        raise ValueError("bytes_transferred exceeds bytes_total")
