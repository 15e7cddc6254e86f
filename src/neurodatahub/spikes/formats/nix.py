"""NIX files (.nix, HDF5) holding spike trains the way neo writes them, read and written through neo's NixIO.

neo's NixIO is the writer of record for spike trains in NIX (a neo Block -> Segment -> SpikeTrain
becomes NIX blocks, groups, multi-tags and metadata sections), so the hub goes through it both ways
rather than laying NIX objects out itself: what it writes is what neo reads back, and files neo wrote
read here.

Writing: one block, one segment, one SpikeTrain per unit, named `unit <id>`, in the data's time unit
(s or ms; samples become seconds: declared), with the window as t_start and t_stop, the sampling rate
when known, the unit id and each unit attribute as annotations (NIX metadata properties), and the
metadata as JSON under the block annotation `neurodatahub_metadata`. Reading: the segment `segment=`
names (an error lists them when a file has several), the unit ids from the `unit_id` annotations (else
0..N-1), annotations every train has as unit attributes, the window from the trains' t_start and
t_stop. Waveforms, analog signals and events are not read (named in the metadata).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import storage
from neurodatahub.core.codecs.hdf5 import is_hdf5, open_hdf5
from neurodatahub.core.codecs.metadata import to_json
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.options import Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.spikes import common

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

METADATA_KEY = "neurodatahub_metadata"
RATE_KEY = "neurodatahub_sampling_rate_hz"
UNIT_ID = "unit_id"
NEO_KEYS = ("nix_name", "neo_name")  # annotations NixIO adds on reading


class ReadOptions(Options):
    segment: int | None = Field(None, ge=0, description="the segment to read when the file has several")


def write(spikes: SpikeData, path: Path) -> None:
    import neo
    import quantities as pq
    from neo.io import NixIO

    unit = {"s": pq.s, "ms": pq.ms}.get(spikes.time_unit, pq.s)
    as_unit = spikes.time_unit if spikes.time_unit in ("s", "ms") else "s"
    times = common.times_in(spikes, as_unit)
    start, length = common.window_in(spikes, as_unit)
    attributes = common.attributes(spikes)
    block = neo.Block(name="neurodatahub")
    if spikes.metadata is not None:
        block.annotate(**{METADATA_KEY: to_json(spikes.metadata)})
    if spikes.sampling_rate:  # neo's NixIO does not keep a spike train's sampling rate
        block.annotate(**{RATE_KEY: float(spikes.sampling_rate)})
    segment = neo.Segment(name="segment 0")
    for index, (unit_id, train) in enumerate(
        zip(
            np.asarray(spikes.unit_ids).tolist(),
            common.split_by_units(times, spikes.spike_times_index),
            strict=True,
        )
    ):
        notes = {name: values[index] for name, values in attributes.items()}
        segment.spiketrains.append(
            neo.SpikeTrain(
                np.asarray(train, dtype=np.float64) * unit,
                t_start=start * unit,
                t_stop=(start + length) * unit,
                name=f"unit {unit_id}",
                **{UNIT_ID: int(unit_id), **notes},
            )
        )
    block.segments.append(segment)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        io = NixIO(str(path), mode="ow")
        try:
            io.write_block(block)
        finally:
            io.close()


def losses(spikes: SpikeData) -> list[Any]:
    found = []
    if spikes.time_unit == "samples":
        found.append(
            common.loss("time_unit", "neo spike trains carry time units: samples written as seconds")
        )
    for field in ("raw_data", "provenance"):
        if getattr(spikes, field):
            found.append(common.loss(field, "the hub's NIX spike trains have no place for it"))
    for name, values in common.attributes(spikes).items():
        if values.dtype.kind not in "biufU" or name in (UNIT_ID, *NEO_KEYS):
            found.append(common.loss(f"unit_attributes.{name}", "not a value NIX metadata holds"))
    return found


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(8)


def _read_block(path: Path, url: str) -> Any:
    from neo.io import NixIO

    if is_hdf5(_head(path)):
        with open_hdf5(str(path)):  # NIX is HDF5: references outside it are refused before neo opens it
            pass

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            io = NixIO(str(path), mode="ro")
        except Exception as error:  # nixio raises plain Exceptions for files that are not NIX
            raise InputError(f"{url}: not a readable NIX file ({type(error).__name__}: {error})") from error
        try:
            blocks = io.read_all_blocks()
        except Exception as error:  # damaged objects surface as KeyError, ValueError, RuntimeError...
            raise InputError(
                f"{url}: the NIX file cannot be read by neo ({type(error).__name__}: {error})"
            ) from error
        finally:
            io.close()
    if not blocks:
        raise InputError(f"{url} holds no NIX block")
    return blocks


def read(
    url: str, *, storage_options: Mapping[str, Any] | None = None, segment: int | None = None
) -> SpikeData:
    with storage.local_copy(url, storage_options) as path:
        blocks = _read_block(path, url)
    segments = [item for block in blocks for item in block.segments]
    if segment is None and len(segments) > 1:
        raise InputError(f"{url} holds {len(segments)} segments; choose one with -R segment=N (0-based)")
    chosen = segment or 0
    if chosen >= len(segments):
        raise InputError(f"{url} has {len(segments)} segments; segment {chosen} does not exist")
    trains = segments[chosen].spiketrains
    if not trains:
        raise InputError(f"{url}: segment {chosen} holds no spike trains")
    unit = "ms" if all(str(train.units.dimensionality) == "ms" for train in trains) else "s"
    values = [np.asarray(train.rescale(unit).magnitude, dtype=np.float64) for train in trains]
    start = min(float(train.t_start.rescale(unit)) for train in trains)
    stop = max(float(train.t_stop.rescale(unit)) for train in trains)
    ids = [train.annotations.get(UNIT_ID) for train in trains]
    if not all(isinstance(value, int | np.integer) for value in ids) or len(set(ids)) != len(ids):
        ids = list(range(len(trains)))
    shared = [  # in the first train's order
        name
        for name in trains[0].annotations
        if name not in (UNIT_ID, *NEO_KEYS) and all(name in train.annotations for train in trains)
    ]
    attributes = {name: np.asarray([train.annotations[name] for train in trains]) for name in shared}
    rate = blocks[0].annotations.get(RATE_KEY)
    metadata = _metadata(blocks[0].annotations.get(METADATA_KEY), url)
    ignored = [
        kind for kind in ("analogsignals", "events", "epochs", "irregularlysampledsignals")
        if getattr(segments[chosen], kind)
    ]  # fmt: skip
    if ignored:
        metadata = {**(metadata or {}), "nix_not_read": ignored}
    return common.from_trains(
        values, time_unit=unit, start_time=start, length=stop - start,
        unit_ids=np.asarray(ids, dtype=np.int64),
        sampling_rate=None if rate is None else float(rate),
        unit_attributes={name: array for name, array in attributes.items() if array.ndim >= 1},
        metadata=metadata,
    )  # fmt: skip


def _metadata(text: Any, url: str) -> Any:
    if text is None:
        return None
    try:
        found = json.loads(str(text))
    except ValueError as error:
        raise InputError(f"{url}: {METADATA_KEY} is not JSON ({error})") from error
    if not isinstance(found, dict):
        raise UsageError(f"{url}: {METADATA_KEY} is not a JSON object")
    return found


def sniff(probe: Probe) -> bool:
    root = probe.hdf5_root
    return root is not None and root[0].get("format") == "nix"


register_format(
    FormatSpec(
        name="nix",
        kind=common.KIND,
        description="NIX (HDF5) spike trains as neo's NixIO writes and reads them",
        extensions=(".nix",),
        read=read,
        write=write,
        sniff=sniff,
        read_options=ReadOptions,
        cannot_store=("times in samples (written as seconds)", "raw data", "provenance"),
        losses=losses,
    )
)
