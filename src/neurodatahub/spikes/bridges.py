"""Spike trains to and from what notebooks hold: a pandas long table and a SpikeInterface sorting.
pandas, pyarrow and spikeinterface are imported only when a bridge is called.

The long table is the hub's Parquet table as a DataFrame: one row per spike (`unit_id`, `time_<unit>`), the
unit attributes as columns, and the rest (window, unit ids of units without spikes, attribute types,
metadata) under `frame.attrs["neurodatahub"]`, so the model comes back equal. A DataFrame from elsewhere
needs only a unit and a time column (the names the table formats accept: unit_id, cluster..., time_s,
spike_time...). A sorting counts samples: the model's times go to the sample grid (its sampling rate or
`sampling_rate=`), unit attributes become properties and the metadata annotations.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.spikes import common
from neurodatahub.spikes.formats import spikeinterface as si_format, tables

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

ATTRS_KEY = "neurodatahub"


def to_dataframe(spikes: SpikeData, *, time_unit: str | None = None) -> Any:
    """One row per spike, unit after unit, in `time_unit` (default: the data's)."""
    import pyarrow as pa

    unit, rate = tables.target_unit(spikes, time_unit, None)
    hub_table = tables._hub_table(spikes, unit, rate)
    columns = {name: hub_table.column(name) for name in hub_table.column_names}
    unit_of_spike = common.unit_of_each_spike(spikes)
    for name, values in common.attributes(spikes).items():
        if values.ndim == 1 and name not in columns:
            columns[name] = pa.array(values).take(unit_of_spike)
    frame = pa.table(columns).to_pandas()
    frame.attrs[ATTRS_KEY] = json.loads(hub_table.schema.metadata[tables.HUB_KEY])
    return frame


def from_dataframe(
    frame: Any,
    *,
    unit_column: str | None = None,
    time_column: str | None = None,
    time_unit: str | None = None,
    sampling_rate: float | None = None,
) -> SpikeData:
    """A SpikeData from a long table (rows in any order); the hub's own frames come back exactly."""
    import pyarrow as pa

    header = frame.attrs.get(ATTRS_KEY)
    if header is not None:
        unit_name = unit_column or "unit_id"
        time_name = time_column or f"time_{header.get('time_unit')}"
        table = pa.Table.from_pandas(frame[[unit_name, time_name]], preserve_index=False)
        table = table.replace_schema_metadata({tables.HUB_KEY: tables.to_json(header)})
    else:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    return tables._table_spikes(
        table, "the DataFrame", time_unit=time_unit, sampling_rate=sampling_rate, unit_column=unit_column,
        time_column=time_column,
    )  # fmt: skip


def to_sorting(spikes: SpikeData, *, sampling_rate: float | None = None) -> Any:
    """A SpikeInterface NumpySorting (one segment): sample indices, unit ids, properties, annotations."""
    from spikeinterface.core import NumpySorting

    vector, rate = si_format.sample_vector(spikes, sampling_rate)
    ids = np.asarray(spikes.unit_ids, dtype=np.int64)
    sorting = NumpySorting.from_samples_and_labels(
        [vector["sample_index"]], [ids[vector["unit_index"]]], rate, unit_ids=ids
    )
    for name, values in si_format.unit_properties(spikes).items():
        sorting.set_property(name, values)
    sorting.annotate(**si_format.annotations_of(spikes))
    return sorting


def from_sorting(sorting: Any, *, segment: int | None = None) -> SpikeData:
    """A SpikeData (times in samples) from any SpikeInterface sorting; `segment=` when it has several."""
    vector = sorting.to_spike_vector()
    properties = {name: np.asarray(sorting.get_property(name)) for name in sorting.get_property_keys()}
    annotations = {name: sorting.get_annotation(name) for name in sorting.get_annotation_keys()}
    return si_format.spikes_from_vector(
        vector["sample_index"], vector["unit_index"], vector["segment_index"], np.asarray(sorting.unit_ids),
        sorting.get_sampling_frequency(), properties, annotations, sorting.get_num_segments(), segment,
        "the sorting",
    )  # fmt: skip
