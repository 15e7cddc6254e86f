"""NWB 2.x Units tables, read and written with h5py alone (docs/kinds/spikes.md).

Reading finds every table whose `neurodata_type` is Units, wherever it lives (pynwb, matnwb and
NeuroConv files), resolves reference and region columns to plain values, and also reads spikelab's
non-standard "NWB". Writing produces NWB that pynwb opens and validates: pynwb itself is not needed,
and writing the arrays directly is several times faster than pynwb's object layer (benchmarks/).
What NWB has no field for (free metadata, provenance, the model's own time unit and window) is kept
in a ScratchData object, so a hub-to-hub round trip is lossless.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub import __version__
from neurodatahub.core import words
from neurodatahub.core.codecs import hdf5
from neurodatahub.core.codecs.hdf5 import open_hdf5, text, texts
from neurodatahub.core.codecs.metadata import metadata_from_json, to_json
from neurodatahub.core.errors import InputError, OutputError, UnrecognisedInputError, UsageError
from neurodatahub.core.options import Options, Positive
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.spikes import common

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

NWB_VERSION = "2.8.0"
HDMF = "hdmf-common"
SCRATCH = "scratch/neurodatahub"
PATH = words.Placeholder("PATH")
# Units columns the NWB schema defines with a fixed meaning; attributes of these names are renamed
RESERVED_COLUMNS = {
    "id",
    "spike_times",
    "obs_intervals",
    "electrodes",
    "electrode_group",
    "waveform_mean",
    "waveform_sd",
    "waveforms",
}
ELECTRODE_FIELDS = ("x", "y", "z", "location")  # electrode table columns carried to the units
SESSION_TEXT_FIELDS = (
    "session_description",
    "identifier",
    "experiment_description",
    "session_id",
    "lab",
    "institution",
    "notes",
    "protocol",
    "surgery",
    "pharmacology",
    "stimulus",
    "virus",
)


class ReadOptions(Options):
    units_path: str | None = Field(
        None, description="path of the Units table when the file has several (e.g. /processing/ecephys/units)"
    )


class WriteOptions(Options):
    sampling_rate: Positive | None = Field(
        None, description="sampling rate in Hz: sets the spike times' resolution (1/rate)"
    )


def find_units_tables(file: Any) -> list[str]:
    """Paths of every Units table in the file, by neurodata_type, not by path.

    Through H5Ovisit, which gives each object's type unopened: only groups are opened for their
    attribute (h5py's visititems opens every dataset of every table too)."""
    from h5py import h5o

    found: list[str] = []

    def visit(name: bytes, info: Any) -> None:
        if info.type == h5o.TYPE_GROUP and name != b".":
            path = "/" + name.decode("utf-8", errors="replace")
            if text(file[path].attrs.get("neurodata_type", "")) == "Units":
                found.append(path)

    h5o.visit(file.id, visit, info=True)
    return sorted(found)


def is_spikelab_nwb(file: Any) -> bool:
    """spikelab's export: NWB-like names, but no NWB version or types."""
    return "nwb_version" not in file.attrs and "units" in file and "spike_times" in file["units"]


def read(url: str, *, storage_options: Any = None, units_path: str | None = None) -> SpikeData:
    with open_hdf5(url, storage_options) as file:
        return _read_table(file, _units_table(file, url, units_path), url)


def _units_table(file: Any, url: str, units_path: str | None) -> str:
    """The path of the Units table to read: the one named, else the file's only one."""
    if units_path is None:
        tables = find_units_tables(file) or (["/units"] if is_spikelab_nwb(file) else [])
        if not tables:
            raise UnrecognisedInputError(f"{url}: no Units table (no group with neurodata_type Units)")
        if len(tables) > 1:
            raise UsageError(
                f"{url} has several Units tables ({', '.join(tables)});"
                f" choose one with {words.option('units_path', PATH, reader=True)}"
            )
        units_path = tables[0]
    if units_path not in file:
        raise UsageError(f"{url}: no {units_path} in the file")
    return units_path


def _spike_times(table: Any, path: str) -> Any:
    if "spike_times" not in table:
        raise InputError(f"{path} has no spike_times column")
    return table["spike_times"]


def _table_facts(file: Any, table: Any, url: str) -> tuple[dict[str, Any], set[str], float | None, str]:
    """The hub's scratch record, the columns not to read as data, the sampling rate and the time unit."""
    scratch = _scratch(file, url)
    # obs_intervals written by the hub hold the window, restored from the scratch record
    skip = {"obs_intervals"} if scratch.get("window_in_obs_intervals") else set()
    rate = scratch.get("sampling_rate") or _rate_from_resolution(table["spike_times"])
    unit = scratch.get("time_unit", "s")
    common.check_time_unit(unit, rate, "stored time unit")
    return scratch, skip, rate, unit


def _window_in(
    file: Any, scratch: Mapping[str, Any], ragged: Mapping[str, Any], times: np.ndarray, unit: str, rate: Any
) -> tuple[float, float | None]:
    """The window in the data's unit (`times`, in seconds, need only hold each unit's ends)."""
    if "start_time" in scratch:
        return scratch["start_time"], scratch["length"]
    start_s, length_s = _window(file, ragged, times)
    start = common.convert_scalar(start_s, "s", unit, rate)
    return start, None if length_s is None else common.convert_scalar(length_s, "s", unit, rate)


def _scratch(file: Any, url: str) -> dict[str, Any]:
    """The hub's own record in the NWB scratch space ({} in files other tools wrote)."""
    if SCRATCH not in file:
        return {}
    record = metadata_from_json(text(hdf5.read(file[SCRATCH], url)), url)
    if not isinstance(record, dict):
        raise InputError(f"{url}: {SCRATCH} is not the hub's record (a JSON object)")
    return record


def _read_table(file: Any, path: str, url: str) -> Any:
    table = file[path]
    times = hdf5.read_numbers(_spike_times(table, path), url, "spike_times").astype(np.float64, copy=False)
    ids = hdf5.read_numbers(table["id"], url, "id") if "id" in table else None
    known = len(ids) if ids is not None else None
    index = _end_offsets(table, "spike_times", times.size, known, url)
    scratch, skip, rate, unit = _table_facts(file, table, url)
    attributes, ragged = _columns(file, table, len(index), scratch.get("renamed_columns", {}), skip, url)
    start, length = _window_in(file, scratch, ragged, times, unit, rate)
    if "metadata" in scratch:
        metadata = scratch["metadata"]
    else:
        metadata = {**_session(file, path, table, url), **({"nwb_units": ragged} if ragged else {})}
    return common.build(
        spike_times=common.convert_times(times, "s", unit, rate),
        spike_times_index=index,
        time_unit=unit,
        unit_ids=ids,
        start_time=start,
        length=length,
        sampling_rate=rate,
        unit_attributes=attributes,
        metadata=metadata or None,
        provenance=scratch.get("provenance"),
    )


def _end_offsets(table: Any, column: str, n_values: int, known_units: int | None, url: str) -> np.ndarray:
    name = f"{column}_index"
    if name not in table:
        if known_units not in (None, 1) and n_values:
            raise InputError(f"{column} has no {name}")
        return np.array([n_values] if known_units else [], dtype=np.int64)
    return _level(table, name, column, n_values, known_units, url)


def _level(
    table: Any, name: str, column: str, n_values: int, known_units: int | None, url: str
) -> np.ndarray:
    """One VectorIndex as exclusive end offsets, checked against what it indexes (the error names the
    level's own dataset: invalid data, exit 1)."""
    from neurodatahub.spikes.formats.hdf5 import end_offsets, inconsistent

    where = f"{table.name}/{name}"
    raw = hdf5.read_numbers(table[name], url, where).astype(np.int64, copy=False)
    index = end_offsets(raw, known_units, where)
    if index.size and (index[0] < 0 or (np.diff(index) < 0).any() or index[-1] != n_values):
        raise inconsistent(where, f"must rise to the {n_values} entries of {column}, ends at {index[-1]}")
    return index


def _index_levels(table: Any, column: str) -> list[str]:
    """A ragged column's VectorIndex datasets, innermost first: pynwb writes `waveforms` with two,
    `waveforms_index` (per unit and electrode) and `waveforms_index_index` (per unit)."""
    levels, name = [], f"{column}_index"
    while name in table:
        levels.append(name)
        name += "_index"
    return levels


def _nested(table: Any, column: str, values: np.ndarray, n_units: int, url: str) -> list[Any]:
    """The values of each unit, split through every index level, outermost last."""
    items: list[Any] = list(values)
    levels = _index_levels(table, column)
    for depth, level in enumerate(levels):
        outermost = depth == len(levels) - 1
        offsets = _level(table, level, column, len(items), n_units if outermost else None, url)
        starts = np.concatenate([[0], offsets[:-1]]) if offsets.size else offsets
        items = [items[start:end] for start, end in zip(starts, offsets, strict=True)]
    return items


def _check_levels(table: Any, column: str, n_values: int, n_units: int, url: str) -> None:
    """Every index level of a ragged column checked against what it indexes, without its values."""
    levels = _index_levels(table, column)
    for depth, level in enumerate(levels):
        outermost = depth == len(levels) - 1
        n_values = len(_level(table, level, column, n_values, n_units if outermost else None, url))


def _as_lists(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_lists(item) for item in value]
    return np.asarray(value).tolist()


# ragged columns larger than this (per-spike waveforms, typically) are not copied into the metadata
RAGGED_METADATA_VALUES = 100_000


def _column_plan(table: Any, skip: set[str]) -> list[tuple[str, Any, str, int]]:
    """(name, dataset, neurodata_type, index levels) of each column read besides the spike times."""
    names = texts(table.attrs.get("colnames", [])) or [
        key for key in table if not key.endswith("_index") and key != "id"
    ]
    plan = []
    for name in names:
        if name == "spike_times" or name in skip or name not in table:
            continue
        dataset = table[name]
        kind = text(dataset.attrs.get("neurodata_type", ""))
        plan.append((name, dataset, kind, len(_index_levels(table, name))))
    return plan


def _columns(
    file: Any, table: Any, n_units: int, renamed: Mapping[str, str], skip: set[str], url: str
) -> tuple[dict, dict]:
    """Unit attributes (one value per unit) and the ragged columns NWB allows, through every index
    level, kept as nested lists in the metadata when they are small enough to live there."""
    attributes: dict[str, Any] = {}
    ragged: dict[str, Any] = {}
    for name, dataset, kind, levels in _column_plan(table, skip):
        if levels:
            region = kind == "DynamicTableRegion" and levels == 1
            if not region and dataset.size > RAGGED_METADATA_VALUES:
                # not read at all: nested lists of a large column would cost many times its bytes
                _check_levels(table, name, dataset.shape[0] if dataset.ndim else 1, n_units, url)
                _not_read(url, name, dataset.size, levels)
                continue
            values = _values(file, dataset, kind, url)
            per_unit = _nested(table, name, values, n_units, url)
            if region:
                attributes[name] = np.array([";".join(map(str, rows)) for rows in per_unit])
            else:
                ragged[name] = _as_lists(per_unit)
            continue
        values = _values(file, dataset, kind, url)
        if kind == "DynamicTableRegion":
            attributes.update(_electrode_columns(file, dataset, values, url))
        elif len(values) == n_units:
            attributes[renamed.get(name, name)] = values
        else:
            raise InputError(f"column {name} has {len(values)} rows for {n_units} units")
    return attributes, ragged


def _not_read(url: str, name: str, size: int, levels: int) -> None:
    warnings.warn(
        f"{url}: column {name} ({size} values through {levels} index levels) is"
        " not read: SpikeData has no field for it and it is too large for the metadata",
        stacklevel=3,
    )


def _attribute_names(
    file: Any, table: Any, renamed: Mapping[str, str], skip: set[str], url: str
) -> list[str]:
    """The unit attributes `_columns` makes, named from the layout alone (no column is read); the
    ragged columns a read would leave out are warned of as `_columns` warns of them."""
    names: list[str] = []
    for name, dataset, kind, levels in _column_plan(table, skip):
        if kind == "DynamicTableRegion" and not levels:
            target = file[dataset.attrs["table"]]
            names += ["electrode", *(f"electrode_{key}" for key in ELECTRODE_FIELDS if key in target)]
        elif (kind == "DynamicTableRegion" and levels == 1) or not levels:
            names.append(renamed.get(name, name))
        elif dataset.size > RAGGED_METADATA_VALUES:
            _not_read(url, name, dataset.size, levels)
    return names


def _values(file: Any, dataset: Any, kind: str, url: str) -> np.ndarray:
    import h5py

    values = hdf5.read(dataset, url)
    if kind == "DynamicTableRegion":
        target = file[dataset.attrs["table"]]
        ids = hdf5.read_numbers(target["id"], url, "id") if "id" in target else np.arange(len(target))
        return ids[_rows(values, len(ids), dataset.name, url)]
    if h5py.check_dtype(ref=dataset.dtype) is not None:
        return np.array([file[ref].name.rsplit("/", 1)[-1] if ref else "" for ref in values])
    if dataset.dtype.kind in "OS":
        return np.array(texts(values))
    return np.asarray(values)


def _rows(values: Any, n_rows: int, name: str, url: str) -> np.ndarray:
    """Row numbers of a DynamicTableRegion, each inside the table it refers to."""
    rows = hdf5.numbers(values, name, url).astype(np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
        raise InputError(f"{url}: {name} refers to row {int(rows.max())} of a table of {n_rows} rows")
    return rows


def _electrode_columns(file: Any, dataset: Any, electrode_ids: np.ndarray, url: str) -> dict[str, np.ndarray]:
    """A single-electrode region: the electrode id per unit, with its position and location when known."""
    target = file[dataset.attrs["table"]]
    rows = hdf5.read_numbers(dataset, url, dataset.name).astype(np.int64)  # checked by _values
    found = {"electrode": electrode_ids}
    for column in ELECTRODE_FIELDS:
        if column in target:
            values = hdf5.read(target[column], url)
            if len(values) <= (rows.max() if rows.size else -1):
                raise InputError(f"{url}: electrode column {column} has {len(values)} rows, too few")
            found[f"electrode_{column}"] = (
                np.array(texts(values))[rows] if values.dtype.kind in "OS" else values[rows]
            )
    return found


def _session(file: Any, path: str, table: Any, url: str) -> dict[str, Any]:
    """Session fields NWB defines, found at the root or under /general."""
    import h5py

    def dataset(name: str) -> Any:
        obj = file.get(name)
        return obj if isinstance(obj, h5py.Dataset) else None

    session: dict[str, Any] = {"nwb_version": text(file.attrs.get("nwb_version", "none (spikelab layout)"))}
    for field in (*SESSION_TEXT_FIELDS, "session_start_time", "timestamps_reference_time"):
        found = dataset(field) or dataset(f"general/{field}")
        if found is not None:
            session[field] = text(hdf5.read(found, url))
    if dataset("general/experimenter") is not None:
        session["experimenter"] = texts(hdf5.read(file["general/experimenter"], url))
    subject = file.get("general/subject")
    if isinstance(subject, h5py.Group):
        session["subject"] = {
            key: text(hdf5.read(item, url)) for key, item in subject.items() if isinstance(item, h5py.Dataset)
        }
    session["units_path"] = path
    if "description" in table.attrs:
        session["units_description"] = text(table.attrs["description"])
    return {"nwb": session}


def _window(file: Any, ragged: Mapping[str, Any], times: np.ndarray) -> tuple[float, float | None]:
    """The recording window in seconds: spikelab's root attributes, else a shared observation interval."""
    if "length_ms" in file.attrs:
        return float(file.attrs.get("start_time", 0.0)) / 1e3, float(file.attrs["length_ms"]) / 1e3
    intervals = ragged.get("obs_intervals")
    if intervals and all(unit == intervals[0] and len(unit) == 1 for unit in intervals):
        begin, end = intervals[0][0]
        return float(begin), float(end - begin)
    start = min(0.0, float(times.min())) if times.size else 0.0
    return start, None


def describe(url: str, *, storage_options: Any = None, units_path: str | None = None) -> dict[str, Any]:
    """`hub info` from the index, the attributes and each unit's first and last spike, and the same summary
    a full read gives: the hub's scratch record states the first and last spike of the file it wrote
    (trusted while its spike count is the file's); other files have each unit's ends read exactly, one
    small range per unit (about 1.5% of a 2,000-unit, 10 M spike file). The rest of the times is not
    read: whether they are sorted and finite is for `hub validate` to say."""
    from neurodatahub.core.codecs.hdf5 import page_size, read_rows
    from neurodatahub.spikes.checks import spike_summary

    with open_hdf5(url, storage_options) as file:
        path = _units_table(file, url, units_path)
        table = file[path]
        dataset = hdf5.dataset(_spike_times(table, path), url)
        ids = hdf5.read_numbers(table["id"], url, "id") if "id" in table else None
        known = None if ids is None else len(ids)
        index = _end_offsets(table, "spike_times", int(dataset.size), known, url)
        scratch, skip, rate, unit = _table_facts(file, table, url)
        recorded = common.recorded_range(scratch, int(index[-1]) if index.size else 0)
        if recorded is False:  # each unit's first and last spike, read exactly
            starts = np.concatenate([[0], index[:-1]]).astype(np.int64)
            filled = index > starts
            rows = np.concatenate([starts[filled], index[filled] - 1])
            ends_s = np.asarray(read_rows(dataset, rows, url, storage_options), dtype=np.float64).reshape(-1)
        else:
            ends_s = np.asarray(recorded or [], dtype=np.float64)
        ragged = {}
        obs = table.get("obs_intervals")
        # the window from a shared observation interval, kept as _columns keeps it (small enough)
        small = obs is not None and obs.size <= RAGGED_METADATA_VALUES
        if "start_time" not in scratch and small and _index_levels(table, "obs_intervals"):
            values = hdf5.read(obs, url)
            ragged["obs_intervals"] = _as_lists(_nested(table, "obs_intervals", values, len(index), url))
        start, length = _window_in(file, scratch, ragged, ends_s, unit, rate)
        names = _attribute_names(file, table, scratch.get("renamed_columns", {}), skip, url)
        page = page_size(file)
    ends = common.convert_times(ends_s, "s", unit, rate).astype(np.float64)
    extremes = (float(ends.min()), float(ends.max())) if ends.size else None
    return {
        "class": "SpikeData",
        **spike_summary(
            index=index,
            time_unit=unit,
            start_time=float(start),
            length=None if length is None else float(length),
            sampling_rate=rate,
            extremes=extremes,
            attribute_names=names,
        ),
        "hdf5_page_size": page,
    }


def _rate_from_resolution(dataset: Any) -> float | None:
    resolution = dataset.attrs.get("resolution")
    if resolution is None or not np.isfinite(resolution) or resolution <= 0:
        return None
    return float(round(1.0 / float(resolution), 6))


def write(model: SpikeData, path: Path, *, sampling_rate: float | None = None) -> None:
    """NWB 2.x with one Units table; everything typed carries its namespace and an object id."""
    import h5py

    rate = sampling_rate or model.sampling_rate
    session = _session_fields(model)
    with h5py.File(path, "w") as file:
        _typed(file, "NWBFile", "core")
        file.attrs["nwb_version"] = NWB_VERSION
        for name in (
            "acquisition",
            "analysis",
            "processing",
            "stimulus/presentation",
            "stimulus/templates",
            "scratch",
        ):
            file.require_group(name)
        general = file.require_group("general")
        file_created = datetime.now(UTC).isoformat()
        _text(file, "identifier", session.get("identifier") or str(uuid.uuid4()))
        _text(
            file,
            "session_description",
            session.get("session_description") or "spike trains converted by neurodatahub",
        )
        start_time = session.get("session_start_time") or file_created
        _text(file, "session_start_time", start_time)
        _text(file, "timestamps_reference_time", session.get("timestamps_reference_time") or start_time)
        file.create_dataset("file_create_date", data=np.array([file_created], dtype=h5py.string_dtype()))
        for field in SESSION_TEXT_FIELDS[2:]:
            if session.get(field):
                _text(general, field, str(session[field]))
        if session.get("experimenter"):
            experimenters = session["experimenter"]
            experimenters = [experimenters] if isinstance(experimenters, str) else list(experimenters)
            general.create_dataset("experimenter", data=np.array(experimenters, dtype=h5py.string_dtype()))
        _write_subject(general, model)
        renamed, extent = _write_units(file, model, rate)
        _write_scratch(file, model, rate, renamed, extent)


SUBJECT_FIELDS = (
    "subject_id",
    "species",
    "sex",
    "age",
    "date_of_birth",
    "description",
    "genotype",
    "strain",
    "weight",
)


# NWB's own words for "not known", so inspectors accept the file without data being made up
UNKNOWN_SUBJECT = {"subject_id": "unknown", "sex": "U", "age": "P0D/"}


def subject_fields(model: SpikeData) -> tuple[dict[str, str], list[str]]:
    """The Subject to write, and which required fields had to be written as unknown."""
    subject = _session_fields(model).get("subject")
    known = {
        key: str(value)
        for key, value in (subject if isinstance(subject, dict) else {}).items()
        if key in SUBJECT_FIELDS and value not in ("", None)
    }
    filled = [
        key for key in UNKNOWN_SUBJECT if key not in known and not (key == "age" and "date_of_birth" in known)
    ]
    return {**{key: UNKNOWN_SUBJECT[key] for key in filled}, **known}, filled


def _write_subject(general: Any, model: Any) -> None:
    group = _typed(general.create_group("subject"), "Subject", "core")
    fields, _ = subject_fields(model)
    for key, value in fields.items():
        _text(group, key, value)
    if "age" in fields:
        group["age"].attrs["reference"] = "birth"


def _session_fields(model: SpikeData) -> dict[str, Any]:
    """Session fields from metadata: the nwb block a reader left, or the same names at the top level."""
    metadata = model.metadata or {}
    nested = metadata.get("nwb", {}) if isinstance(metadata.get("nwb"), dict) else {}
    return {**{key: value for key, value in metadata.items() if isinstance(value, str | list)}, **nested}


def _typed(obj: Any, neurodata_type: str, namespace: str) -> Any:
    obj.attrs["neurodata_type"] = neurodata_type
    obj.attrs["namespace"] = namespace
    obj.attrs["object_id"] = str(uuid.uuid4())
    return obj


def _text(group: Any, name: str, value: str) -> None:
    import h5py

    group.create_dataset(name, data=value, dtype=h5py.string_dtype())


def _column(units: Any, name: str, data: Any, description: str) -> Any:
    dataset = units.create_dataset(name, data=data)
    dataset.attrs["description"] = description
    return _typed(dataset, "VectorData", HDMF)


def _index(units: Any, target: Any, offsets: np.ndarray) -> None:
    """A VectorIndex: exclusive end offsets in the smallest unsigned type, as pynwb writes them."""
    dtype = np.min_scalar_type(int(offsets[-1])) if offsets.size else np.dtype(np.uint8)
    dataset = units.create_dataset(f"{target.name.rsplit('/', 1)[-1]}_index", data=offsets.astype(dtype))
    dataset.attrs["description"] = f"Index for VectorData '{target.name.rsplit('/', 1)[-1]}'"
    dataset.attrs["target"] = target.ref
    _typed(dataset, "VectorIndex", HDMF)


def _write_units(file: Any, model: Any, rate: float | None) -> tuple[dict[str, str], dict[str, Any]]:
    """The Units table; returns the renamed columns and the spikes' extent as written (in seconds)."""
    import h5py

    units = _typed(file.create_group("units"), "Units", "core")
    units.attrs["description"] = "units written by neurodatahub"
    colnames = ["spike_times"]
    times = common.times_in(model, "s", rate).astype(np.float64, copy=False)
    spike_times = _column(units, "spike_times", times, "the spike times for each unit in seconds")
    if rate:
        spike_times.attrs["resolution"] = 1.0 / rate
    _index(units, spike_times, np.asarray(model.spike_times_index, dtype=np.int64))
    ids = units.create_dataset("id", data=np.asarray(model.unit_ids, dtype=np.int64))
    _typed(ids, "ElementIdentifiers", HDMF)
    start, length = common.window_in(model, "s", rate)
    obs = _column(
        units,
        "obs_intervals",
        np.tile([[start, start + length]], (len(model.unit_ids), 1)),
        "the observation intervals for each unit: the recording window",
    )
    _index(units, obs, np.arange(1, len(model.unit_ids) + 1, dtype=np.int64))
    colnames.append("obs_intervals")
    renamed: dict[str, str] = {}
    for attribute in model.unit_attributes or ():
        name = f"{attribute.name}_value" if attribute.name in RESERVED_COLUMNS else attribute.name
        if name != attribute.name:
            renamed[name] = attribute.name
        values = np.asarray(attribute.values)
        if values.dtype.kind in "UO":
            values = np.array([str(value) for value in values.reshape(-1)], dtype=h5py.string_dtype())
        _column(units, name, values, attribute.description or f"unit attribute {attribute.name}")
        colnames.append(name)
    units.attrs["colnames"] = np.array(colnames, dtype=h5py.string_dtype())
    return renamed, common.range_record(times, model.spike_times_index)


def _write_scratch(
    file: Any, model: Any, rate: float | None, renamed: Mapping[str, str], extent: Mapping[str, Any]
) -> None:
    """What NWB has no field for, as JSON in a ScratchData object (a standard NWB place for notes)."""
    import h5py

    record = {
        "written_by": f"neurodatahub {__version__}",
        "time_unit": model.time_unit,
        "start_time": model.start_time,
        "length": model.length,
        "sampling_rate": rate,
        "window_in_obs_intervals": True,
        "renamed_columns": dict(renamed),
        **extent,
        "metadata": model.metadata or {},
        "provenance": [step.model_dump(mode="json") for step in model.provenance or ()],
    }
    dataset = file.create_dataset(SCRATCH, data=to_json(record), dtype=h5py.string_dtype())
    dataset.attrs["notes"] = "neurodatahub: model fields NWB has no place for (JSON)"
    dataset.attrs["description"] = "neurodatahub round-trip record"
    _typed(dataset, "ScratchData", "core")


def verify(model: SpikeData, path: Path, *, sampling_rate: float | None = None) -> None:
    """The Units table holds the model's units and spikes (spot-checked), in seconds."""
    import h5py

    rate = sampling_rate or model.sampling_rate
    with h5py.File(path, "r") as file:
        units = file["units"]
        if not np.array_equal(units["id"][()], np.asarray(model.unit_ids)):
            raise OutputError("unit ids written differ from the data's")
        expected = common.times_in(model, "s", rate).astype(np.float64, copy=False)
        common.verify_flat(
            units["spike_times"], units["spike_times_index"], expected, model.spike_times_index
        )


def losses(model: SpikeData, *, sampling_rate: float | None = None) -> list[Any]:
    found = []
    if not _session_fields(model).get("session_start_time"):
        found.append(
            common.loss(
                "metadata.session_start_time",
                "NWB requires one and none was known: the file's creation time was written instead",
            )
        )
    _, filled = subject_fields(model)
    if filled:
        written = ", ".join(f"{key} {UNKNOWN_SUBJECT[key]!r}" for key in filled)
        found.append(
            common.loss("metadata.subject", f"not known; NWB requires it, so written as unknown: {written}")
        )
    if model.raw_data is not None:
        found.append(
            common.loss("raw_data", "not written: an NWB ElectricalSeries needs an electrodes table")
        )
    return found


def sniff(probe: Probe) -> bool:
    """An NWB file, or spikelab's NWB-like layout (units/spike_times without NWB attributes)."""
    root = probe.hdf5_root
    if root is None:
        return False
    attrs, paths = root
    return attrs.get("neurodata_type") == "NWBFile" or (
        "units/spike_times" in paths and "nwb_version" not in attrs
    )


register_format(
    FormatSpec(
        name="nwb",
        kind=common.KIND,
        description="NWB 2.x Units table (pynwb, matnwb, NeuroConv; spikelab's NWB-like files too)",
        extensions=(".nwb",),
        read=read,
        write=write,
        sniff=sniff,
        read_options=ReadOptions,
        write_options=WriteOptions,
        cannot_store=("raw data (needs an electrodes table)",),
        losses=losses,
        verify=verify,
        describe=describe,
    )
)
