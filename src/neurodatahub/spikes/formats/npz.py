"""Spike trains as a NumPy NPZ archive: the model's own ragged arrays, readable with `np.load` alone.

Layout: `spike_times` (float64 s or ms, int64 samples), `spike_times_index` (int64 exclusive end offsets,
NWB style), `unit_ids` (int64); 0-d `start_time`, `length` (float64, in the time unit), `time_unit`
(text), `sampling_rate` (float64, NaN when unknown); one `attr__<name>` array per unit attribute (text,
numbers or booleans, never objects); 0-d JSON text `metadata_json`, `provenance_json` and
`unit_attributes_json` (descriptions and units of attribute columns) when there is something to say;
`raw_data` (channels x samples) with `raw_time` (in the time unit), `raw_sampling_rate` and `raw_unit`
when the data carries its continuous signal.

Archives are always opened with allow_pickle=False: an object array is pickled Python, and loading it
would run code from the file, so it is refused. spikelab's sorted NPZ keeps its units as pickled dicts
and is refused for the same reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import storage
from neurodatahub.core.codecs.npz import NPY_MAGIC, ZIP_MAGIC, member_names, npz_array, open_archive
from neurodatahub.core.errors import InputError
from neurodatahub.core.options import Flag, Positive
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.spikes import common
from neurodatahub.spikes.formats import tables

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

ATTRIBUTE_PREFIX = "attr__"


class ReadOptions(common.TimeOptions):
    time_unit: common.TimeUnit | None = Field(
        None, description="unit of spike_times when the archive has no time_unit array (default s)"
    )
    sampling_rate: Positive | None = Field(
        None, description="sampling rate in Hz, for times in samples when the archive does not record it"
    )


class WriteOptions(tables.WriteOptions):
    compress: Flag = Field(
        False, description="deflate the arrays (smaller, several times slower to write and read)"
    )


def write_npz(
    spikes: Any,
    path: Path,
    *,
    time_unit: str | None = None,
    sampling_rate: Any = None,
    compress: bool = False,
) -> None:
    unit, rate = tables.target_unit(spikes, time_unit, sampling_rate)
    times = tables.file_times(spikes, unit, rate)
    start, length = tables.file_window(spikes, unit, rate, times)
    arrays: dict[str, np.ndarray] = {
        "spike_times": times,
        "spike_times_index": np.asarray(spikes.spike_times_index, dtype=np.int64),
        "unit_ids": np.asarray(spikes.unit_ids, dtype=np.int64),
        "start_time": np.float64(start),
        "length": np.float64(length),
        "time_unit": np.str_(unit),
        "sampling_rate": np.float64(np.nan if rate is None else rate),
    }
    for column in tables.storable_attributes(spikes):
        arrays[ATTRIBUTE_PREFIX + column.name] = column.values
    for name, value in (
        ("metadata_json", tables.plain_metadata(spikes)),
        ("provenance_json", tables.plain_provenance(spikes)),
        ("unit_attributes_json", tables.attribute_notes(spikes)),
    ):
        if value:
            arrays[name] = np.str_(json.dumps(value, allow_nan=True))
    raw = spikes.raw_data
    if raw is not None:
        arrays["raw_data"] = np.asarray(raw.data)
        if raw.time is not None:
            arrays["raw_time"] = tables.scale_times(raw.time, spikes.time_unit, unit, spikes.sampling_rate)
        arrays["raw_sampling_rate"] = np.float64(np.nan if raw.sampling_rate is None else raw.sampling_rate)
        arrays["raw_unit"] = np.str_(raw.unit or "")
    save = np.savez_compressed if compress else np.savez
    with open(path, "wb") as handle:  # a handle: given a path, numpy would append ".npz" to the name
        save(handle, **arrays)


def npz_losses(
    spikes: Any, *, time_unit: str | None = None, sampling_rate: Any = None, compress: bool = False
) -> list[Any]:
    unit, rate = tables.target_unit(spikes, time_unit, sampling_rate)
    return tables.common_losses(spikes, unit, rate)


def _load(url: str, storage_options: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    """Every member of the archive, loaded without unpickling anything."""
    with storage.open_read(url, storage_options) as handle:
        head = handle.read(len(ZIP_MAGIC))
        if head.startswith(NPY_MAGIC[: len(head)]) and head:
            raise InputError(f"{url} holds a single .npy array, not an NPZ archive of spike arrays")
        names = member_names(url, head, storage_options)
        if "spike_times" not in names and {"units", "fs"} <= names:
            raise InputError(
                f"{url} looks like a spikelab sorted NPZ: its units are pickled Python objects, and"
                " loading them would run code from the file, so the hub does not read it"
            )
        handle.seek(0)
        with open_archive(handle, url) as archive:
            return {name: npz_array(archive, name, url) for name in archive.files}


def _array(arrays: Mapping[str, np.ndarray], name: str, kinds: str, url: str) -> np.ndarray | None:
    value = arrays.get(name)
    if value is not None and (value.ndim != 1 or value.dtype.kind not in kinds):
        what = "integers" if kinds == "iu" else "numbers"
        raise InputError(
            f"{url}: {name} must be a 1-D array of {what}, got {value.dtype} of shape {value.shape}"
        )
    return value


def _scalar(arrays: Mapping[str, np.ndarray], name: str, url: str) -> Any:
    value = arrays.get(name)
    if value is None:
        return None
    if value.ndim != 0:
        raise InputError(f"{url}: {name} must be a single value, got shape {value.shape}")
    return value.item()


def _json(arrays: Mapping[str, np.ndarray], name: str, url: str) -> Any:
    text = _scalar(arrays, name, url)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError) as error:
        raise InputError(f"{url}: {name} is not JSON text ({error})") from error


def _number(arrays: Mapping[str, np.ndarray], name: str, url: str) -> float | None:
    value = _scalar(arrays, name, url)
    return None if value is None or np.isnan(value) else float(value)


def read_npz(
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    time_unit: str | None = None,
    sampling_rate: Any = None,
) -> SpikeData:
    arrays = _load(url, storage_options)
    times = _array(arrays, "spike_times", "iuf", url)
    index = _array(arrays, "spike_times_index", "iu", url)
    if times is None or index is None:
        raise InputError(
            f"{url} has no spike_times and spike_times_index arrays (arrays: {', '.join(arrays) or 'none'})"
        )
    unit_ids = _array(arrays, "unit_ids", "iu", url)
    if unit_ids is not None and index.size == unit_ids.size + 1 and index.size and index[0] == 0:
        index = index[1:]  # offsets with a leading 0, as some writers store them
    unit = tables.resolve_time_unit(_scalar(arrays, "time_unit", url), time_unit, url)
    rate = tables.resolve_rate(_number(arrays, "sampling_rate", url), sampling_rate, unit, url)
    attributes = {
        name.removeprefix(ATTRIBUTE_PREFIX): value
        for name, value in arrays.items()
        if name.startswith(ATTRIBUTE_PREFIX)
    }
    raw = None
    if "raw_data" in arrays:
        raw = {
            "data": arrays["raw_data"],
            "time": arrays.get("raw_time"),
            "sampling_rate": _number(arrays, "raw_sampling_rate", url),
            "unit": _scalar(arrays, "raw_unit", url) or None,
        }
    spikes = common.build(
        spike_times=times,
        spike_times_index=index,
        unit_ids=unit_ids,
        time_unit=unit,
        start_time=_number(arrays, "start_time", url),
        length=_number(arrays, "length", url),
        sampling_rate=rate,
        unit_attributes=attributes,
        metadata=_json(arrays, "metadata_json", url),
        provenance=_json(arrays, "provenance_json", url),
        raw_data=raw,
    )
    return tables.annotate(spikes, _json(arrays, "unit_attributes_json", url) or {})


def sniff_npz(probe: Probe) -> bool:
    """A zip whose first member is a .npy array (named at byte 30) and that names spike_times early.

    Other kinds of data come in NPZ too (spectral caches); asking for spike_times leaves them alone.
    """
    head = probe.head
    if not head.startswith(ZIP_MAGIC) or len(head) < 30:
        return False
    name_length = int.from_bytes(head[26:28], "little")
    return head[30 : 30 + name_length].endswith(b".npy") and b"spike_times" in head


register_format(
    FormatSpec(
        name="npz",
        kind=common.KIND,
        description="NumPy NPZ of the ragged arrays (spike_times, spike_times_index, unit_ids) plus the rest",
        extensions=(".npz",),
        read=read_npz,
        write=write_npz,
        sniff=sniff_npz,
        read_options=ReadOptions,
        write_options=WriteOptions,
        losses=npz_losses,
    )
)
