"""Space-separated connectivity matrices: a first line of labels, then one line of values per row.

Registered through the `neurodatahub.formats` entry point; uses only the hub's public API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from neurodatahub import FormatSpec, Options, register_format


class WriteOptions(Options):
    digits: int = Field(6, ge=1, le=17, description="significant digits of each value")


def read(url: str, *, storage_options: Any = None) -> Any:
    import numpy as np

    from neurodatahub import storage
    from neurodatahub.models import ConnectivityMatrix

    with storage.open_read(url, storage_options) as handle:
        lines = handle.read().decode("utf-8").splitlines()
    labels = lines[0].split()
    matrix = np.array([[float(value) for value in line.split()] for line in lines[1:]], dtype=np.float64)
    return ConnectivityMatrix(matrix=matrix.reshape(len(labels), len(labels)), region_labels=labels)


def write(conn: Any, path: Path, *, digits: int = 6) -> None:
    rows = [" ".join(f"{value:.{digits}g}" for value in row) for row in conn.matrix]
    path.write_text(" ".join(conn.region_labels) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


register_format(
    FormatSpec(
        name="ssv",
        kind="connectivity",
        description="space-separated matrix with a line of labels (hub-toy-format plugin)",
        extensions=(".ssv",),
        read=read,
        write=write,
        write_options=WriteOptions,
        cannot_store=("measure, atlas, metadata",),
    )
)
