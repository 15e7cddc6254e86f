"""Parquet and Arrow tables with the hub's header in the schema metadata."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from neurodatahub.core import budget, storage
from neurodatahub.core.errors import InputError

HUB_METADATA_KEY = b"neurodatahub"  # Parquet/Arrow schema metadata holding the hub's own header
HUB_METADATA_VERSION = 1
PARQUET_MAGIC = b"PAR1"


@contextlib.contextmanager
def arrow_source(url: str, storage_options: Mapping[str, Any] | None = None) -> Iterator[str]:
    """What pyarrow reads `url` from: a path it opens itself, never a Python file object.

    pyarrow reads ahead on its own IO threads. From a Python file, what it reads are Python objects,
    and a read-ahead that ends after the call has returned drops the last of them on an IO thread; if
    that happens while the interpreter exits, the thread cannot take the GIL, Python ends it with
    pthread_exit, the unwinding crosses arrow's noexcept C++ frames and the process aborts
    ("terminate called without an active exception", exit 134, after printing a correct result).
    Local files go by path; remote ones are copied to a local temporary first.
    """
    with storage.local_copy(url, storage_options) as path:
        yield str(path)


def arrow_buffer(data: bytes) -> Any:
    """`data` copied into memory pyarrow owns, for readers of bytes in memory (see arrow_source)."""
    import numpy as np
    import pyarrow as pa

    buffer = pa.allocate_buffer(len(data))
    np.frombuffer(buffer, dtype=np.uint8)[:] = np.frombuffer(data, dtype=np.uint8)
    return buffer


def schema_names(url: str, storage_options: Mapping[str, Any] | None = None) -> set[str]:
    """The column names of a Parquet file from its footer alone (for sniffers).

    Reading a footer is synchronous (no read-ahead on pyarrow's threads), so a remote file is read
    through its Python file object rather than copied whole."""
    import pyarrow.parquet as pq

    if storage.is_local(url):
        return set(pq.read_schema(str(storage.local_path(url))).names)
    with storage.open_read(url, storage_options) as handle:
        return set(pq.read_schema(handle).names)


def columns_match(probe: Any, accepts: Callable[[set[str]], bool]) -> bool:
    """A sniff for Parquet tables told apart by their columns (spike, region and edge tables are all
    Parquet): the file starts as Parquet does and `accepts` its column names; unreadable is no match."""
    if not probe.head.startswith(PARQUET_MAGIC):
        return False
    import pyarrow as pa

    try:
        return accepts(schema_names(probe.url, probe.storage_options))
    except (pa.ArrowException, OSError, InputError):
        return False


def read_parquet_table(url: str, storage_options: Mapping[str, Any] | None = None) -> Any:
    """A whole Parquet file as a pyarrow Table; damaged files are InputError, not pyarrow's exceptions."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with arrow_source(url, storage_options) as source:
        try:
            check_declared(pq.read_metadata(source), os.path.getsize(source), url)
            return pq.read_table(source)
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


def check_declared_column(metadata: Any, name: str, url: str) -> None:
    """The budget for one numeric column read alone (a header-only summary reads the unit column only):
    its encoded pages plus its values decoded, 8 bytes a row. No ratio limit: a run-length encoded unit
    column legitimately decodes to thousands of times its stored size."""
    encoded = 0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            if chunk.path_in_schema == name:
                encoded += chunk.total_uncompressed_size
    budget.require(
        encoded + 8 * metadata.num_rows, f"the Parquet column {name} ({metadata.num_rows} rows)", url
    )


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
