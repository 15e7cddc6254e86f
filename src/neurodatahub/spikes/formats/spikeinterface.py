"""SpikeInterface's saved sortings: the NumPy folder (`NumpyFolderSorting`) and the Zarr store
(`ZarrSortingExtractor`).

What `sorting.save(folder=..., format="numpy_folder")` and `sorting.save(folder=..., format="zarr")` write
in SpikeInterface 0.101-0.105, so `spikeinterface.load(...)`, `load_extractor` and the classes open the
hub's output, and the hub reads theirs:
- NumPy folder: `numpysorting_info.json` (sampling_frequency, unit_ids, num_segments), `spikes.npy` (a
  structured array of int64 sample_index, unit_index, segment_index, ordered by segment, sample, unit),
  `properties/<name>.npy` (one value per unit), `annotations.json`, and `si_folder.json` (what `load`
  looks for first).
- Zarr (v2 store): attributes sampling_frequency, num_segments, annotations; `unit_ids`;
  `spikes/sample_index` and `spikes/unit_index` (Blosc-zstd with a Delta filter, as SpikeInterface
  writes), `spikes/segment_slices` ([start, stop) per segment), `spikes/sample_index_chunk_firsts`;
  `properties/<name>`.
Written here with numpy, json and zarr (spikeinterface is not needed to read or write them).

A sorting counts time in samples: the hub reads times in samples with the sampling rate, and writing
needs one (the data's, or `sampling_rate=`). Times off the sample grid are rounded (declared); the
window is not stored and reads back as [min(0, first spike), last spike] (declared when it differs).
Several segments: the one `segment=` names (an error lists them otherwise). Unit properties are unit
attributes; annotations are the metadata (JSON). Unit ids must be integers (SpikeData's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import budget, storage, words
from neurodatahub.core.budget import BudgetError
from neurodatahub.core.codecs.npz import check_npy
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.options import Options, Positive
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.spikes import common

if TYPE_CHECKING:
    from neurodatahub.core.models import SpikeData

INFO = "numpysorting_info.json"
SPIKES = "spikes.npy"
SPIKE_DTYPE = np.dtype([("sample_index", "int64"), ("unit_index", "int64"), ("segment_index", "int64")])
FILE_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
SI_LAYOUT_VERSION = "0.105.0"
ZARR_CHUNK = 1_000_000  # spikes per zarr chunk (SpikeInterface's chunking order of magnitude)


class ReadOptions(Options):
    segment: int | None = Field(None, ge=0, description="the segment to read when the sorting has several")


class WriteOptions(Options):
    sampling_rate: Positive | None = Field(None, description="sampling rate in Hz (default: the data's own)")


# ---- the sorting as arrays, either way ----


def spikes_from_vector(
    samples: np.ndarray,
    units: np.ndarray,
    segments: np.ndarray,
    unit_ids: np.ndarray,
    rate: float,
    properties: dict[str, np.ndarray],
    annotations: Any,
    num_segments: int,
    segment: int | None,
    url: str,
) -> SpikeData:
    if segment is None and num_segments > 1:
        raise InputError(f"{url} holds {num_segments} segments; choose one with -R segment=N (0-based)")
    chosen = segment or 0
    if chosen >= num_segments:
        raise InputError(f"{url} has {num_segments} segments; segment {chosen} does not exist")
    ids = np.asarray(unit_ids)
    if ids.dtype.kind not in "iu":
        try:
            ids = np.array([int(str(value)) for value in ids.tolist()], dtype=np.int64)
        except ValueError:
            raise InputError(
                f"{url}: unit ids {ids.tolist()[:5]} are not integers, which SpikeData needs"
            ) from None
    keep = segments == chosen
    units, samples = units[keep], samples[keep]
    if units.size and (units.min() < 0 or units.max() >= len(ids)):
        raise InputError(f"{url}: a spike's unit_index is outside the {len(ids)} units")
    for name, values in properties.items():
        if len(values) != len(ids):
            raise InputError(f"{url}: property {name!r} has {len(values)} values for {len(ids)} units")
    return common.from_pairs(
        units,
        samples.astype(np.float64),
        len(ids),
        time_unit="samples",
        sampling_rate=float(rate),
        unit_ids=ids.astype(np.int64),
        unit_attributes=properties,
        metadata=annotations if isinstance(annotations, dict) and annotations else None,
    )


def sample_vector(spikes: SpikeData, rate: float | None) -> tuple[np.ndarray, float]:
    """The spike vector SpikeInterface keeps: sorted by sample, then unit; segment 0."""
    rate = _rate(spikes, rate)
    samples = common.times_in(spikes, "samples", rate).astype(np.int64)
    if samples.size and samples.min() < 0:
        raise UsageError("SpikeInterface sample indices start at 0: spikes before time 0 cannot be written")
    units = common.unit_of_each_spike(spikes)
    order = np.lexsort((units, samples))
    vector = np.zeros(samples.size, dtype=SPIKE_DTYPE)
    vector["sample_index"] = samples[order]
    vector["unit_index"] = units[order]
    return vector, float(rate)


def _rate(spikes: SpikeData, given: float | None) -> float:
    rate = given or spikes.sampling_rate
    if not rate:
        raise UsageError(
            "a SpikeInterface sorting counts samples: give a sampling rate"
            f" ({words.option('sampling_rate', words.Placeholder('HZ'))})"
        )
    return float(rate)


def unit_properties(spikes: SpikeData) -> dict[str, np.ndarray]:
    found = {}
    for name, values in common.attributes(spikes).items():
        if not FILE_SAFE.match(name):
            raise UsageError(f"unit attribute {name!r} cannot be a SpikeInterface property file name")
        found[name] = values
    return found


def losses(spikes: SpikeData, *, sampling_rate: float | None = None) -> list[Any]:
    rate = _rate(spikes, sampling_rate)
    found = list(common.sample_rounding_loss(spikes, "samples", rate))
    if spikes.time_unit != "samples":
        found.append(
            common.loss(
                "time_unit", f"SpikeInterface counts samples: times read back in samples at {rate} Hz"
            )
        )
    samples = common.times_in(spikes, "samples", rate)
    first = min(0.0, float(samples.min())) if samples.size else 0.0
    default = (first, float(samples.max()) - first) if samples.size else (0.0, 0.0)
    if common.window_in(spikes, "samples", rate) != default:
        found.append(
            common.loss("start_time", "a sorting has no recording window: it reads back from the spikes")
        )
    for field in ("raw_data", "provenance"):
        if getattr(spikes, field):
            found.append(common.loss(field, "a SpikeInterface sorting folder has no place for it"))
    return found


# ---- NumPy folder ----


def _npy(path: Path, url: str) -> np.ndarray:
    """One .npy of the folder: its declared shape checked against the budget, never unpickled."""
    with open(path, "rb") as handle:
        check_npy(handle, path.name, url)
        return np.load(handle, allow_pickle=False)


def read_folder(
    url: str, *, storage_options: Mapping[str, Any] | None = None, segment: int | None = None
) -> SpikeData:
    with storage.local_copy(url, storage_options) as folder:
        try:
            info = json.loads((folder / INFO).read_text(encoding="utf-8"))
            vector = _npy(folder / SPIKES, url)
            properties = {
                path.stem: _npy(path, url) for path in sorted((folder / "properties").glob("*.npy"))
            }
            notes = folder / "annotations.json"
            annotations = json.loads(notes.read_text(encoding="utf-8")) if notes.is_file() else None
            rate, ids, count = info["sampling_frequency"], info["unit_ids"], int(info["num_segments"])
        except FileNotFoundError as error:
            raise InputError(
                f"{url}: not a SpikeInterface sorting folder (missing {Path(error.filename).name})"
            ) from error
        except BudgetError:
            raise
        except (ValueError, KeyError, TypeError, OSError, EOFError, InputError) as error:
            raise InputError(
                f"{url}: damaged SpikeInterface sorting folder ({type(error).__name__}: {error})"
            ) from error
    if vector.dtype.names is None or not {"sample_index", "unit_index"} <= set(vector.dtype.names):
        raise InputError(f"{url}: {SPIKES} is not a spike vector (sample_index, unit_index, segment_index)")
    segments = (
        vector["segment_index"] if "segment_index" in vector.dtype.names else np.zeros(len(vector), int)
    )
    return spikes_from_vector(
        vector["sample_index"], vector["unit_index"], segments, np.asarray(ids), rate, properties,
        annotations,
        count, segment, url,
    )  # fmt: skip


def write_folder(spikes: SpikeData, path: Path, *, sampling_rate: float | None = None) -> None:
    vector, rate = sample_vector(spikes, sampling_rate)
    properties = unit_properties(spikes)
    path.mkdir(exist_ok=True)
    ids = [int(value) for value in np.asarray(spikes.unit_ids).tolist()]
    info = {"sampling_frequency": rate, "unit_ids": ids, "num_segments": 1}
    (path / INFO).write_text(json.dumps(info), encoding="utf-8")
    np.save(path / SPIKES, vector)
    (path / "properties").mkdir()
    for name, values in properties.items():
        np.save(path / "properties" / f"{name}.npy", values, allow_pickle=False)
    (path / "annotations.json").write_text(json.dumps(annotations_of(spikes)), encoding="utf-8")
    loader = {
        "class": "spikeinterface.core.sortingfolder.NumpyFolderSorting",
        "module": "spikeinterface",
        # the release whose layout this is; spikeinterface.load needs the key, it does not compare it
        "version": SI_LAYOUT_VERSION,
        "kwargs": {"folder_path": ".", "mmap_mode": None},
        "annotations": annotations_of(spikes),
        "properties": {},
        "relative_paths": True,
    }
    (path / "si_folder.json").write_text(json.dumps(loader, indent=4), encoding="utf-8")


def annotations_of(spikes: SpikeData) -> dict[str, Any]:
    from neurodatahub.core.codecs.metadata import to_json

    if spikes.metadata is None:
        return {}
    metadata = json.loads(to_json(spikes.metadata))
    return metadata if isinstance(metadata, dict) else {"metadata": metadata}


def sniff_folder(probe: Probe) -> bool:
    return probe.is_dir and INFO in probe.names and SPIKES in probe.names


# ---- Zarr ----


def read_zarr(
    url: str, *, storage_options: Mapping[str, Any] | None = None, segment: int | None = None
) -> SpikeData:
    import zarr
    from zarr.errors import MetadataError  # damaged .zarray/.zgroup JSON: not a ValueError

    with storage.local_copy(url, storage_options) as folder:
        try:
            root = zarr.open_group(str(folder), mode="r")
            attrs = dict(root.attrs)
            group = root["spikes"]
            samples, units = _zarr_values(group["sample_index"], url), _zarr_values(group["unit_index"], url)
            slices = _zarr_values(group["segment_slices"], url).reshape(-1, 2)
            ids = _zarr_values(root["unit_ids"], url)
            properties = (
                {name: _zarr_values(array, url) for name, array in root["properties"].arrays()}
                if "properties" in root
                else {}
            )
            rate, count = attrs["sampling_frequency"], int(attrs["num_segments"])
        except InputError:
            raise
        except (KeyError, IndexError, ValueError, TypeError, OSError, RuntimeError, MetadataError) as error:
            raise InputError(
                f"{url}: not a readable SpikeInterface zarr sorting ({type(error).__name__}: {error})"
            ) from error
    segments = np.zeros(len(samples), dtype=np.int64)
    for index, (start, stop) in enumerate(slices.tolist()):
        segments[start:stop] = index
    return spikes_from_vector(
        samples, units, segments, ids, rate, properties, attrs.get("annotations"), count, segment, url
    )


def _zarr_values(array: Any, url: str) -> np.ndarray:
    """A whole zarr array, after what its .zarray declares: no pickled values (object arrays or the pickle
    codec, whatever numcodecs allows), a shape within the memory budget (missing chunks cost nothing on
    disk but are filled in memory)."""
    codecs = [*(array.filters or ()), *([array.compressor] if array.compressor else [])]
    if array.dtype.hasobject or any(codec.codec_id == "pickle" for codec in codecs):
        raise InputError(
            f"{url}: the zarr array {array.name} holds pickled Python objects; loading it would run code from"
            " the file, so the hub refuses it"
        )
    budget.require_array(array.shape, array.dtype, f"the zarr array {array.name} {array.shape}", url)
    return np.asarray(array[:])


def write_zarr(spikes: SpikeData, path: Path, *, sampling_rate: float | None = None) -> None:
    import zarr
    from numcodecs import Blosc, Delta

    vector, rate = sample_vector(spikes, sampling_rate)
    properties = unit_properties(spikes)
    root = zarr.open_group(str(path), mode="w")
    root.attrs.update(
        {
            "sampling_frequency": rate,
            "num_segments": 1,
            "annotations": annotations_of(spikes),
            "provenance": None,
            "zarr_class_info": {
                "class": "spikeinterface.core.zarrextractors.ZarrSortingExtractor",
                "module": "spikeinterface",
            },
        }
    )
    root.create_dataset("unit_ids", data=np.asarray(spikes.unit_ids, dtype=np.int64), compressor=None)
    group = root.create_group("spikes")
    compressor = Blosc(cname="zstd", clevel=5, shuffle=Blosc.BITSHUFFLE)
    chunks = (max(1, min(ZARR_CHUNK, len(vector))),)
    for field in ("sample_index", "unit_index"):
        group.create_dataset(
            field, data=vector[field], chunks=chunks, compressor=compressor, filters=[Delta(dtype="int64")]
        )
    group.create_dataset("segment_slices", data=np.array([[0, len(vector)]], dtype=np.int64), compressor=None)
    group.create_dataset(
        "sample_index_chunk_firsts",
        data=vector["sample_index"][:: chunks[0]].astype(np.int64),
        compressor=None,
    )
    folder = root.create_group("properties")
    for name, values in properties.items():
        folder.create_dataset(name, data=values, compressor=None)


def sniff_zarr(probe: Probe) -> bool:
    if not probe.is_dir or ".zattrs" not in probe.names or "spikes" not in probe.names:
        return False
    try:
        with storage.open_read(storage.join(probe.url, ".zattrs"), probe.storage_options) as handle:
            attrs = json.loads(handle.read(1 << 20))
    except (InputError, ValueError):
        return False
    return "sampling_frequency" in attrs and "num_segments" in attrs


register_format(
    FormatSpec(
        name="si-folder",
        kind=common.KIND,
        description="SpikeInterface NumpyFolderSorting (spikes.npy, numpysorting_info.json, properties/)",
        extensions=(".si",),
        read=read_folder,
        write=write_folder,
        sniff=sniff_folder,
        read_options=ReadOptions,
        write_options=WriteOptions,
        directory=True,
        cannot_store=("times off the sample grid", "the recording window", "raw data", "provenance"),
        losses=losses,
    )
)
register_format(
    FormatSpec(
        name="si-zarr",
        kind=common.KIND,
        description="SpikeInterface ZarrSortingExtractor store (zarr v2: spikes/sample_index, unit_index...)",
        extensions=(".zarr",),
        read=read_zarr,
        write=write_zarr,
        sniff=sniff_zarr,
        read_options=ReadOptions,
        write_options=WriteOptions,
        directory=True,
        cannot_store=("times off the sample grid", "the recording window", "raw data", "provenance"),
        losses=losses,
        claims_extension=False,  # .zarr is OME-Zarr images too: a sorting is known by its attributes
    )
)
