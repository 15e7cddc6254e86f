"""Connectivity matrices as edge lists: Parquet (`parquet`) and TSV (`edges-tsv`, `.edges.tsv`).

Columns: `i`, `j` (1-based region indices), `region_i`, `region_j` (labels), `weight`. Rows, in
row-major order:
- a matrix that is exactly symmetric (NaN mirrored): its upper triangle, diagonal included;
- any other matrix: both (i, j) and (j, i) for every pair where either is non-zero, plus the diagonal.
Off-diagonal zeros are left out (read back as 0); NaN is not zero and is kept. The diagonal is always
written, so every region appears with its label even when it has no edge.

Reading: a row below the diagonal (i > j) says the list holds both triangles; otherwise it is an upper
triangle and is mirrored. Both layouts round-trip exactly, so no matrix is lossy here. (A directed
edge list from elsewhere with no row below the diagonal therefore reads as symmetric.) Indices must
cover 1..N, each with one label; a repeated (i, j) is an error. Without label columns the labels are
the indices as text. Columns other than these five are not read (a warning names them).

Parquet also keeps the labels, measure, atlas, symmetric flag, description and metadata as JSON under
the key `neurodatahub` of the file's metadata (lossless; `weight` keeps the matrix's float dtype,
float16 as float32). The TSV has no place for them (declared losses); its weights are exact unless
`float_format` rounds them.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.connectivity import common
from neurodatahub.core import storage
from neurodatahub.core.codecs.metadata import to_json
from neurodatahub.core.codecs.parquet import (
    HUB_METADATA_KEY,
    HUB_METADATA_VERSION,
    columns_match,
    hub_metadata,
    read_parquet_table,
)
from neurodatahub.core.errors import InputError
from neurodatahub.core.options import FloatFormat, Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

COLUMNS = ("i", "j", "region_i", "region_j", "weight")
REQUIRED = {"i", "j", "weight"}


class ExactWriteOptions(Options):
    float_format: FloatFormat = Field(
        common.EXACT,
        description="printf format of the values, e.g. %.6f (default %r: the shortest exact text)",
    )


TSV_CANNOT_STORE = ("measure", "atlas", "symmetric flag", "description", "metadata")


# ---- matrix <-> edges ----


def edges_of(matrix: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """0-based (i, j), weights and whether only the upper triangle is written."""
    from neurodatahub.connectivity.checks import is_exactly_symmetric

    values = np.asarray(matrix)
    present = (values != 0) | np.isnan(values)
    diagonal = np.eye(len(values), dtype=bool)
    upper = is_exactly_symmetric(values)
    keep = np.triu(present | diagonal) if upper else present | present.T | diagonal
    rows, cols = np.nonzero(keep)
    return rows, cols, values[rows, cols], upper


def _indices(values: Any, name: str, url: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        try:
            array = np.asarray(array, dtype=str).astype(np.int64)
        except ValueError as error:
            raise InputError(f"{url}: column {name} must hold whole region indices ({error})") from error
    if array.size and array.min() < 1:
        raise InputError(f"{url}: column {name} holds {array.min()}; region indices are 1-based")
    return array.astype(np.int64)


def _labels_from_names(indices: np.ndarray, names: np.ndarray | None, url: str) -> tuple[list[str], int]:
    """One label per index 1..N from the (index, name) pairs of the rows; gaps and conflicts are errors."""
    order = np.argsort(indices, kind="stable")
    ordered = indices[order]
    repeated = ordered[1:] == ordered[:-1]
    if names is not None:
        ordered_names = np.asarray(names, dtype=str)[order]
        conflict = repeated & (ordered_names[1:] != ordered_names[:-1])
        if conflict.any():
            at = int(np.flatnonzero(conflict)[0]) + 1
            raise InputError(
                f"{url}: region {ordered[at]} is named both {ordered_names[at - 1]!r}"
                f" and {ordered_names[at]!r}"
            )
    first = np.concatenate([[True], ~repeated]) if ordered.size else np.zeros(0, dtype=bool)
    unique = ordered[first]
    count = int(unique[-1]) if unique.size else 0
    if unique.size != count:
        missing = np.setdiff1d(np.arange(1, count + 1), unique)[:5].tolist()
        raise InputError(f"{url}: regions {missing} appear in no row, so their labels are unknown")
    if names is None:
        return common.default_labels(count, first=1), count
    return [str(name) for name in ordered_names[first].tolist()], count


def matrix_of(
    i: np.ndarray,
    j: np.ndarray,
    weight: np.ndarray,
    url: str,
    *,
    names_i: Any = None,
    names_j: Any = None,
    labels: list[str] | None = None,
    layout: str | None = None,
) -> tuple[np.ndarray, list[str]]:
    """The N x N matrix and labels an edge list describes (labels from the file's metadata win)."""
    if labels is None:
        names = None if names_i is None else np.concatenate([np.asarray(names_i), np.asarray(names_j)])
        labels, count = _labels_from_names(np.concatenate([i, j]), names, url)
    count = len(labels)
    if i.size and max(i.max(), j.max()) > count:
        raise InputError(f"{url}: region index {max(i.max(), j.max())} beyond the {count} labelled regions")
    codes = (i - 1) * count + (j - 1)
    if np.unique(codes).size != codes.size:
        raise InputError(f"{url}: some (i, j) pair appears in more than one row")
    full = bool((i > j).any()) if layout is None else layout == "full"
    dtype = weight.dtype if weight.dtype.kind == "f" else np.float64
    matrix = np.zeros((count, count), dtype=dtype)
    matrix[i - 1, j - 1] = weight
    if not full:
        matrix[j - 1, i - 1] = weight
    return matrix, labels


# ---- TSV ----


def write_tsv(conn: ConnectivityMatrix, path: Path, *, float_format: str = common.EXACT) -> None:
    rows, cols, weights, _ = edges_of(conn.matrix)
    labels = [common.quote(str(label), "\t") for label in conn.region_labels]
    texts = common.format_rows(weights, float_format, "\t")
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\t".join(COLUMNS) + "\n")
        handle.writelines(
            f"{a + 1}\t{b + 1}\t{labels[a]}\t{labels[b]}\t{weight}\n"
            for a, b, weight in zip(rows.tolist(), cols.tolist(), texts, strict=True)
        )


def _typed(data: bytes) -> Any:
    """The table parsed with its column types in C (indices int64, weights float64), or None when a cell
    does not parse, so the cell-by-cell reader can say which."""
    import pandas as pd

    types = {"i": np.int64, "j": np.int64, "weight": np.float64, "region_i": str, "region_j": str}
    try:
        return pd.read_csv(
            io.BytesIO(data),
            sep="\t",
            dtype=types,
            keep_default_na=False,
            na_values={"weight": ["nan", "NaN", *common.NAN_SPELLINGS]},
            encoding="utf-8-sig",
        )
    except (ValueError, TypeError, pd.errors.ParserError):
        return None


def _columns(data: bytes, url: str) -> dict[str, np.ndarray]:
    """The columns by name; indices and weights as numbers when the file is clean, else as text.

    Quoted files (labels holding tabs or quotes) are read cell by cell by pandas' parser; unquoted ones
    are first checked for ragged rows (pandas would fill a short row with NaN).
    """
    if b'"' not in data:
        common.rectangular(common.decode_lines(data, url), "\t", url)
        frame = _typed(data)
        if frame is not None:
            return {str(name): frame[name].to_numpy() for name in frame.columns}
    cells = common.read_cells(io.BytesIO(data), "\t", url)
    return {str(name): cells[1:, index] for index, name in enumerate(cells[0])}


def read_tsv(url: str, *, storage_options: Mapping[str, Any] | None = None) -> ConnectivityMatrix:
    with storage.open_read(url, storage_options) as handle:
        data = handle.read()
    column = _columns(data, url)
    header = list(column)
    missing = REQUIRED - set(header)
    if missing:
        raise InputError(f"{url}: an edge list needs columns {', '.join(sorted(missing))}")
    _warn_unread(header, url)
    weight = column["weight"]
    if weight.dtype.kind != "f":
        weight = common.parse_numbers(weight[:, None], url, 2, header.index("weight") + 1).reshape(-1)
    named = "region_i" in column and "region_j" in column
    matrix, labels = matrix_of(
        _indices(column["i"], "i", url),
        _indices(column["j"], "j", url),
        weight,
        url,
        names_i=column["region_i"] if named else None,
        names_j=column["region_j"] if named else None,
    )
    return common.build(matrix, labels)


def _warn_unread(header: list[str], url: str) -> None:
    extra = [name for name in header if name not in COLUMNS]
    if extra:
        warnings.warn(
            f"{url}: columns {', '.join(extra)} are not part of an edge list; not read", stacklevel=3
        )


def tsv_losses(conn: ConnectivityMatrix, *, float_format: str = common.EXACT) -> list[Any]:
    _, _, weights, _ = edges_of(conn.matrix)
    return [
        *common.lost_fields(conn, "an edge-list TSV holds only indices, labels and weights"),
        *common.rounding_loss(weights, float_format),
    ]


def sniff_tsv(probe: Probe) -> bool:
    rows = common.head_rows(probe.head, "\t", 1)
    return bool(rows) and {cell.strip() for cell in rows[0]} >= REQUIRED


# ---- Parquet ----


def write_parquet(conn: ConnectivityMatrix, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, cols, weights, upper = edges_of(conn.matrix)
    if weights.dtype == np.float16:  # Parquet has no half floats
        weights = weights.astype(np.float32)
    labels = pa.array([str(label) for label in conn.region_labels], type=pa.string())
    table = pa.table(
        {
            "i": pa.array(rows + 1, type=pa.int64()),
            "j": pa.array(cols + 1, type=pa.int64()),
            "region_i": labels.take(pa.array(rows)),
            "region_j": labels.take(pa.array(cols)),
            "weight": pa.array(weights),
        }
    )
    header = {
        "version": HUB_METADATA_VERSION,
        "class": type(conn).__name__,
        "layout": "upper" if upper else "full",
        "region_labels": [str(label) for label in conn.region_labels],
        **{name: value for name, value in common.fields_of(conn).items() if value is not None},
    }
    metadata = {HUB_METADATA_KEY: to_json(header).encode("utf-8")}
    pq.write_table(table.replace_schema_metadata(metadata), str(path))


def read_parquet(url: str, *, storage_options: Mapping[str, Any] | None = None) -> ConnectivityMatrix:
    table = read_parquet_table(url, storage_options)
    missing = REQUIRED - set(table.column_names)
    if missing:
        raise InputError(f"{url}: an edge list needs columns {', '.join(sorted(missing))}")
    _warn_unread(table.column_names, url)
    header = hub_metadata(table, url)

    def column(name: str) -> np.ndarray | None:
        if name not in table.column_names:
            return None
        return table.column(name).to_numpy(zero_copy_only=False)

    weight = column("weight")
    names_i, names_j = column("region_i"), column("region_j")
    if names_i is None or names_j is None:
        names_i = names_j = None
    if weight.dtype.kind not in "biuf":
        raise InputError(f"{url}: column weight must hold numbers, got {weight.dtype}")
    labels = header.get("region_labels")
    matrix, labels = matrix_of(
        _indices(column("i"), "i", url),
        _indices(column("j"), "j", url),
        weight,
        url,
        names_i=names_i,
        names_j=names_j,
        labels=None if labels is None else [str(label) for label in labels],
        layout=header.get("layout"),
    )
    fields = {name: header.get(name) for name in common.OPTIONAL_FIELDS}
    return common.build(matrix, labels, **fields)


def sniff_parquet(probe: Probe) -> bool:
    return columns_match(probe, REQUIRED.issubset)


register_format(
    FormatSpec(
        name="parquet",
        kind=common.KIND,
        description="Edge list in Parquet (i, j 1-based, region_i, region_j, weight); fields in its metadata",
        extensions=(".parquet", ".pq"),
        read=read_parquet,
        write=write_parquet,
        sniff=sniff_parquet,
        claims_extension=False,  # spike tables own .parquet; an edge list is known by its columns
    )
)
register_format(
    FormatSpec(
        name="edges-tsv",
        kind=common.KIND,
        description="Edge list as TSV (i, j 1-based, region_i, region_j, weight); one triangle if symmetric",
        extensions=(".edges.tsv",),
        read=read_tsv,
        write=write_tsv,
        sniff=sniff_tsv,
        write_options=ExactWriteOptions,
        cannot_store=TSV_CANNOT_STORE,
        losses=tsv_losses,
        claims_extension=False,
    )
)
