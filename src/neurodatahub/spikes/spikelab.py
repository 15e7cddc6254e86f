"""spikelab 0.1.2's exporters and loaders under the same names, parameters and defaults.

They take and return the hub's SpikeData (any time unit) and accept any fsspec URL. Differences, on
purpose: `export_spikedata_to_nwb` writes real NWB (spikelab's file fails NWB validation), files are
written atomically, and the HDF5 files also carry what spikelab drops (see
`neurodatahub.spikes.formats.hdf5`).
"""

from __future__ import annotations

from typing import Any

from neurodatahub.core.conversion import read, write
from neurodatahub.core.errors import UsageError
from neurodatahub.spikes import common
from neurodatahub.spikes.formats.phy import export_spikedata_to_kilosort, load_spikedata_from_kilosort

__all__ = [
    "export_spikedata_to_hdf5",
    "export_spikedata_to_kilosort",
    "export_spikedata_to_nwb",
    "load_spikedata_from_hdf5",
    "load_spikedata_from_kilosort",
    "load_spikedata_from_nwb",
]

STYLE_DATASETS = {
    "ragged": ("spike_times_dataset", "spike_times_index_dataset"),
    "group": ("group_per_unit",),
    "paired": ("idces_dataset", "times_dataset"),
    "raster": ("raster_dataset",),
}


def export_spikedata_to_hdf5(
    sd: Any,
    filepath: str,
    *,
    style: str = "ragged",
    raster_dataset: str = "raster",
    raster_bin_size_ms: float | None = None,
    spike_times_dataset: str = "spike_times",
    spike_times_index_dataset: str = "spike_times_index",
    spike_times_unit: str = "s",
    fs_Hz: float | None = None,
    group_per_unit: str = "units",
    group_time_unit: str = "s",
    idces_dataset: str = "idces",
    times_dataset: str = "times",
    times_unit: str = "ms",
    raw_dataset: str | None = None,
    raw_time_dataset: str | None = None,
    raw_time_unit: str = "ms",
) -> str:
    """Write one of the four styles; like spikelab, an existing file is replaced."""
    unit = {"ragged": spike_times_unit, "group": group_time_unit, "paired": times_unit}.get(style)
    write(
        sd,
        filepath,
        format="hdf5",
        overwrite=True,
        style=style,
        time_unit=unit,
        sampling_rate=fs_Hz,
        bin_size_ms=raster_bin_size_ms,
        raster_dataset=raster_dataset,
        spike_times_dataset=spike_times_dataset,
        spike_times_index_dataset=spike_times_index_dataset,
        group_per_unit=group_per_unit,
        idces_dataset=idces_dataset,
        times_dataset=times_dataset,
        raw_dataset=raw_dataset,
        raw_time_dataset=raw_time_dataset,
        raw_time_unit=raw_time_unit,
    )
    return filepath


def load_spikedata_from_hdf5(
    filepath: str,
    *,
    raster_dataset: str | None = None,
    raster_bin_size_ms: float | None = None,
    spike_times_dataset: str | None = None,
    spike_times_index_dataset: str | None = None,
    spike_times_unit: str = "s",
    fs_Hz: float | None = None,
    group_per_unit: str | None = None,
    group_time_unit: str = "s",
    idces_dataset: str | None = None,
    times_dataset: str | None = None,
    times_unit: str = "s",
    raw_dataset: str | None = None,
    raw_time_dataset: str | None = None,
    raw_time_unit: str = "s",
    length_ms: float | None = None,
    metadata: dict | None = None,
) -> Any:
    """Read one style, named by its dataset arguments as in spikelab (none named: detected)."""
    given = dict(
        raster_dataset=raster_dataset,
        spike_times_dataset=spike_times_dataset,
        spike_times_index_dataset=spike_times_index_dataset,
        group_per_unit=group_per_unit,
        idces_dataset=idces_dataset,
        times_dataset=times_dataset,
    )
    styles = [style for style, names in STYLE_DATASETS.items() if all(given[name] for name in names)]
    if len(styles) > 1:
        raise UsageError(f"give the datasets of exactly one style, got {', '.join(styles)}")
    options: dict[str, Any] = {name: value for name, value in given.items() if value}
    if styles:
        options["style"] = styles[0]
        options["time_unit"] = {
            "ragged": spike_times_unit,
            "group": group_time_unit,
            "paired": times_unit,
        }.get(styles[0])
    if raster_bin_size_ms:
        options["bin_size_ms"] = raster_bin_size_ms
    if raw_dataset and raw_time_dataset:
        options.update(
            raw_dataset=raw_dataset, raw_time_dataset=raw_time_dataset, raw_time_unit=raw_time_unit
        )
    spikes = read(filepath, format="hdf5", sampling_rate=fs_Hz, **{k: v for k, v in options.items() if v})
    return _adjusted(spikes, length_ms=length_ms, metadata=metadata)


def export_spikedata_to_nwb(
    sd: Any,
    filepath: str,
    *,
    spike_times_dataset: str = "spike_times",
    spike_times_index_dataset: str = "spike_times_index",
    group: str = "units",
) -> str:
    """Write real NWB 2.x; NWB fixes the names, so only spikelab's defaults are accepted."""
    if (spike_times_dataset, spike_times_index_dataset, group) != (
        "spike_times",
        "spike_times_index",
        "units",
    ):
        raise UsageError(
            "NWB fixes the names units/spike_times and units/spike_times_index; other names are not NWB"
        )
    write(sd, filepath, format="nwb", overwrite=True)
    return filepath


def load_spikedata_from_nwb(
    filepath: str,
    *,
    prefer_pynwb: bool = True,
    length_ms: float | None = None,
    start_time_ms: float | None = None,
) -> Any:
    """Read the Units table (always with h5py: pynwb is not needed; prefer_pynwb is accepted and ignored)."""
    del prefer_pynwb
    return _adjusted(read(filepath, format="nwb"), length_ms=length_ms, start_time_ms=start_time_ms)


def _adjusted(
    spikes: Any,
    *,
    length_ms: float | None = None,
    start_time_ms: float | None = None,
    metadata: dict | None = None,
) -> Any:
    """spikelab's loader overrides: window in ms, extra metadata merged over what the file had."""
    changes: dict[str, Any] = {}
    rate = spikes.sampling_rate
    if start_time_ms is not None:
        changes["start_time"] = common.convert_scalar(start_time_ms, "ms", spikes.time_unit, rate)
    if length_ms is not None:
        changes["length"] = common.convert_scalar(length_ms, "ms", spikes.time_unit, rate)
    if metadata:
        changes["metadata"] = {**(spikes.metadata or {}), **metadata}
    if not changes:
        return spikes
    return type(spikes).model_validate({**dict(spikes), **changes})
