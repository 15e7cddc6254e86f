"""What a user waits for: `hub` as whole processes (start-up included), against scripts doing the same job.

- `import neurodatahub.models` and `hub formats`, against the floor of importing numpy and pydantic (and,
  without a target, `from neurodatahub.models import SpikeData`: the classes are built on first use);
- `hub convert big.nwb out.h5 --style ragged` (2,000 units, 10 M spikes) against a plain Python + h5py
  script that reads the same two arrays and writes them in the ragged layout, and against spikelab
  0.1.2's load_spikedata_from_nwb + export_spikedata_to_hdf5 run as a script;
- `hub extract` (1 mm grid, 400 regions, extended tier) against qsiparc 0.1.2's extraction as a script.

Every command is a fresh process; the cases of a comparison alternate run by run, and the median is
reported. Bytecode is compiled first, as a user's installation has it after its first run.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPEATS = 7
SLOW_REPEATS = 2  # for qsiparc, whose extraction takes about half a minute

H5PY_SCRIPT = """
import sys
import h5py
with h5py.File(sys.argv[1], "r") as file:
    times, index = file["units/spike_times"][()], file["units/spike_times_index"][()]
with h5py.File(sys.argv[2], "w") as file:
    file["spike_times"], file["spike_times_index"] = times, index.astype("int64")
"""
SPIKELAB_SCRIPT = """
import sys
from spikelab.data_loaders.data_loaders import load_spikedata_from_nwb
from spikelab.data_loaders.data_exporters import export_spikedata_to_hdf5
spikes = load_spikedata_from_nwb(sys.argv[1], prefer_pynwb=False)
export_spikedata_to_hdf5(spikes, sys.argv[2], style="ragged")
"""
QSIPARC_SCRIPT = """
import sys
from qsiparc.atlas import load_lut_from_tsv
from qsiparc.extract import extract_scalar_map
lut = load_lut_from_tsv(sys.argv[3], atlas_name="atlas400")
extract_scalar_map(sys.argv[1], sys.argv[2], lut, "FA").stats_df.to_csv(sys.argv[4], sep="\\t", index=False)
"""


def _hub() -> str:
    return shutil.which("hub", path=str(Path(sys.executable).parent)) or "hub"


def _run(command: list[str], output: Path | None = None) -> float:
    if output is not None:
        output.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def _alternating(cases: dict[str, tuple[list[str], Path | None]], repeats: int) -> dict[str, float]:
    """Median wall time of each case, the cases run in turn so that drift hits them alike."""
    for command, output in cases.values():  # warm-up: page cache, bytecode
        _run(command, output)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, (command, output) in cases.items():
            times[name].append(_run(command, output))
    return {name: statistics.median(values) for name, values in times.items()}


def _startup_rows() -> list[dict]:
    py = sys.executable
    seconds = _alternating(
        {
            "python -c 'import numpy, pydantic' (floor)": ([py, "-c", "import numpy, pydantic.main"], None),
            "import neurodatahub.models": ([py, "-c", "import neurodatahub.models"], None),
            # no target: what the first use of a class adds (its schema modules' classes, numpy, pydantic)
            "from neurodatahub.models import SpikeData": (
                [py, "-c", "from neurodatahub.models import SpikeData"],
                None,
            ),
            "hub formats": ([_hub(), "formats"], None),
        },
        REPEATS * 2,
    )
    floor = seconds["python -c 'import numpy, pydantic' (floor)"]
    targets = {"import neurodatahub.models": 0.15, "hub formats": 0.3}
    rows = []
    for name, value in seconds.items():
        row = {"name": f"{name} (whole process)", "value": value, "unit": "s"}
        if name in targets:
            row.update(
                compared_with="python -c 'import numpy, pydantic' in the same run",
                floor_s=floor,
                over_floor_s=value - floor,
                target=f"<= {targets[name]} s",
                meets_target=value <= targets[name],
            )
        rows.append(row)
    return rows


def _convert_rows(folder: Path) -> list[dict]:
    sys.path.insert(0, str(HERE))
    from bench_spikes import make_inputs

    nwb = make_inputs(folder)["nwb"]
    scripts = {name: folder / f"convert_with_{name}.py" for name in ("h5py", "spikelab")}
    scripts["h5py"].write_text(H5PY_SCRIPT)
    scripts["spikelab"].write_text(SPIKELAB_SCRIPT)
    outputs = {name: folder / f"{name}.h5" for name in ("hub", "h5py", "spikelab")}
    libraries = "import typer, pydantic.main, numpy, h5py"
    seconds = _alternating(
        {
            "libraries": ([sys.executable, "-c", libraries], None),
            "hub": ([_hub(), "convert", str(nwb), str(outputs["hub"]), "--style", "ragged"], outputs["hub"]),
            "h5py": ([sys.executable, str(scripts["h5py"]), str(nwb), str(outputs["h5py"])], outputs["h5py"]),
            "spikelab": (
                [sys.executable, str(scripts["spikelab"]), str(nwb), str(outputs["spikelab"])],
                outputs["spikelab"],
            ),
        },
        REPEATS,
    )
    ratio, speedup = seconds["hub"] / seconds["h5py"], seconds["spikelab"] / seconds["hub"]
    what = "2,000 units / 10 M spikes, NWB -> HDF5 ragged (whole process)"
    return [
        {
            "name": f"python -c '{libraries}' (what the hub's process needs before any work)",
            "value": seconds["libraries"],
            "unit": "s",
        },
        {"name": f"plain h5py script, {what}", "value": seconds["h5py"], "unit": "s"},
        {"name": f"spikelab 0.1.2 load + export script, {what}", "value": seconds["spikelab"], "unit": "s"},
        {
            "name": f"hub convert --style ragged, {what}",
            "value": seconds["hub"],
            "unit": "s",
            "compared_with": "the h5py and spikelab scripts in the same run, alternating",
            "ratio_to_h5py_script": ratio,
            "speedup_over_spikelab": speedup,
            "over_libraries_floor_s": seconds["hub"] - seconds["libraries"],
            "target": "<= 1.5x the h5py script and >= 2x faster than spikelab",
            "meets_target": ratio <= 1.5 and speedup >= 2,
        },
    ]


def _extract_rows(folder: Path) -> list[dict]:
    sys.path.insert(0, str(HERE))
    from bench_extract import make_inputs

    paths = make_inputs(folder)
    script = folder / "qsiparc_extract.py"
    script.write_text(QSIPARC_SCRIPT)
    outputs = {name: folder / f"{name}_fa.tsv" for name in ("hub", "qsiparc")}
    inputs = [str(paths["scalar"]), str(paths["dseg400"])]
    seconds = _alternating(
        {
            "hub": (
                [_hub(), "extract", *inputs, "--lut", str(paths["lut400"]), "--scalar-name", "FA",
                 "-o", str(outputs["hub"])],
                outputs["hub"],
            ),
            "qsiparc": (
                [sys.executable, str(script), *inputs, str(paths["lut400"]), str(outputs["qsiparc"])],
                outputs["qsiparc"],
            ),
        },
        SLOW_REPEATS,
    )  # fmt: skip
    speedup = seconds["qsiparc"] / seconds["hub"]
    what = "1 mm grid, 400 regions, extended tier (whole process)"
    return [
        {"name": f"qsiparc 0.1.2 extraction script, {what}", "value": seconds["qsiparc"], "unit": "s"},
        {
            "name": f"hub extract, {what}",
            "value": seconds["hub"],
            "unit": "s",
            "compared_with": "qsiparc 0.1.2 as a script in the same run, alternating",
            "speedup_over_qsiparc": speedup,
            "target": ">= 25x faster than qsiparc",
            "meets_target": speedup >= 25,
        },
    ]


def run() -> list[dict]:
    rows = _startup_rows()
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        rows += _convert_rows(Path(tmp))
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        rows += _extract_rows(Path(tmp))
    return rows


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
