"""KiloSort / Phy output folders: spike_times.npy, spike_clusters.npy, params.py and cluster_*.tsv.

The on-disk facts are in docs/kinds/spikes.md (peer notes). Where the hub departs from the peers, and why:
- params.py is parsed, never executed (see `params`): phy, phylib and spikeinterface `exec()` it, so a
  folder from elsewhere could run code on whoever opens it.
- Reading keeps every cluster by default: noise, and clusters that only a cluster table lists (units
  without spikes). spikeinterface's read_phy does the same; spikelab's loader, given a cluster TSV, keeps
  only good and mua clusters. `keep_groups` / `drop_groups` filter on Phy's labels when asked.
- Writing puts spikes in time order (phylib refuses anything else and read_phy's per-unit trains assume
  it; spikelab writes them unit after unit), always writes params.py (read_phy and phy need it; spikelab
  writes none) and one cluster_group.tsv row per unit, so units without spikes survive.
- Unit attributes become one cluster_<name>.tsv each (the columns Phy shows) plus a cluster_info.tsv with
  all of them in order (read by read_phy, and by the hub for the column order). A group column that says
  "unsorted" for every cluster is Phy's default, not curation: the reader does not return it.
- A recording's start and length are not stored: samples count from 0 (a spike before 0 cannot be written)
  and the window reads back as [0, last spike + 1 sample].
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import scratch, storage, words
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.options import Flag, Options, Positive
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.spikes import common, params as params_py

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

SPIKE_TIMES = "spike_times.npy"
SPIKE_CLUSTERS = "spike_clusters.npy"
SPIKE_TEMPLATES = "spike_templates.npy"
PARAMS = "params.py"
CHANNEL_MAP = "channel_map.npy"
CHANNEL_POSITIONS = "channel_positions.npy"
GROUP_TABLE = "cluster_group.tsv"
INFO_TABLE = "cluster_info.tsv"
TABLE_NAME = re.compile(r"^cluster_.+\.(tsv|csv)$")
FILE_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
GROUP = "group"
HZ = words.Placeholder("HZ")
UNSORTED = "unsorted"  # Phy's label of a cluster nobody has curated
UNIT_KEY = "spike_times_unit"  # params.py entry the hub adds when it writes times in s or ms
PHY_METADATA = ("phy_params", "phy_channels")  # the metadata a Phy folder stores
DEFAULT_PARAMS: dict[str, Any] = {"dat_path": [], "dtype": "int16", "offset": 0, "hp_filtered": False}
SPIKELAB_KEPT_LABELS = {"good", "mua", "mua good"}
MAX_EXACT_SAMPLE = 2**53  # SpikeData times are float64, exact for whole numbers up to here
_ABSENT = object()

Labels = list[str] | str  # a list, or comma-separated text as the CLI gives it


class ReadOptions(Options):
    sampling_rate: Positive | None = Field(
        None,
        description="sample rate in Hz; overrides params.py (needed without one, as in spikelab's exports)",
    )
    time_unit: common.TimeUnit | None = Field(
        None,
        description="unit of the spike times file: samples (Phy), or s / ms for spikelab's float exports"
        " (default: samples, or what params.py says for folders the hub wrote)",
    )
    keep_groups: Labels | None = Field(
        None,
        description="keep only clusters with these labels, e.g. good,mua (group from cluster_group.tsv, else"
        " KSLabel; unlabelled clusters are unsorted); default: every cluster",
    )
    drop_groups: Labels | None = Field(
        None,
        description="drop clusters with these labels, e.g. noise; default: none (spikelab's loader drops"
        " noise and unsorted clusters when given a cluster TSV)",
    )
    spike_times_file: str = Field(SPIKE_TIMES, description="file of spike times")
    spike_clusters_file: str = Field(
        SPIKE_CLUSTERS, description="file of cluster ids per spike (else templates)"
    )


class WriteOptions(Options):
    sampling_rate: Positive | None = Field(
        None, description="sample rate in Hz written to params.py (default: the data's own)"
    )
    time_unit: common.TimeUnit = Field(
        "samples",
        description="samples (what Phy reads) or s / ms as floats, as spikelab can write"
        f" (params.py then says {UNIT_KEY}, for the hub's reader; Phy and read_phy expect samples)",
    )
    renumber_clusters: Flag = Field(
        False,
        description="write cluster ids 0..N-1 in unit order, not the unit ids (needed for negative ids)",
    )


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Sorting:
    """A Phy folder before it becomes a SpikeData: spikes as (unit index, time) pairs, units by cluster id."""

    ids: np.ndarray  # sorted cluster ids, one per unit
    unit_of_spike: np.ndarray  # index into ids, one per spike
    times: np.ndarray  # one per spike, in `unit`
    unit: str
    rate: float | None
    columns: dict[str, np.ndarray]  # unit attributes, in order
    labels: np.ndarray  # Phy label of each unit (lower case), for filtering
    metadata: dict[str, Any]

    def select(self, keep: np.ndarray) -> Sorting:
        """The units where `keep` is true, with their spikes; no Python loop over spikes."""
        if keep.all():
            return self
        spikes = keep[self.unit_of_spike]
        renumbered = np.cumsum(keep) - 1
        return replace(
            self,
            ids=self.ids[keep],
            unit_of_spike=renumbered[self.unit_of_spike[spikes]],
            times=self.times[spikes],
            columns={name: values[keep] for name, values in self.columns.items()},
            labels=self.labels[keep],
        )

    def model(self, times: np.ndarray, unit: str, start_time: float, length: float | None) -> Any:
        return common.from_pairs(
            self.unit_of_spike,
            times,
            len(self.ids),
            unit_ids=self.ids,
            time_unit=unit,
            start_time=start_time,
            length=length,
            sampling_rate=self.rate,
            unit_attributes=self.columns,
            metadata=self.metadata,
        )


def read_window(times: np.ndarray, unit: str) -> tuple[float, float]:
    """The window a Phy folder implies: samples count from 0 and the last one lasts a sample; times in
    s or ms (spikelab's extension) span [min(0, first spike), last spike]."""
    if not times.size:
        return 0.0, 0.0
    if unit == "samples":
        return 0.0, float(times.max()) + 1.0
    start = min(0.0, float(times.min()))
    return start, float(times.max()) - start


def read(
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    sampling_rate: float | None = None,
    time_unit: str | None = None,
    keep_groups: Any = None,
    drop_groups: Any = None,
    spike_times_file: str = SPIKE_TIMES,
    spike_clusters_file: str = SPIKE_CLUSTERS,
) -> SpikeData:
    """A Phy/KiloSort folder as SpikeData: unit ids are the cluster ids, times as the folder holds them."""
    keep, drop = _groups(keep_groups, "keep_groups"), _groups(drop_groups, "drop_groups")
    sorting = load_sorting(
        url,
        storage_options,
        sampling_rate=sampling_rate,
        time_unit=time_unit,
        spike_times_file=spike_times_file,
        spike_clusters_file=spike_clusters_file,
    )
    window = read_window(sorting.times, sorting.unit)  # the recording's, whichever clusters are kept
    selected = np.ones(len(sorting.ids), dtype=bool)
    if keep is not None:
        selected &= np.isin(sorting.labels, list(keep))
    if drop is not None:
        selected &= ~np.isin(sorting.labels, list(drop))
    sorting = sorting.select(selected)
    return sorting.model(sorting.times, sorting.unit, *window)


def _groups(value: Any, option: str) -> set[str] | None:
    """Labels from a list or a comma-separated string, compared without case as spikelab does."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple | set) or not all(isinstance(item, str) for item in items):
        raise UsageError(f"{option} must be a list of labels or a comma-separated string, got {value!r}")
    labels = {item.strip().lower() for item in items if item.strip()}
    if not labels:
        raise UsageError(f"{option} names no label")
    return labels


def load_sorting(
    url: str,
    storage_options: Mapping[str, Any] | None = None,
    *,
    sampling_rate: float | None = None,
    time_unit: str | None = None,
    spike_times_file: str = SPIKE_TIMES,
    spike_clusters_file: str = SPIKE_CLUSTERS,
    channel_map_file: str = CHANNEL_MAP,
    channel_positions_file: str = CHANNEL_POSITIONS,
) -> Sorting:
    """Everything the folder says about its clusters, checked; only the storage layer opens files."""
    if not storage.is_dir(url, storage_options):
        if not storage.exists(url, storage_options):
            raise InputError(f"{url}: no such folder")
        raise InputError(f"{url}: a Phy/KiloSort output is a folder (with {SPIKE_TIMES} and params.py)")
    names = set(storage.list_names(url, storage_options))
    params = _read_params(url, storage_options) if PARAMS in names else None
    unit = _time_unit(time_unit, params, url)
    rate = _rate(sampling_rate, params, url, unit)
    metadata: dict[str, Any] = {} if params is None else {"phy_params": params}
    if spike_times_file not in names:
        raise InputError(f"{url}: no {spike_times_file} in the folder")
    times_url = storage.join(url, spike_times_file)
    times = _spike_times(_flat(_load_array(times_url, storage_options), times_url), unit, times_url)
    clusters_file = spike_clusters_file if spike_clusters_file in names else SPIKE_TEMPLATES
    if clusters_file not in names:
        raise InputError(f"{url}: neither {spike_clusters_file} nor {SPIKE_TEMPLATES} is in the folder")
    if clusters_file != spike_clusters_file:
        metadata["phy_clusters_from"] = clusters_file  # uncurated: template ids stand in for clusters
    clusters_url = storage.join(url, clusters_file)
    clusters = _integers(_flat(_load_array(clusters_url, storage_options), clusters_url), clusters_url)
    if clusters.size != times.size:
        raise InputError(
            f"{url}: {spike_times_file} has {times.size} spikes but {clusters_file} has {clusters.size}"
        )
    tables = _read_tables(url, names, storage_options)
    listed = [table.index.to_numpy(dtype=np.int64) for _, table in tables]
    ids, unit_of_spike = _index_clusters(clusters, np.concatenate([np.empty(0, np.int64), *listed]))
    merged, order = _merge(tables, ids)
    columns = {name: column_values(merged[name]) for name in order}
    if GROUP in columns and only_unsorted(columns[GROUP]):
        del columns[GROUP]
    channels = _read_channels(url, names, storage_options, channel_map_file, channel_positions_file)
    if channels:
        metadata["phy_channels"] = channels
    return Sorting(
        ids=ids,
        unit_of_spike=unit_of_spike,
        times=times,
        unit=unit,
        rate=rate,
        columns=columns,
        labels=_labels(merged, len(ids)),
        metadata=metadata,
    )


def _read_params(url: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    where = storage.join(url, PARAMS)
    with storage.open_read(where, storage_options) as handle:
        source = handle.read(params_py.MAX_BYTES + 1)
    values = params_py.parse(source, where)
    params_py.check(values, where)
    return values


def _time_unit(option: str | None, params: Mapping[str, Any] | None, url: str) -> str:
    if option is not None:
        if option not in common.TIME_UNITS:
            raise UsageError(f"time_unit must be one of {', '.join(common.TIME_UNITS)}, got {option!r}")
        return option
    stated = (params or {}).get(UNIT_KEY, "samples")
    if stated not in common.TIME_UNITS:
        raise InputError(
            f"{storage.join(url, PARAMS)}: {UNIT_KEY} must be one of {', '.join(common.TIME_UNITS)}"
        )
    return stated


def _rate(option: Any, params: Mapping[str, Any] | None, url: str, unit: str) -> float | None:
    if option is not None:
        if not params_py.positive_number(option):
            raise UsageError(f"sampling_rate must be a positive number of Hz, got {option!r}")
        return float(option)
    if params is not None and "sample_rate" in params:
        return float(params["sample_rate"])
    if unit == "samples":
        raise InputError(
            f"{url}: no params.py with a sample_rate; pass {words.option('sampling_rate', HZ, reader=True)}"
        )
    return None


def _load_array(url: str, storage_options: Mapping[str, Any] | None) -> np.ndarray:
    """One .npy array, never unpickled, its declared size checked first."""
    from neurodatahub.core.codecs.npz import load_npy

    return load_npy(url, storage_options)


def _flat(array: np.ndarray, url: str) -> np.ndarray:
    """Shape (N,), (N, 1) or (1, N) as (N,): KiloSort and spikeinterface write columns."""
    if array.ndim == 1 or (array.ndim == 2 and 1 in array.shape):
        return array.reshape(-1)
    raise InputError(f"{url}: expected a one-dimensional array, got one of shape {array.shape}")


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def _spike_times(values: np.ndarray, unit: str, url: str) -> np.ndarray:
    kind = values.dtype.kind
    if kind not in "iuf":
        raise InputError(f"{url}: spike times must be numbers, found dtype {values.dtype}")
    if kind == "f" and not np.isfinite(values).all():
        at = _first(~np.isfinite(values))
        raise InputError(f"{url}: spike {at} is {values[at]}; spike times must be finite")
    if unit != "samples":
        return values
    if kind == "f" and (values != np.rint(values)).any():
        at = _first(values != np.rint(values))
        raise InputError(
            f"{url}: spike {at} is {values[at]}, not a sample index; if the file holds times in seconds or"
            " milliseconds, pass the time_unit option (s or ms)"
        )
    if values.size and values.min() < 0:
        at = int(np.argmin(values))
        raise InputError(f"{url}: spike {at} has the negative sample index {values[at]}")
    if values.size and values.max() > MAX_EXACT_SAMPLE:
        raise InputError(f"{url}: sample index {values.max()} is too large to be held exactly")
    return values


def _integers(values: np.ndarray, url: str) -> np.ndarray:
    """Integer ids as int64; integral floats (MATLAB exports) are accepted, anything else is refused."""
    kind = values.dtype.kind
    if kind == "u" and values.size and values.max() > np.iinfo(np.int64).max:
        raise InputError(f"{url}: id {values.max()} does not fit a signed 64-bit integer")
    if kind == "f":
        bad = ~np.isfinite(values) | (values != np.rint(values)) | (np.abs(values) > MAX_EXACT_SAMPLE)
        if bad.any():
            raise InputError(f"{url}: entry {_first(bad)} is {values[_first(bad)]}, not an integer id")
    elif kind not in "iu":
        raise InputError(f"{url}: ids must be integers, found dtype {values.dtype}")
    return values.astype(np.int64, copy=False)


def _index_clusters(clusters: np.ndarray, listed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ids of every cluster (with spikes or listed in a table) and each spike's unit index.

    Sorters number clusters 0..K, so a count and a lookup table (linear time) replace sorting 1e7 ids.
    """
    small = max(4 * clusters.size, 1 << 20)
    in_range = clusters.size and clusters.min() >= 0 and clusters.max() < small
    present = np.flatnonzero(np.bincount(clusters)) if in_range else np.unique(clusters)
    ids = np.union1d(present, listed).astype(np.int64)
    if ids.size and ids[0] >= 0 and ids[-1] < small:
        lookup = np.zeros(int(ids[-1]) + 1, dtype=np.int64)
        lookup[ids] = np.arange(ids.size)
        return ids, lookup[clusters]
    return ids, np.searchsorted(ids, clusters)


def _read_tables(
    url: str, names: set[str], storage_options: Mapping[str, Any] | None
) -> list[tuple[str, Any]]:
    """Every cluster table with a cluster id column, dedicated label files first, cluster_info last.

    cluster_info is what Phy dumps on save from the other files, so the dedicated files win where the two
    disagree (a label edited by hand or by another tool).
    """
    files = sorted(
        (name for name in names if TABLE_NAME.match(name)), key=lambda name: (_is_info(name), name)
    )
    tables = []
    for name in files:
        where = storage.join(url, name)
        with storage.open_read(where, storage_options) as handle:
            table = parse_table(handle.read(), where, tab=name.endswith(".tsv"))
        if table is not None:
            tables.append((name, table))
    return tables


def _is_info(name: str) -> bool:
    return name.rsplit(".", 1)[0] == "cluster_info"


def parse_table(raw: bytes, where: str, *, tab: bool) -> Any:
    """A cluster table indexed by cluster id, or None when it has no id column (peers skip those too).

    Only empty cells are missing values: a label "NA" or "None" stays text.
    """
    import pandas as pd

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{where}: not UTF-8 text ({error.reason} at byte {error.start})") from error
    if not text.strip():
        raise InputError(f"{where}: empty file; a cluster table needs at least a header row")
    separator = "\t" if tab or "\t" in text.split("\n", 1)[0] else ","
    try:
        table = pd.read_csv(io.StringIO(text), sep=separator, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, ValueError) as error:
        raise InputError(f"{where}: not a readable table ({error})") from error
    key = next((name for name in ("cluster_id", "id") if name in table.columns), None)
    if key is None:
        return None
    ids = pd.to_numeric(table[key], errors="coerce")
    if ids.isna().any() or (ids != ids.round()).any():
        raise InputError(f"{where}: {key} must hold whole numbers")
    ids = ids.to_numpy().astype(np.int64)
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise InputError(f"{where}: cluster {unique[counts > 1][0]} is listed more than once")
    return table.drop(columns=key).set_axis(ids, axis=0)


def _merge(tables: list[tuple[str, Any]], ids: np.ndarray) -> tuple[dict[str, Any], list[str]]:
    """Columns of all tables aligned on the cluster ids; earlier tables win, later ones fill their gaps.

    The order is cluster_info's (the hub writes it in the data's order), then first appearance.
    """
    merged: dict[str, Any] = {}
    for _, table in tables:
        for name in table.columns:
            column = table[name].reindex(ids)
            merged[name] = column if name not in merged else merged[name].combine_first(column)
    info_order = [name for file, table in tables if _is_info(file) for name in table.columns]
    return merged, list(dict.fromkeys([*info_order, *merged]))


def column_values(column: Any) -> np.ndarray:
    """One attribute as a numpy array: numbers (NaN where a table has no value), booleans, or text ("")."""
    import pandas as pd

    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return column.to_numpy(dtype=bool)
    if pd.api.types.is_integer_dtype(dtype):
        return column.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(dtype):
        return column.to_numpy(dtype=np.float64)
    missing = column.isna().to_numpy()
    values = column.to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(values[~missing], skipna=False)
    if missing.all() or kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    return np.where(missing, "", values.astype(str)).astype(str)


def only_unsorted(values: np.ndarray) -> bool:
    """A group column saying "unsorted" everywhere is no curation at all: Phy's default for every cluster."""
    return values.size == 0 or (values.dtype.kind == "U" and bool(np.all(values == UNSORTED)))


def _labels(merged: Mapping[str, Any], count: int) -> np.ndarray:
    """Each cluster's Phy label: its group, else KiloSort's KSLabel, else unsorted; lower case."""
    source = merged.get(GROUP, merged.get("KSLabel"))
    if source is None:
        return np.full(count, UNSORTED)
    text = source.astype("string").str.strip().str.lower()
    return text.mask(text.isna() | (text == ""), UNSORTED).to_numpy(dtype=str)


def _read_channels(
    url: str, names: set[str], storage_options: Mapping[str, Any] | None, map_file: str, positions_file: str
) -> dict[str, Any]:
    """The probe's channel map and positions, kept as metadata so a hub-to-hub copy writes them back."""
    found: dict[str, Any] = {}
    if map_file in names:
        where = storage.join(url, map_file)
        found["channel_map"] = _integers(_flat(_load_array(where, storage_options), where), where).tolist()
    if positions_file in names:
        where = storage.join(url, positions_file)
        positions = _load_array(where, storage_options)
        if positions.ndim != 2 or positions.dtype.kind not in "iuf":
            raise InputError(
                f"{where}: expected a (channels, 2 or 3) array of numbers, got {positions.shape}"
            )
        found["channel_positions"] = positions.astype(np.float64).tolist()
    return found


def sniff(probe: Probe) -> bool:
    names = set(probe.names)
    return SPIKE_TIMES in names and bool({SPIKE_CLUSTERS, SPIKE_TEMPLATES} & names)


# ---------------------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Layout:
    """Everything a Phy folder will hold except the spikes, decided and checked before any byte is written."""

    rate: float
    unit: str
    cluster_ids: np.ndarray  # one per unit
    params: dict[str, Any]
    table: dict[str, np.ndarray]  # every written attribute, in the data's order, group included
    label_files: tuple[str, ...]  # attributes that also get their own cluster_<name>.tsv
    channels: dict[str, np.ndarray]
    lost: tuple[Any, ...]  # Loss records for what the folder cannot hold


def layout(model: SpikeData, *, sampling_rate: Any, time_unit: str, cluster_ids: Any = None) -> Layout:
    """The folder for `model`; a UsageError when it cannot be written at all."""
    rate = model.sampling_rate if sampling_rate is None else sampling_rate
    if not params_py.positive_number(rate):
        raise UsageError(f"a Phy folder needs a sample rate: pass {words.option('sampling_rate', HZ)}")
    rate = float(rate)
    common.check_time_unit(time_unit, rate)
    if model.time_unit == "samples" and model.sampling_rate != rate:
        raise UsageError(
            f"the spike times are samples at {model.sampling_rate:g} Hz; writing them at {rate:g} Hz"
            " would resample them (convert them to s first if that is meant)"
        )
    ids = _cluster_ids(model, cluster_ids)
    table, label_files, attribute_losses = _attributes(model, ids)
    params, params_losses = _params(model, rate, time_unit)
    channels, channel_losses = _channels(model)
    return Layout(
        rate=rate,
        unit=time_unit,
        cluster_ids=ids,
        params=params,
        table=table,
        label_files=label_files,
        channels=channels,
        lost=(*attribute_losses, *params_losses, *channel_losses),
    )


def _cluster_ids(model: SpikeData, cluster_ids: Any) -> np.ndarray:
    count = len(model.unit_ids)
    ids = np.asarray(model.unit_ids if cluster_ids is None else cluster_ids)
    if ids.shape != (count,):
        raise UsageError(f"cluster_ids has {ids.size} entries for {count} units")
    if count and ids.dtype.kind not in "iu":
        raise UsageError(f"cluster ids must be integers, got {ids.dtype}")
    ids = ids.astype(np.int64)
    if count and ids.min() < 0:
        raise UsageError(
            f"Phy cluster ids are non-negative, but unit id {ids.min()} is not;"
            " pass renumber_clusters=True to write 0..N-1 instead"
        )
    if np.unique(ids).size != count:
        raise UsageError("cluster ids must be unique")
    return ids


def times_out(model: SpikeData, unit: str, rate: float) -> np.ndarray:
    """Each spike's time as written: whole samples (int64), or floats in s or ms."""
    if model.time_unit == "samples" and unit == "samples":
        return np.rint(np.asarray(model.spike_times)).astype(np.int64)
    return common.times_in(model, unit, rate)


def _checked_times(model: SpikeData, unit: str, rate: float) -> np.ndarray:
    values = times_out(model, unit, rate)
    if unit == "samples" and values.size and values.min() < 0:
        first = common.convert_scalar(float(values.min()), "samples", "s", rate)
        raise UsageError(
            f"a spike at {first:g} s lies before the recording start: Phy counts samples from 0"
            " and cannot hold it (shift the times, or write time_unit s or ms)"
        )
    return values


def _plain_values(values: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind == "O" and all(isinstance(item, str) for item in array.reshape(-1)):
        return array.astype(str)
    return array


def _unwritable(name: str, values: np.ndarray) -> str | None:
    if name == "cluster_id":
        return "its name is the key column of Phy's cluster tables"
    if not name or any(char in name for char in '\t\r\n"'):
        return "its name cannot be a TSV column header"
    if values.ndim != 1:
        return f"it has {values.ndim} dimensions and a cluster table holds one value per unit"
    if values.dtype.kind not in "biufU":
        return "a cluster table holds numbers, text or booleans"
    return None


def tsv_text(ids: np.ndarray, columns: Mapping[str, np.ndarray]) -> str:
    """A cluster table as Phy writes it: tab-separated, cluster_id first, missing values empty."""
    import pandas as pd

    table = pd.DataFrame(
        {"cluster_id": ids, **{name: np.asarray(values) for name, values in columns.items()}}
    )
    return table.to_csv(sep="\t", index=False, lineterminator="\n", na_rep="")


def _same_values(written: np.ndarray, read_back: np.ndarray) -> bool:
    kinds = written.dtype.kind + read_back.dtype.kind
    if kinds in ("ii", "iu", "ui", "uu", "bb", "UU"):
        return np.array_equal(written, read_back)
    if set(kinds) <= set("iuf") and read_back.dtype.kind == "f":
        return np.array_equal(written.astype(np.float64), read_back, equal_nan=True)
    return False


def _attributes(
    model: SpikeData, ids: np.ndarray
) -> tuple[dict[str, np.ndarray], tuple[str, ...], list[Any]]:
    """Attribute columns to write, the ones that get their own label file, and what cannot be kept.

    Whether a column reads back the same is tested by reading it back: TSV cells have no type, so text
    that looks like numbers comes back as numbers.
    """
    table: dict[str, np.ndarray] = {}
    lost: list[Any] = []
    for column in model.unit_attributes or ():
        values = _plain_values(column.values)
        reason = _unwritable(column.name, values)
        if reason:
            lost.append(common.loss(f"unit_attributes.{column.name}", f"not written: {reason}"))
            continue
        table[column.name] = values
        if column.description or column.unit:
            lost.append(
                common.loss(f"unit_attributes.{column.name}", "its description and unit are not kept")
            )
    if GROUP not in table:
        table[GROUP] = np.full(len(ids), UNSORTED)
    elif only_unsorted(table[GROUP]):
        lost.append(
            common.loss(
                f"unit_attributes.{GROUP}",
                f"'{UNSORTED}' for every unit is Phy's default label and reads back as no group",
            )
        )
    read_back = parse_table(tsv_text(ids, table).encode(), "(check)", tab=True)
    checked = {column.name for column in model.unit_attributes or ()} - {GROUP}
    for name in checked & set(table):
        if not _same_values(table[name], column_values(read_back[name].reindex(ids))):
            lost.append(
                common.loss(
                    f"unit_attributes.{name}", "its values read back differently (TSV cells have no type)"
                )
            )
    taken = {"info", GROUP}
    label_files = []
    for name in table:
        if name != GROUP and FILE_SAFE.match(name) and name.lower() not in taken:  # case-blind file systems
            taken.add(name.lower())
            label_files.append(name)
    return table, tuple(label_files), lost


def _params(model: SpikeData, rate: float, unit: str) -> tuple[dict[str, Any], list[Any]]:
    """params.py: the data's own phy_params where it has them (Phy's defaults otherwise), with its rate."""
    given = (model.metadata or {}).get("phy_params")
    base = given if isinstance(given, Mapping) else DEFAULT_PARAMS
    params = {
        name: value
        for name, value in base.items()
        if name not in ("sample_rate", UNIT_KEY) and params_py.writable(name, value)
    }
    params["sample_rate"] = rate
    if unit != "samples":
        params[UNIT_KEY] = unit
    if given is None:
        return params, []
    if not isinstance(given, Mapping):
        return params, [
            common.loss("metadata.phy_params", "not a mapping of params.py entries: Phy's defaults written")
        ]
    changed = sorted(
        name for name in {*params, *given} if params.get(name, _ABSENT) != given.get(name, _ABSENT)
    )
    if not changed:
        return params, []
    return params, [common.loss("metadata.phy_params", f"params.py holds {', '.join(changed)} differently")]


def _channels(model: SpikeData) -> tuple[dict[str, np.ndarray], list[Any]]:
    """channel_map.npy and channel_positions.npy from metadata phy_channels (as the reader keeps them).

    None are made up from unit electrodes: spikelab reads channel_map[cluster id] as a unit's electrode
    while Phy reads it as the probe's channel list, so per-unit electrodes there would mislead one of them
    (electrodes are kept as a cluster table column instead).
    """
    given = (model.metadata or {}).get("phy_channels")
    if given is None:
        return {}, []
    found: dict[str, np.ndarray] = {}
    if isinstance(given, Mapping):
        channel_map = np.asarray(given.get("channel_map", []))
        channel_map = channel_map if channel_map.size else channel_map.astype(np.int64)  # [] is float
        if "channel_map" in given and channel_map.ndim == 1 and channel_map.dtype.kind in "iu":
            fits = not channel_map.size or np.abs(channel_map).max() < 2**31
            found["channel_map"] = channel_map.astype(np.int32 if fits else np.int64)
        positions = np.asarray(given.get("channel_positions", []))
        if "channel_positions" in given and positions.ndim == 2 and positions.dtype.kind in "iuf":
            found["channel_positions"] = positions.astype(np.float64)
    if isinstance(given, Mapping) and set(found) == set(given):
        return found, []
    return found, [
        common.loss(
            "metadata.phy_channels", "only an integer channel_map and numeric channel_positions are kept"
        )
    ]


def write_folder(
    model: Any,
    plan: Layout,
    path: Path,
    *,
    spike_times_file: str = SPIKE_TIMES,
    spike_clusters_file: str = SPIKE_CLUSTERS,
) -> None:
    """Write the folder into the local path the storage layer handed out (it places or uploads it)."""
    values = _checked_times(model, plan.unit, plan.rate)
    order = np.argsort(values, kind="stable")  # time order; ties keep the unit order
    counts = np.diff(np.asarray(model.spike_times_index, dtype=np.int64), prepend=0)
    _save(path / spike_times_file, values[order])
    _save(path / spike_clusters_file, np.repeat(plan.cluster_ids, counts)[order])
    (path / PARAMS).write_text(params_py.render(plan.params), encoding="utf-8", newline="\n")
    by_id = np.argsort(plan.cluster_ids)  # table rows by cluster id: read_phy takes its unit order from them
    ids, table = plan.cluster_ids[by_id], {name: column[by_id] for name, column in plan.table.items()}
    (path / GROUP_TABLE).write_text(tsv_text(ids, {GROUP: table[GROUP]}), encoding="utf-8", newline="\n")
    for name in plan.label_files:
        (path / f"cluster_{name}.tsv").write_text(
            tsv_text(ids, {name: table[name]}), encoding="utf-8", newline="\n"
        )
    if len(table) > 1:
        (path / INFO_TABLE).write_text(tsv_text(ids, table), encoding="utf-8", newline="\n")
    for name, file in (("channel_map", CHANNEL_MAP), ("channel_positions", CHANNEL_POSITIONS)):
        if name in plan.channels:
            _save(path / file, plan.channels[name])


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:  # np.save(path) would append .npy to other names
        np.save(handle, array, allow_pickle=False)


def write(
    model: Any,
    path: Path,
    *,
    sampling_rate: float | None = None,
    time_unit: str = "samples",
    renumber_clusters: bool = False,
) -> None:
    """A Phy folder of `model` in `path` (a local temporary folder)."""
    plan = layout(
        model,
        sampling_rate=sampling_rate,
        time_unit=time_unit,
        cluster_ids=_renumbered(model, renumber_clusters),
    )
    write_folder(model, plan, path)


def _renumbered(model: SpikeData, renumber: Any) -> np.ndarray | None:
    return np.arange(len(model.unit_ids)) if renumber else None


def losses(
    model: Any,
    *,
    sampling_rate: float | None = None,
    time_unit: str = "samples",
    renumber_clusters: bool = False,
) -> list[Any]:
    """What the folder will not hold; also refuses (UsageError) what cannot be written, before any output."""
    plan = layout(
        model,
        sampling_rate=sampling_rate,
        time_unit=time_unit,
        cluster_ids=_renumbered(model, renumber_clusters),
    )
    return _losses(model, plan)


def _losses(model: SpikeData, plan: Layout) -> list[Any]:
    rate, unit = plan.rate, plan.unit
    found: list[Any] = []
    if not np.array_equal(plan.cluster_ids, model.unit_ids):
        found.append(common.loss("unit_ids", "replaced by other cluster ids (renumbered)"))
    elif np.any(np.diff(plan.cluster_ids) < 0):
        found.append(common.loss("unit_ids", "units read back in ascending cluster id order"))
    values = _checked_times(model, unit, rate)
    found += common.sample_rounding_loss(model, unit, rate)
    if model.time_unit == "samples" and unit == "samples":
        off_grid = int(np.count_nonzero(np.asarray(model.spike_times) != values))
        if off_grid:
            found.append(common.loss("spike_times", "rounded to whole samples", off_grid))
    if model.time_unit != unit:
        stored = "sample indices" if unit == "samples" else f"times in {unit} (spikelab's extension)"
        found.append(common.loss("time_unit", f"Phy stores {stored}: times read back in {unit}"))
    if model.sampling_rate != rate:
        was = f"instead of {model.sampling_rate:g} Hz" if model.sampling_rate else "(the data had none)"
        found.append(common.loss("sampling_rate", f"params.py says {rate:g} Hz {was}"))
    start, length = read_window(values, unit)
    for name, value, implied in (
        ("start_time", model.start_time, start),
        ("length", model.length, length),
    ):
        if not _same_time(
            common.convert_scalar(value, model.time_unit, unit, rate), implied, unit, model.time_unit
        ):
            found.append(
                common.loss(
                    name,
                    f"Phy keeps no recording window: it reads back as [{start:g}, {start + length:g}] {unit}",
                )
            )
    found += plan.lost
    dropped = sorted(set(model.metadata or {}) - set(PHY_METADATA))
    if dropped:
        found.append(
            common.loss(
                "metadata",
                f"Phy keeps only params.py and the channel map: {', '.join(dropped)} dropped",
                len(dropped),
            )
        )
    if model.raw_data is not None:
        found.append(
            common.loss("raw_data", "not written: Phy points to a raw .dat file the hub does not write")
        )
    if model.provenance:
        found.append(common.loss("provenance", "a Phy folder has no place for it", len(model.provenance)))
    return found


def _same_time(converted: float, implied: float, unit: str, source: str) -> bool:
    """Equal as written; across units, equal to a nanosecond-scale tolerance of the conversion."""
    if unit == source:
        return converted == implied
    return abs(converted - implied) <= 1e-9 * max(1.0, abs(implied))


# ------------------------------------------------------------------------------ spikelab-compatible API


def export_spikedata_to_kilosort(
    sd: Any,
    folder: str,
    *,
    fs_Hz: float,
    spike_times_file: str = SPIKE_TIMES,
    spike_clusters_file: str = SPIKE_CLUSTERS,
    time_unit: str = "samples",
    cluster_ids: Any = None,
    storage_options: Mapping[str, Any] | None = None,
) -> tuple[str, str]:
    """spikelab's KiloSort export for the hub's SpikeData, to any URL; returns the two files' URLs.

    Same arguments and defaults as spikelab 0.1.2: clusters are numbered 0..N-1 in unit order unless
    `cluster_ids` gives one id per unit. Unlike spikelab, spikes are in time
    order, and params.py and the cluster tables are written too, so Phy and spikeinterface open it.
    What the folder cannot hold is named in a warning (spikelab warns only about the start time).
    Like spikelab, the files are added to the folder and other files in it (the recording, templates)
    are left alone; each file is replaced atomically.
    """
    ids = np.arange(len(sd.unit_ids)) if cluster_ids is None else cluster_ids
    plan = layout(sd, sampling_rate=fs_Hz, time_unit=time_unit, cluster_ids=ids)
    lost = _losses(sd, plan)
    if lost:
        listed = "; ".join(f"{loss.field}: {loss.reason}" for loss in lost)
        warnings.warn(f"{folder}: the KiloSort folder does not hold everything ({listed})", stacklevel=2)
    with scratch.folder() as tmp:
        write_folder(
            sd, plan, Path(tmp), spike_times_file=spike_times_file, spike_clusters_file=spike_clusters_file
        )
        storage.add_files(Path(tmp), folder, storage_options)
    return storage.join(folder, spike_times_file), storage.join(folder, spike_clusters_file)


def load_spikedata_from_kilosort(
    folder: str,
    *,
    fs_Hz: float,
    spike_times_file: str = SPIKE_TIMES,
    spike_clusters_file: str = SPIKE_CLUSTERS,
    cluster_info_tsv: str | None = None,
    time_unit: str = "samples",
    include_noise: bool = False,
    length_ms: float | None = None,
    channel_map_file: str = CHANNEL_MAP,
    channel_positions_file: str = CHANNEL_POSITIONS,
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """spikelab's KiloSort loader, returning the hub's SpikeData (in ms from 0), from any URL.

    The same units as spikelab 0.1.2: clusters that have spikes; with `cluster_info_tsv`, only those it
    lists, and unless `include_noise` only those labelled good or mua (its group column, else KSLabel).
    `fs_Hz` wins over params.py. Unit attributes are every cluster table column; spikelab's electrode and
    location guesses (channel_map[cluster id], wrong after curation) are not made: the channel map and
    positions are in metadata["phy_channels"].
    """
    sorting = load_sorting(
        folder,
        storage_options,
        sampling_rate=fs_Hz,
        time_unit=time_unit,
        spike_times_file=spike_times_file,
        spike_clusters_file=spike_clusters_file,
        channel_map_file=channel_map_file,
        channel_positions_file=channel_positions_file,
    )
    keep = np.bincount(sorting.unit_of_spike, minlength=len(sorting.ids)) > 0
    if cluster_info_tsv is not None:
        keep &= _spikelab_selection(folder, cluster_info_tsv, sorting.ids, include_noise, storage_options)
    sorting = sorting.select(keep)
    sorting = replace(
        sorting,
        metadata={
            "source_folder": folder,
            "source_format": "KiloSort",
            "cluster_ids": sorting.ids.tolist(),
            "fs_Hz": float(fs_Hz),
            **sorting.metadata,
        },
    )
    times_ms = common.convert_times(sorting.times, sorting.unit, "ms", sorting.rate)
    return sorting.model(times_ms, "ms", 0.0, length_ms)


def _spikelab_selection(
    folder: str,
    table_name: str,
    ids: np.ndarray,
    include_noise: bool,
    storage_options: Mapping[str, Any] | None,
) -> np.ndarray:
    """spikelab's rule: clusters the table lists, good or mua ones unless noise is included; a missing
    table or one without id and label columns keeps everything (spikelab warns, so do we)."""
    url = storage.join(folder, table_name)
    table = None
    if storage.exists(url, storage_options):
        with storage.open_read(url, storage_options) as handle:
            table = parse_table(handle.read(), url, tab=True)
    labels = None if table is None else table.get(GROUP, table.get("KSLabel"))
    if labels is None:
        warnings.warn(
            f"{url}: no cluster table with id and label columns; keeping all clusters", stacklevel=3
        )
        return np.ones(len(ids), dtype=bool)
    listed = (
        table.index.to_numpy()
        if include_noise
        else table.index[labels.astype(str).str.lower().isin(SPIKELAB_KEPT_LABELS)].to_numpy()
    )
    return np.isin(ids, listed)


register_format(
    FormatSpec(
        name="phy",
        kind=common.KIND,
        description="KiloSort / Phy output folder (spike_times.npy, spike_clusters.npy, params.py, *.tsv)",
        extensions=(".phy", ".kilosort"),
        read=read,
        write=write,
        sniff=sniff,
        read_options=ReadOptions,
        write_options=WriteOptions,
        cannot_store=(
            "start time and recording length (samples count from 0)",
            "unit order (clusters read back by id)",
            "metadata other than params.py and the channel map",
            "attribute descriptions, units and multi-dimensional attributes",
            "raw data",
            "provenance",
        ),
        losses=losses,
        directory=True,
    )
)
