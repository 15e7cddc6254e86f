"""spikelab's pickles (`export_to_pickle`): read only, and only when the user asks for it.

Unpickling runs code named by the file, so a pickle is never opened unless the read option
allow_pickle=True is given (`hub convert x.pkl y.nwb --allow-pickle`, or `--read-option
allow_pickle=true`); otherwise the reader says why it refuses. With it, a pickled spikelab SpikeData
(trains in ms, start_time, length, neuron_attributes, metadata, raw_data/raw_time) becomes the hub's
SpikeData; anything else is refused. The hub never writes pickles: every other spike format is safer
to hand around.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Mapping
from datetime import date, time
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError
from neurodatahub.core.options import Flag, Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.spikes import common
from neurodatahub.spikes.formats import tables

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

PICKLE_PROTOCOLS = range(2, 6)  # protocols 2-5 open with b"\x80" and the protocol number
SPIKELAB_FIELDS = ("train", "start_time", "length", "neuron_attributes", "metadata")


class ReadOptions(Options):
    allow_pickle: Flag = Field(
        False, description="load the pickle although that runs code from the file (only for files you trust)"
    )


def read_pickle(
    url: str, *, storage_options: Mapping[str, Any] | None = None, allow_pickle: bool = False
) -> SpikeData:
    """Refuse unless allowed; then unpickle (the whole file: pickles cannot be read in parts)."""
    if allow_pickle is not True:  # the one boolean rule, also for direct calls: only True unpickles
        allow_pickle = False
    if not allow_pickle:
        raise InputError(
            f"{url} is a Python pickle: loading one runs code from the file, so the hub opens it only when"
            " asked (--allow-pickle, or allow_pickle=True in Python), and only for files you trust"
        )
    with storage.open_read(url, storage_options) as handle:
        payload = handle.read()
    try:
        obj = pickle.loads(payload)
    except ModuleNotFoundError as error:
        raise InputError(
            f"{url}: the pickle needs the Python module {error.name!r}, which is not installed"
        ) from error
    except Exception as error:  # unpickling runs the file's code: any failure means an unreadable input
        raise InputError(f"{url}: cannot unpickle ({type(error).__name__}: {error})") from error
    if not all(hasattr(obj, field) for field in SPIKELAB_FIELDS):
        kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
        raise InputError(f"{url} holds a {kind}, not a spikelab SpikeData")
    return from_spikelab(obj, url)


def from_spikelab(data: Any, url: str) -> Any:
    """The hub's SpikeData from a spikelab SpikeData (times in ms, attributes as one dict per unit)."""
    trains = list(data.train)
    records = list(data.neuron_attributes or ())
    unit_ids, attributes = _unit_columns(records, len(trains), url)
    metadata = _plain(data.metadata or {})
    rate = metadata.get("fs_Hz") if isinstance(metadata, dict) else None
    return common.from_trains(
        trains,
        unit_ids=unit_ids,
        time_unit="ms",
        start_time=float(data.start_time),
        length=float(data.length),
        sampling_rate=float(rate) if isinstance(rate, int | float) and rate > 0 else None,
        unit_attributes=attributes,
        metadata=metadata,
        raw_data=_raw(data),
    )


def _unit_columns(
    records: list[Mapping[str, Any]], n_units: int, url: str
) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """Unit ids (from `unit_id` when every unit has a distinct integer one) and the attribute columns.

    A key becomes a column when every unit has it and the values form one array of numbers, booleans or
    text; others (missing for some units, ragged, nested objects) are left out with a warning.
    """
    if not records:
        return None, {}
    keys = list(dict.fromkeys(key for record in records for key in record))
    columns, skipped = {}, []
    for key in keys:
        values = [record.get(key) for record in records] if all(key in record for record in records) else None
        column = _column(values)
        if column is None:
            skipped.append(str(key))
        else:
            columns[str(key)] = column
    ids = columns.get("unit_id")
    unit_ids = None
    if ids is not None and ids.ndim == 1 and ids.dtype.kind in "iu" and np.unique(ids).size == n_units:
        unit_ids = columns.pop("unit_id")
    if skipped:
        warnings.warn(
            f"{url}: neuron attributes {', '.join(skipped)} are missing for some units or are not arrays of"
            " numbers or text, so they are not read",
            stacklevel=3,
        )
    return unit_ids, columns


def _column(values: list[Any] | None) -> np.ndarray | None:
    if values is None:
        return None
    try:
        column = np.asarray(values)
    except ValueError:  # ragged
        return None
    if column.dtype.kind not in tables.STORABLE_KINDS:
        return None
    if column.dtype.kind == "U" and not all(isinstance(value, str) for value in values):
        return None  # numpy would turn mixed numbers and text into text
    return column


def _plain(value: Any) -> Any:
    """Metadata as plain JSON values, so every writer can store it (arrays become lists)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray | np.generic):
        return _plain(value.tolist())
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, date | time):
        return value.isoformat()
    return repr(value)


def _raw(data: Any) -> dict[str, Any] | None:
    """spikelab keeps an empty (0, 0) raw_data when there is none; its raw_time is in ms like the trains."""
    raw = np.asarray(getattr(data, "raw_data", np.zeros((0, 0))))
    if raw.size == 0:
        return None
    return {
        "data": np.atleast_2d(raw).astype(np.float64),
        "time": np.asarray(data.raw_time, dtype=np.float64),
    }


def sniff_pickle(probe: Probe) -> bool:
    return len(probe.head) > 1 and probe.head[0] == 0x80 and probe.head[1] in PICKLE_PROTOCOLS


register_format(
    FormatSpec(
        name="pickle",
        kind=common.KIND,
        description="spikelab's pickled SpikeData (read only, and only with allow_pickle=true)",
        extensions=(".pkl", ".pickle"),
        read=read_pickle,
        sniff=sniff_pickle,
        read_options=ReadOptions,
    )
)
