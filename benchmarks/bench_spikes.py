"""Spike conversions at scale: 2,000 units and 10 M spikes, the hub against its peers in the same run.

Cases (each in a fresh process, so peak memory is its own):
- NWB -> HDF5 ragged: hub, spikelab (load_spikedata_from_nwb + export_spikedata_to_hdf5), and the
  limit: a plain h5py read of the two arrays and h5py write of them.
- HDF5 -> NWB: hub, pynwb with bulk columns, spikelab's exporter (not valid NWB), the h5py limit.
- Phy -> NWB: hub, spikeinterface read_phy + pynwb bulk (NeuroConv when installed), the h5py limit.
Peak memory is the peak of memory traced by tracemalloc (numpy arrays report their buffers to it)
during the conversion, against the spike arrays' size; it is measured in a separate, untimed run.
Every case imports its libraries before the clock starts (the hub's models take about 0.4 s to
import, pynwb about as long). Each process converts twice: the figure is the second conversion (steady
state, as in a batch), the first one is reported beside it. Best of three processes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

N_UNITS = 2_000
N_SPIKES = 10_000_000
RATE = 30_000.0
HERE = Path(__file__).resolve()


def make_inputs(folder: Path) -> dict[str, Path]:
    """The same recording as NWB, HDF5 ragged and a Phy folder, written by the hub."""
    from neurodatahub.core import conversion
    from neurodatahub.spikes import common

    rng = np.random.default_rng(0)
    counts = rng.multinomial(N_SPIKES, rng.dirichlet(np.ones(N_UNITS)))
    samples = np.concatenate([np.sort(rng.integers(0, int(3600 * RATE), count)) for count in counts])
    spikes = common.build(
        spike_times=samples / RATE,
        spike_times_index=np.cumsum(counts),
        time_unit="s",
        start_time=0.0,
        length=3600.0,
        sampling_rate=RATE,
        metadata={
            "nwb": {
                "session_start_time": "2026-01-01T00:00:00+00:00",
                "subject": {"subject_id": "b", "sex": "U", "age": "P1D/"},
            }
        },
    )
    paths = {"nwb": folder / "in.nwb", "h5": folder / "in.h5", "phy": folder / "in_phy"}
    conversion.write(spikes, str(paths["nwb"]))
    conversion.write(spikes, str(paths["h5"]))
    conversion.write(spikes, str(paths["phy"]), format="phy")
    return paths


def _h5py_copy(source: str, index_name: str, target: str) -> None:
    import h5py

    with h5py.File(source, "r") as file:
        times, index = file[f"{index_name}spike_times"][()], file[f"{index_name}spike_times_index"][()]
    with h5py.File(target, "w") as file:
        file["spike_times"], file["spike_times_index"] = times, index


def _pynwb_write(times: np.ndarray, index: np.ndarray, target: str) -> None:
    from datetime import UTC, datetime

    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import Units

    nwbfile = NWBFile("benchmark", "bench", datetime(2026, 1, 1, tzinfo=UTC))
    spike_times = VectorData(name="spike_times", description="times", data=times)
    spike_index = VectorIndex(name="spike_times_index", data=index.astype(np.uint32), target=spike_times)
    ids = ElementIdentifiers(name="id", data=np.arange(len(index)))
    nwbfile.units = Units(name="units", description="bulk", id=ids, columns=[spike_times, spike_index])
    with NWBHDF5IO(target, "w") as io:
        io.write(nwbfile)


def _spikelab_data(path: str, style: str):
    from spikelab.data_loaders import data_loaders

    if style == "nwb":
        return data_loaders.load_spikedata_from_nwb(path, prefer_pynwb=False)
    return data_loaders.load_spikedata_from_hdf5(
        path, spike_times_dataset="spike_times", spike_times_index_dataset="spike_times_index"
    )


def run_case(case: str, inputs: dict[str, str], target: str, trace: bool) -> None:
    """One conversion; runs in its own process (see run())."""
    if case.startswith("hub"):  # imports before the clock, as for the peers: conversion time only
        import neurodatahub.models  # noqa: F401
        from neurodatahub.core.registry import all_formats

        all_formats()
    if "pynwb" in case:
        import pynwb  # noqa: F401
    if "spikelab" in case:
        import spikelab.data_loaders.data_exporters  # noqa: F401
    if "spikeinterface" in case:
        import spikeinterface.extractors  # noqa: F401
    import h5py  # noqa: F401

    timings = []
    for _ in range(1 if trace else 2):  # a cold and a warm conversion in the same process
        _remove(Path(target))
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        _convert_once(case, inputs, target)
        timings.append(time.perf_counter() - started)
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    print(json.dumps({"cold": timings[0], "warm": timings[-1], "peak_mb": peak}))


def _remove(target: Path) -> None:
    if target.is_dir():
        shutil.rmtree(target)
    target.unlink(missing_ok=True)


def _convert_once(case: str, inputs: dict[str, str], target: str) -> None:
    from neurodatahub.core import conversion

    if case == "hub nwb->h5":
        conversion.convert(inputs["nwb"], target)
    elif case == "hub nwb->h5 (no checksums)":
        conversion.convert(inputs["nwb"], target, checksum=False)
    elif case == "spikelab nwb->h5":
        from spikelab.data_loaders.data_exporters import export_spikedata_to_hdf5

        export_spikedata_to_hdf5(_spikelab_data(inputs["nwb"], "nwb"), target)
    elif case == "h5py limit nwb->h5":
        _h5py_copy(inputs["nwb"], "units/", target)
    elif case == "hub h5->nwb":
        conversion.convert(inputs["h5"], target)
    elif case == "hub h5->nwb (no checksums)":
        conversion.convert(inputs["h5"], target, checksum=False)
    elif case == "pynwb bulk h5->nwb":
        import h5py

        with h5py.File(inputs["h5"], "r") as file:
            times, index = file["spike_times"][()], file["spike_times_index"][()]
        _pynwb_write(times, index, target)
    elif case == "spikelab h5->nwb (not valid NWB)":
        from spikelab.data_loaders.data_exporters import export_spikedata_to_nwb

        export_spikedata_to_nwb(_spikelab_data(inputs["h5"], "h5"), target)
    elif case == "h5py limit h5->nwb":
        _h5py_copy(inputs["h5"], "", target)
    elif case == "hub phy->nwb":
        conversion.convert(inputs["phy"], target)
    elif case == "spikeinterface+pynwb phy->nwb":
        from spikeinterface.extractors import read_phy

        sorting = read_phy(inputs["phy"])
        ids = sorting.get_unit_ids()
        trains = [sorting.get_unit_spike_train(unit, return_times=False) / RATE for unit in ids]
        _pynwb_write(np.concatenate(trains), np.cumsum([len(t) for t in trains]), target)
    elif case == "h5py limit phy->nwb":
        import h5py

        folder = Path(inputs["phy"])
        samples, clusters = np.load(folder / "spike_times.npy"), np.load(folder / "spike_clusters.npy")
        order = np.argsort(clusters, kind="stable")
        with h5py.File(target, "w") as file:
            file["spike_times"] = samples[order] / RATE
            file["spike_times_index"] = np.cumsum(np.bincount(clusters))
    else:
        raise ValueError(case)


CASES = {
    "nwb->h5": ["hub nwb->h5", "hub nwb->h5 (no checksums)", "spikelab nwb->h5", "h5py limit nwb->h5"],
    "h5->nwb": [
        "hub h5->nwb",
        "hub h5->nwb (no checksums)",
        "pynwb bulk h5->nwb",
        "spikelab h5->nwb (not valid NWB)",
        "h5py limit h5->nwb",
    ],
    "phy->nwb": ["hub phy->nwb", "spikeinterface+pynwb phy->nwb", "h5py limit phy->nwb"],
}
SUFFIX = {"nwb->h5": ".h5", "h5->nwb": ".nwb", "phy->nwb": ".nwb"}


def _once(case: str, inputs: dict[str, str], target: Path, trace: bool) -> dict:
    _remove(target)
    out = subprocess.run(
        [
            sys.executable,
            str(HERE),
            "--case",
            case,
            json.dumps(inputs),
            str(target),
            "trace" if trace else "time",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure(case: str, inputs: dict[str, str], target: Path, repeats: int = 3) -> dict:
    """Best of `repeats` processes (cold: the process's first conversion; warm: its second), then one
    run under tracemalloc for the peak of traced memory."""
    runs = [_once(case, inputs, target, trace=False) for _ in range(repeats)]
    return {
        "seconds": min(run["warm"] for run in runs),
        "cold_seconds": min(run["cold"] for run in runs),
        "peak_mb": _once(case, inputs, target, trace=True)["peak_mb"],
    }


def run() -> list[dict]:
    arrays_mb = (N_SPIKES * 8 + N_UNITS * 8) / 2**20
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-spikes-") as tmp:
        folder = Path(tmp)
        inputs = {name: str(path) for name, path in make_inputs(folder).items()}
        for group, cases in CASES.items():
            results = {case: _measure(case, inputs, folder / f"out{SUFFIX[group]}") for case in cases}
            limit = next(value for name, value in results.items() if name.startswith("h5py limit"))
            for case, result in results.items():
                row = {
                    "name": f"{case}, {N_UNITS} units / {N_SPIKES // 1_000_000} M spikes",
                    "value": result["seconds"],
                    "unit": "s",
                    "ratio_to_h5py_limit": result["seconds"] / limit["seconds"],
                    "first_conversion_in_process_s": result["cold_seconds"],
                    "peak_traced_memory_mb": result["peak_mb"],
                    "spike_arrays_mb": arrays_mb,
                }
                if case.startswith("hub"):
                    row["target"] = "within 1.5x of the h5py limit; peak memory < 2x the spike arrays"
                    row["meets_target"] = (
                        row["ratio_to_h5py_limit"] <= 1.5 and result["peak_mb"] < 2 * arrays_mb
                    )
                if case == "hub h5->nwb":
                    pynwb = results["pynwb bulk h5->nwb"]["seconds"]
                    row["speedup_over_pynwb_bulk"] = pynwb / result["seconds"]
                    row["meets_target"] = row["meets_target"] and pynwb / result["seconds"] >= 2
                    row["target"] += "; NWB writing at least 2x faster than pynwb bulk"
                rows.append(row)
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--case":
        run_case(sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5] == "trace")
    else:
        for row in run():
            print(row)
