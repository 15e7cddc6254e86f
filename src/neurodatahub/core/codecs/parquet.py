"""Parquet and Arrow tables with the hub's header in the schema metadata."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from neurodatahub.core import budget, storage
from neurodatahub.core.errors import InputError

HUB_METADATA_KEY = b"neurodatahub"  # Parquet/Arrow schema metadata holding the hub's own header
HUB_METADATA_VERSION = 1


def read_parquet_table(url: str, storage_options: Mapping[str, Any] | None = None) -> Any:
    """A whole Parquet file as a pyarrow Table; damaged files are InputError, not pyarrow's exceptions."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with storage.open_read(url, storage_options) as handle:
        try:
            check_declared(pq.ParquetFile(handle).metadata, storage.handle_size(handle), url)
            handle.seek(0)
            return pq.read_table(handle)
        except (pa.ArrowException, OSError) as error:
            raise InputError(f"{url}: not a readable Parquet file ({error})") from error


def check_declared(metadata: Any, stored: int | None, url: str) -> None:
    """The uncompressed size the footer declares for its row groups, against the memory budget and the
    decompression limit (core.budget), before any column is read."""
    declared = sum(metadata.row_group(index).total_byte_size for index in range(metadata.num_row_groups))
    what = f"the Parquet table ({metadata.num_rows} rows, {metadata.num_columns} columns)"
    budget.require(declared, what, url)
    if stored is not None:
        budget.require_inflation(declared, stored, what, url)


def hub_metadata(table: Any, url: str) -> dict[str, Any]:
    """The hub's header in a table's schema metadata ({} in files other tools wrote)."""
    raw = (table.schema.metadata or {}).get(HUB_METADATA_KEY)
    if raw is None:
        return {}
    try:
        header = json.loads(raw)
    except ValueError as error:
        raise InputError(f"{url}: damaged neurodatahub metadata ({error})") from error
    if not isinstance(header, dict) or header.get("version") != HUB_METADATA_VERSION:
        raise InputError(f"{url}: neurodatahub metadata of an unknown layout")
    return header
