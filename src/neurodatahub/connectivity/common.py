"""What every connectivity format needs: building the model, numbers as text, labels, declared losses."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.errors import InputError, UsageError

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

KIND = "connectivity"
PROBE_SIZE = 4096  # bytes a Probe reads (storage.read_head's default)
EXACT = "%r"  # Python's shortest text that reads back to the same float
NAN_SPELLINGS = ("n/a", "N/A")  # besides numpy's own (nan, NaN...): what BIDS writers put in a cell
OPTIONAL_FIELDS = ("measure", "atlas", "symmetric", "description", "metadata")


def build(matrix: Any, region_labels: Sequence[str], **fields: Any) -> Any:
    """A validated ConnectivityMatrix; integer or boolean matrices become float64 (the schema's range)."""
    from neurodatahub.core.models import ConnectivityMatrix

    values = np.asarray(matrix)
    if values.dtype.kind in "biu":
        values = values.astype(np.float64)
    return ConnectivityMatrix(matrix=values, region_labels=list(region_labels), **fields)


def numeric_matrix(values: Any, url: str, what: str = "matrix") -> np.ndarray:
    """A 2-D array of numbers from a binary container (NPZ, HDF5), else an InputError naming it."""
    array = np.asarray(values)
    if array.ndim != 2 or array.dtype.kind not in "biuf":
        raise InputError(
            f"{url}: {what} must be a 2-D array of numbers, got {array.dtype} of shape {array.shape}"
        )
    return array


def default_labels(count: int, first: int = 0) -> list[str]:
    return [str(index) for index in range(first, first + count)]


# ---- HDF5 (shared with the spectral cache) ----

# ---- numbers as text ----


def format_rows(matrix: np.ndarray, float_format: str, delimiter: str) -> list[str]:
    """Each row as one line of text, formatted in one `%` per row (as numpy's savetxt does)."""
    values = np.asarray(matrix)
    if values.ndim == 1:
        values = values[:, None]
    row_format = delimiter.join([float_format] * values.shape[1])
    return [row_format % tuple(row) for row in values.tolist()]


def rounding_loss(matrix: np.ndarray, float_format: str, field: str = "matrix") -> list[Any]:
    """A Loss when some value does not survive the format (checked by writing and reading it back)."""
    from neurodatahub.core.models import Loss

    if float_format == EXACT:
        return []
    values = np.asarray(matrix, dtype=np.float64)
    values = values.reshape(len(values), -1) if values.ndim > 1 else values.reshape(1, -1)
    text = " ".join(format_rows(values, float_format, " ")) if values.size else ""
    back = np.array(text.split(), dtype=np.float64).reshape(values.shape)  # formats may pad with spaces
    overflow = np.isinf(back) & np.isfinite(values)
    if overflow.any():
        raise UsageError(
            f"float_format {float_format} writes {values[overflow][0]!r} as infinity, which no matrix may"
            " hold; use more digits or %r"
        )
    changed = int(np.count_nonzero(~((back == values) | (np.isnan(back) & np.isnan(values)))))
    if not changed:
        return []
    return [Loss(field=field, reason=f"values rounded to {float_format}", count=changed)]


def parse_numbers(cells: np.ndarray, url: str, first_row: int = 1, first_column: int = 1) -> np.ndarray:
    """Text cells to float64, vectorised; NaN spellings are numbers, an empty or other text is an error.

    An empty cell is refused rather than read as NaN: it is what a truncated row or a missing value
    looks like, and a matrix writer spells NaN out.
    """
    text = np.asarray(cells, dtype=str)
    if text.size and np.isin(text, NAN_SPELLINGS).any():
        text = np.where(np.isin(text, NAN_SPELLINGS), "nan", text)
    try:
        return text.astype(np.float64)
    except ValueError:
        pass
    for (row, column), cell in np.ndenumerate(text):  # only on failure: say which cell
        try:
            float(cell)
        except ValueError:
            where = f"line {row + first_row}, column {column + first_column}"
            if not cell.strip():
                raise InputError(f"{url}: missing value at {where} (ragged or truncated row?)") from None
            raise InputError(f"{url}: {cell[:40]!r} at {where} is not a number") from None
    raise InputError(f"{url}: unreadable numbers")  # pragma: no cover - astype and float() agree


def decode_lines(data: bytes, url: str) -> list[str]:
    """The non-empty lines of a text file (UTF-8, a BOM and Windows line ends tolerated)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{url}: not UTF-8 text ({error})") from error
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
    if not lines:
        raise InputError(f"{url} is empty")
    return lines


def rectangular(lines: list[str], delimiter: str, url: str, first_line: int = 1) -> int:
    """The number of cells per line, the same on every line (for files without quoted cells)."""
    counts = np.fromiter((line.count(delimiter) for line in lines), dtype=np.int64, count=len(lines))
    odd = np.flatnonzero(counts != counts[0])
    if odd.size:
        at = int(odd[0])
        found = f"{counts[at] + 1} cell" + ("s" if counts[at] else "")
        raise InputError(
            f"{url}: line {at + first_line} has {found} where line {first_line} has {counts[0] + 1}"
            " (ragged or truncated?)"
        )
    return int(counts[0]) + 1


def parse_block(lines: list[str], delimiter: str, url: str, first_line: int, first_column: int) -> np.ndarray:
    """Rows of numbers as float64: numpy's C parser (exact); cell by cell only to explain an error."""
    if not lines:
        return np.zeros((0, 0))
    text = "\n".join(lines)
    for spelling in NAN_SPELLINGS:
        text = text.replace(spelling, "nan")
    try:
        return np.loadtxt(
            io.StringIO(text), delimiter=delimiter, dtype=np.float64, ndmin=2, comments=None, quotechar=None
        )
    except ValueError:
        cells = np.array([line.split(delimiter) for line in lines], dtype=str)
        return parse_numbers(cells, url, first_line, first_column)


def read_cells(handle: IO[bytes], delimiter: str, url: str) -> np.ndarray:
    """Every cell of a delimited text file as a string (quoted fields as pandas reads them).

    Rows shorter than the first come back padded with empty cells, which `parse_numbers` refuses.
    """
    import pandas as pd

    try:
        frame = pd.read_csv(
            handle,
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError as error:
        raise InputError(f"{url} is empty") from error
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        reason = str(error).strip().splitlines()[-1]
        raise InputError(f"{url}: not a readable matrix ({reason})") from error
    return frame.to_numpy(dtype=object).astype(str)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.strip() in NAN_SPELLINGS
    return True


def head_rows(head: bytes, delimiter: str, count: int = 2, *, cut: bool | None = None) -> list[list[str]]:
    """The first lines of a text probe split into cells; a line the probe cut short loses its last cell.

    `cut`: whether the probe may end inside a line (default: it is as long as a probe reads).
    """
    text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
    every = text.split("\n")  # not splitlines: labels may hold other line separators (U+2028...)
    if every and every[-1] == "":
        every.pop()
    lines = [line.removesuffix("\r") for line in every[:count]]
    rows = [line.split(delimiter) for line in lines]
    cut = len(head) >= PROBE_SIZE if cut is None else cut
    if rows and cut and len(lines) == len(every) and not text.endswith("\n"):
        last = rows[-1]
        rows[-1] = last[:-1] or last
    return rows


def quote(label: str, delimiter: str) -> str:
    """A label as a delimited field: quoted (pandas' minimal quoting) only when it must be."""
    if any(char in label for char in (delimiter, '"', "\n", "\r")):
        return '"' + label.replace('"', '""') + '"'
    return label


# ---- metadata and losses ----


def lost_fields(conn: ConnectivityMatrix, reason: str, fields: Iterable[str] = OPTIONAL_FIELDS) -> list[Any]:
    """A Loss for every optional field the model sets that the format has no place for."""
    from neurodatahub.core.models import Loss

    return [Loss(field=name, reason=reason) for name in fields if getattr(conn, name) is not None]


def fields_of(conn: ConnectivityMatrix) -> Mapping[str, Any]:
    return {name: getattr(conn, name) for name in OPTIONAL_FIELDS}
