"""`hub info` of spike files reads the index, the attributes and each unit's first and last spike, not the
times: what it prints must be what a full read says, for files spikelab, pynwb and the hub write, in every
time unit and style. (What it downloads from S3 is in tests/remote/test_remote_budgets.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from spikelab.data_loaders import data_exporters as spikelab_export
from spikelab.spikedata import SpikeData as SpikelabSpikeData
from strategies import spike_data

from neurodatahub.core import conversion
from neurodatahub.core.registry import get_format, input_format
from neurodatahub.core.summary import same


def _both(path: Path, fmt: str | None = None, **options: object) -> tuple[dict, dict]:
    spec = get_format(fmt, "spikes") if fmt else input_format(str(path))
    described = conversion.describe_file(spec, str(path), **options)
    described.pop("hdf5_page_size", None)
    return described, conversion.summarize_file(spec, str(path), **options)


def _assert_same(path: Path, fmt: str | None = None, **options: object) -> None:
    described, full = _both(path, fmt, **options)
    assert same(described, full), {key: (described.get(key), value) for key, value in full.items()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spikes=spike_data(), target=st.sampled_from(["nwb", "h5", "parquet"]), unit=st.sampled_from(["s", "ms"])
)
def test_the_header_summary_is_the_full_summary(tmp_path: Path, spikes, target: str, unit: str) -> None:
    path = tmp_path / f"spikes.{target}"
    path.unlink(missing_ok=True)
    options = {"time_unit": unit} if target == "h5" and spikes.sampling_rate else {}
    conversion.write(spikes, str(path), overwrite=True, **options)
    _assert_same(path)


SPIKELAB_STYLES = [  # what spikelab's exporter takes, what reading its file needs
    ("ragged", {}, {}),
    ("ragged", {"spike_times_unit": "ms"}, {"time_unit": "ms"}),
    (
        "ragged",
        {"spike_times_unit": "samples", "fs_Hz": 20000.0},
        {"time_unit": "samples", "sampling_rate": 20000.0},
    ),
    ("group", {}, {}),
    ("paired", {}, {}),
    ("raster", {"raster_bin_size_ms": 2.0}, {}),
]


@pytest.mark.parametrize(("style", "export_options", "read_options"), SPIKELAB_STYLES)
def test_files_spikelab_writes(tmp_path: Path, style: str, export_options: dict, read_options: dict) -> None:
    rng = np.random.default_rng(7)
    trains = [np.rint(np.sort(rng.uniform(0, 2000, count)) * 20) / 20 for count in (6, 0, 9, 3)]
    source = SpikelabSpikeData(trains, start_time=-10.0, length=2010.0)
    path = tmp_path / "spikelab.h5"
    spikelab_export.export_spikedata_to_hdf5(source, str(path), style=style, **export_options)
    _assert_same(path, "hdf5", style=style, **read_options)
    nwb = tmp_path / "spikelab.nwb"
    spikelab_export.export_spikedata_to_nwb(source, str(nwb))  # spikelab's NWB-like layout
    _assert_same(nwb)


def test_real_nwb_files(shared_data: Path) -> None:
    for path in sorted((shared_data / "nwb").glob("*.nwb")):
        _assert_same(path)


def test_a_table_without_the_hubs_header_is_read_whole(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"cluster": [4, 4, 9, 9, 9], "time_ms": [1.0, 5.0, 0.5, 2.0, 9.0]}), path)
    _assert_same(path)
    no_statistics = tmp_path / "no_stats.parquet"
    conversion.write(conversion.read(str(path)), str(no_statistics))
    table = pq.read_table(no_statistics)
    pq.write_table(table, no_statistics, write_statistics=False)
    _assert_same(no_statistics)
