"""Data larger than memory moves as a stream: a header model, then validated chunk models.

A tractogram of 10 GB or a functional connectome of 1000 subjects cannot be one in-memory model. Formats
of such data read a `Stream`: a header (a model of the pivot class whose bulk arrays are empty) and an
iterator of chunks (models of the same class holding consecutive pieces of the bulk arrays). Each chunk is
validated like any model, so every import is still checked by the schema, one piece at a time.

What the bulk of a class is comes from the schema (attributes annotated `bulk`, in the generated facts):
arrays are concatenated along their first axis (or their last, `bulk: last axis`: the volumes of a 4D
series), named per-element arrays by name, and offset arrays (`bulk: offsets of FIELD`) are shifted by
the rows of the array they index. "Rows" are the entries along that axis.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from neurodatahub.core import kinds

StreamReader = Callable[..., contextlib.AbstractContextManager["Stream"]]  # (url, *, storage_options, **o)
StreamWriter = Callable[..., None]  # (stream, local_path, **options)
StreamSummary = Callable[[BaseModel, dict[str, Any]], dict[str, Any]]  # (header, tally) -> summary
_STREAM_SUMMARIES: dict[str, StreamSummary] = {}

# a streamed copy matches its source when every count is equal and every sum agrees to this much per value
# (TRK keeps voxel-scaled float32 coordinates: a round trip through it moves points by ~1e-5 mm)
SUM_TOLERANCE_PER_VALUE = 1e-4
SUM_RELATIVE_TOLERANCE = 1e-6


@dataclass
class Stream:
    """A header model (bulk arrays empty, or the whole data for an in-memory model) and its chunks.

    Writers take everything but the bulk from the header and the bulk only from the chunks, so an
    in-memory model is written as `Stream(model, iter([model]))`.
    """

    header: BaseModel
    chunks: Iterator[BaseModel]

    @classmethod
    def of(cls, model: BaseModel) -> Stream:
        return cls(model, iter([model]))


def bulk_fields(model_or_class: Any) -> dict[str, str | None]:
    name = model_or_class.__name__ if isinstance(model_or_class, type) else type(model_or_class).__name__
    bulk = kinds.bulk_fields(name)
    if not bulk:
        raise KeyError(f"{name} has no bulk fields declared for streaming")
    return bulk


def collect(stream: Stream) -> BaseModel:
    """The whole data as one validated model (for data that fits in memory)."""
    bulk = bulk_fields(stream.header)
    axes = kinds.bulk_axes(type(stream.header).__name__)
    parts: dict[str, list[Any]] = {name: [] for name in bulk}
    rows: dict[str, int] = dict.fromkeys(bulk, 0)
    for chunk in stream.chunks:
        for name, indexed in bulk.items():
            value = getattr(chunk, name)
            if value is None:
                continue
            if indexed is not None:
                value = np.asarray(value) + rows[indexed]
            parts[name].append(value)
        for name in bulk:
            rows[name] += _rows(getattr(chunk, name), axes.get(name, 0))
    fields = {name: getattr(stream.header, name) for name in type(stream.header).model_fields}
    for name in bulk:
        fields[name] = _join(parts[name], getattr(stream.header, name), axes.get(name, 0))
    return type(stream.header)(**fields)


def _rows(value: Any, axis: int = 0) -> int:
    if value is None:
        return 0
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return len(value[0].values)
    return np.shape(value)[axis] if axis else len(value)


def _join(parts: list[Any], empty: Any, axis: int = 0) -> Any:
    """Concatenate array pieces, or named-array lists name by name (in the first piece's order)."""
    if not parts:
        return empty
    first = parts[0]
    if isinstance(first, list) and first and isinstance(first[0], BaseModel):
        joined = []
        for column in first:
            pieces = [next(item for item in part if item.name == column.name).values for part in parts]
            joined.append(column.model_copy(update={"values": np.concatenate(pieces)}))
        return joined
    if isinstance(first, list):
        return [item for part in parts for item in part]
    return np.concatenate(parts, axis=axis) if len(parts) > 1 else first


def tally(chunks: Iterable[BaseModel], into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rows and float64 sums of every bulk array over all chunks: an order-free fingerprint of the bulk."""
    totals: dict[str, Any] = {} if into is None else into
    for chunk in chunks:
        add_to_tally(totals, chunk)
    return totals


def add_to_tally(totals: dict[str, Any], chunk: BaseModel) -> None:
    axes = kinds.bulk_axes(type(chunk).__name__)
    for name, indexed in bulk_fields(chunk).items():
        value = getattr(chunk, name)
        if value is None:
            continue
        if isinstance(value, list) and value and isinstance(value[0], BaseModel):
            for column in value:
                _count(totals, f"{name}.{column.name}", column.values, summed=True)
        else:
            _count(totals, name, value, summed=indexed is None, axis=axes.get(name, 0))


def _count(totals: dict[str, Any], key: str, values: Any, summed: bool, axis: int = 0) -> None:
    entry = totals.setdefault(key, {"rows": 0, "values": 0, "sum": 0.0})
    array = np.asarray(values)
    entry["rows"] += _rows(array, axis)
    if summed and array.dtype.kind in "fiub":
        entry["values"] += array.size
        entry["sum"] += float(np.sum(array, dtype=np.float64))


def tallied(chunks: Iterable[BaseModel], totals: dict[str, Any]) -> Iterator[BaseModel]:
    """Pass chunks through while tallying them (the writer's input is counted as it is consumed)."""
    for chunk in chunks:
        add_to_tally(totals, chunk)
        yield chunk
        del chunk  # not held while the next one is read: memory stays at one chunk


def differences(expected: dict[str, Any], found: dict[str, Any], dropped: Iterable[str] = ()) -> list[str]:
    """What differs between two tallies, ignoring bulk the writer declared it drops."""
    gone = set(dropped)
    problems = []
    for key, want in expected.items():
        if key in gone or key.split(".", 1)[0] in gone:
            continue
        got = found.get(key)
        if got is None:
            problems.append(f"{key} is missing")
        elif got["rows"] != want["rows"] or got["values"] != want["values"]:
            problems.append(f"{key} has {got['rows']} rows, expected {want['rows']}")
        elif not math.isclose(
            got["sum"],
            want["sum"],
            rel_tol=SUM_RELATIVE_TOLERANCE,
            abs_tol=SUM_TOLERANCE_PER_VALUE * want["values"],
        ):
            problems.append(f"{key} values differ (sum {got['sum']!r}, expected {want['sum']!r})")
    return problems


def summarizes_stream(class_name: str) -> Callable[[StreamSummary], StreamSummary]:
    def register(function: StreamSummary) -> StreamSummary:
        _STREAM_SUMMARIES[class_name] = function
        return function

    return register


def summarize_stream(header: BaseModel, totals: dict[str, Any]) -> dict[str, Any]:
    """What `hub info` prints for streamed data: the class's own stream summary, else rows per field."""
    from neurodatahub.core.summary import summarize

    kinds.load_code_for(type(header))
    function = _STREAM_SUMMARIES.get(type(header).__name__)
    if function is not None:
        return {"class": type(header).__name__, **function(header, totals)}
    summary = summarize(header)
    summary.update({key: entry["rows"] for key, entry in totals.items()})
    return summary
