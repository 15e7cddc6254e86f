"""Labelled connectivity TSV, as spectralbrain 0.1.0's save_connectome and lacuna write it.

Written: a header row with an empty first cell and the labels, then one `label<TAB>values` row per
region, values with `%.10g` (spectralbrain's default; `float_format` changes it, `%r` is exact), NaN
as `nan`. `pandas.read_csv(path, sep="\\t", index_col=0)` reads it back with the same values and labels.
A label holding a tab, a quote or a line break is quoted as pandas quotes it.

Read, told apart by their shape (N regions):
- header row with an empty first cell, N + 1 lines of N + 1 cells (spectralbrain 0.1.0, lacuna, pandas);
- header row with a named first cell ("region"), same shape (BIDS-style writers);
- N lines of N + 1 cells: spectralbrain before 0.1.0 wrote no header without labels (rows "0".."N-1",
  `%.6f`); the first column gives the labels;
- N lines of N numbers: a bare matrix (numpy's savetxt); labels "0".."N-1".
Row labels must equal the header's. NaN may be spelled nan, NaN or n/a; an empty cell is an error.
Measure, atlas, symmetric flag, description and metadata have no place here: declared losses.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.connectivity import common
from neurodatahub.core import storage
from neurodatahub.core.errors import InputError, InvalidDataError
from neurodatahub.core.options import FloatFormat, Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

DEFAULT_FLOAT_FORMAT = "%.10g"  # spectralbrain 0.1.0's default


class WriteOptions(Options):
    float_format: FloatFormat = Field(
        DEFAULT_FLOAT_FORMAT, description="printf format of the values, as spectralbrain's (%r: exact)"
    )


CANNOT_STORE = ("measure", "atlas", "symmetric flag", "description", "metadata")


def _layout(first: list[str], n_lines: int, n_fields: int, url: str) -> str:
    """header (labels in the first row and column), rows (labels in the first column only) or bare."""
    if first[0] == "" or (n_lines == n_fields and not all(map(common.is_number, first))):
        if n_lines != n_fields:
            # every cell read: a matrix that is not square, whether cut short or made so
            raise not_square(
                url, f"a header of {n_fields - 1} labels but {n_lines - 1} rows (an N x N matrix has N rows)"
            )
        return "header"
    if n_lines == n_fields - 1:
        return "rows"
    if n_lines == n_fields:
        return "bare"
    raise not_square(
        url,
        f"{n_lines} lines of {n_fields} cells is no labelled square matrix"
        " (N + 1 lines of N + 1 cells, or N lines of N + 1 or N cells)",
    )


def not_square(url: str, message: str) -> InvalidDataError:
    """Cells that all read but do not make a square matrix: invalid data (exit 1), not an unreadable file."""
    return InvalidDataError(f"{url}: {message}", [{"location": "(matrix)", "message": message}])


def _same_labels(rows: list[str], columns: list[str], url: str) -> None:
    if rows != columns:
        at = next(index for index, (a, b) in enumerate(zip(rows, columns, strict=True)) if a != b)
        raise InputError(
            f"{url}: row {at + 1} is labelled {rows[at]!r} but column {at + 1} {columns[at]!r};"
            " rows and columns must name the same regions in the same order"
        )


def _read_quoted(data: bytes, url: str) -> tuple[list[str], np.ndarray]:
    """Files with quoted cells (labels holding tabs or quotes): pandas' parser, then cell by cell."""
    cells = common.read_cells(io.BytesIO(data), "\t", url)
    first = [str(cell) for cell in cells[0]]
    layout = _layout(first, *cells.shape, url)
    if layout == "header":
        _same_labels([str(label) for label in cells[1:, 0]], first[1:], url)
        return first[1:], common.parse_numbers(cells[1:, 1:], url, 2, 2)
    if layout == "rows":
        return [str(label) for label in cells[:, 0]], common.parse_numbers(cells[:, 1:], url, 1, 2)
    return common.default_labels(len(cells)), common.parse_numbers(cells, url)


def _read_plain(data: bytes, url: str) -> tuple[list[str], np.ndarray]:
    """Files without quotes, the usual case: each line split once, the numbers parsed in C."""
    lines = common.decode_lines(data, url)
    first = lines[0].split("\t")
    layout = _layout(first, len(lines), common.rectangular(lines, "\t", url), url)
    if layout == "bare":
        return common.default_labels(len(lines)), common.parse_block(lines, "\t", url, 1, 1)
    body = [line.split("\t", 1) for line in (lines[1:] if layout == "header" else lines)]
    labels = [parts[0] for parts in body]
    if layout == "header":
        _same_labels(labels, first[1:], url)
    start = 2 if layout == "header" else 1
    return labels, common.parse_block([parts[1] for parts in body], "\t", url, start, 2)


def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> ConnectivityMatrix:
    with storage.open_read(url, storage_options) as handle:
        data = handle.read()
    labels, values = (_read_quoted if b'"' in data else _read_plain)(data, url)
    return common.build(values, labels)


def write(conn: ConnectivityMatrix, path: Path, *, float_format: str = DEFAULT_FLOAT_FORMAT) -> None:
    labels = [common.quote(str(label), "\t") for label in conn.region_labels]
    rows = common.format_rows(conn.matrix, float_format, "\t")
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\t".join(["", *labels]) + "\n")
        handle.writelines(f"{label}\t{row}\n" for label, row in zip(labels, rows, strict=True))


def losses(conn: ConnectivityMatrix, *, float_format: str = DEFAULT_FLOAT_FORMAT) -> list[Any]:
    return [
        *common.lost_fields(conn, "a labelled TSV holds only labels and values"),
        *common.rounding_loss(conn.matrix, float_format),
    ]


def sniff(probe: Probe) -> bool:
    """An empty first cell; a first line of numbers; or a named corner whose first label starts row 2."""
    rows = common.head_rows(probe.head, "\t")
    if not rows or len(rows[0]) < 2:
        return False
    first = rows[0]
    if first[0] == "" or all(map(common.is_number, first)):
        return True
    return len(rows) > 1 and len(rows[1]) > 1 and rows[1][0] == first[1] and common.is_number(rows[1][1])


register_format(
    FormatSpec(
        name="tsv",
        kind=common.KIND,
        description="Labelled matrix TSV (spectralbrain save_connectome, lacuna); older headerless one too",
        extensions=(".tsv",),
        read=read,
        write=write,
        sniff=sniff,
        write_options=WriteOptions,
        cannot_store=CANNOT_STORE,
        losses=losses,
        claims_extension=False,  # spike tables own .tsv; a matrix is known by its shape
    )
)
