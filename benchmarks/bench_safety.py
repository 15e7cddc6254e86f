"""How fast and how cheaply hostile files are refused: `hub validate` as whole processes on the issue's
files (a few kB declaring gigabytes), beside `hub validate` of an ordinary file of the same format in the
same run (the floor: start-up and a normal read).

Each case is its own process; the figure is its wall time (best of 3) and its peak memory (VmHWM, read
by a wrapper in the process after `main()` returns). Target: every hostile file refused (exit 2) in under
a second of wall time beyond the ordinary file's, with no more memory than the ordinary file takes + 50 MB.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
REPEATS = 3


def _files(folder: Path) -> dict[str, tuple[Path, Path]]:
    """(hostile, ordinary) pairs, by what the hostile one declares."""
    import h5py
    import nibabel as nib
    from nibabel.streamlines.trk import TrkFile

    pairs = {}
    ordinary_h5 = folder / "ordinary.h5"
    with h5py.File(ordinary_h5, "w") as file:
        file.create_dataset("spike_times", data=np.sort(np.random.default_rng(0).uniform(0, 10, 10_000)))
        file.create_dataset("spike_times_index", data=np.array([10_000]))
    bomb = folder / "index-bomb.h5"
    with h5py.File(bomb, "w") as file:
        file.create_dataset("spike_times", data=np.arange(10.0))
        file.create_dataset(
            "spike_times_index", shape=(400_000_000,), dtype="i8", chunks=(1 << 20,), compression="gzip"
        )
    pairs["HDF5 of 2 kB declaring 4e8 index entries (3.2 GB)"] = (bomb, ordinary_h5)
    raster = folder / "raster.h5"
    with h5py.File(raster, "w") as file:
        data = file.create_dataset("raster", data=np.full((100, 1000), 1000, np.int32), compression="gzip")
        data.attrs["bin_size_ms"] = 1.0
    pairs["raster declaring 1e8 spikes (6.4 GB to expand), --max-memory 4G"] = (raster, ordinary_h5)
    ordinary_npz = folder / "ordinary.npz"
    np.savez_compressed(ordinary_npz, spike_times=np.arange(10_000.0), spike_times_index=np.array([10_000]))
    npz = folder / "bomb.npz"
    np.savez_compressed(npz, spike_times=np.zeros(50_000_000), spike_times_index=np.array([1]))
    pairs["NPZ of 0.4 MB inflating to 400 MB"] = (npz, ordinary_npz)
    header = nib.Nifti1Header()
    header.set_data_shape((1600, 1600, 1600))
    header.set_data_dtype(np.uint8)
    header.set_sform(np.eye(4), code=1)
    nifti = folder / "sub-01_label-big_mask.nii.gz"
    nifti.write_bytes(gzip.compress(header.binaryblock + b"\0" * 4 + b"\1" * 4096))
    ordinary_nifti = folder / "sub-01_label-small_mask.nii.gz"
    image = nib.Nifti1Image(
        (np.random.default_rng(0).random((91, 109, 91)) > 0.99).astype(np.uint8), np.eye(4)
    )
    image.set_sform(np.eye(4), code=1)
    image.to_filename(ordinary_nifti)
    pairs["NIfTI header declaring 1600^3 (4.1 GB), --max-memory 4G"] = (nifti, ordinary_nifti)
    yaml_bomb = folder / "bomb.yaml"
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
    yaml_bomb.write_text("\n".join(lines) + "\n")
    ordinary_yaml = folder / "spikes.yaml"
    ordinary_yaml.write_text("spike_times: [0.1, 0.2]\nspike_times_index: [2]\ntime_unit: s\n")
    pairs[f"YAML alias bomb of {yaml_bomb.stat().st_size} bytes (3.9e8 nodes)"] = (yaml_bomb, ordinary_yaml)
    trk_header = TrkFile._default_structarr(endianness="little")
    trk_header["voxel_to_rasmm"] = np.eye(4)
    one_point = np.array([1, 0, 0, 0], "<i4").tobytes()
    trk_bomb = folder / "bomb.trk.gz"
    trk_bomb.write_bytes(gzip.compress(trk_header.tobytes() + one_point * (40 << 20), compresslevel=9))
    ordinary_trk = folder / "ordinary.trk.gz"
    points = np.random.default_rng(0).uniform(1, 9, (10_000, 3)).astype("<f4")
    records = b"".join(np.array([1], "<i4").tobytes() + point.tobytes() for point in points)
    ordinary_trk.write_bytes(gzip.compress(trk_header.tobytes() + records))
    pairs[f"gzip-bombed TRK of {trk_bomb.stat().st_size / 1e6:.1f} MB inflating to 671 MB"] = (
        trk_bomb,
        ordinary_trk,
    )
    return pairs


def measure(argv: list[str]) -> None:
    """Run `hub` in this process and print its exit code and peak memory (VmHWM) as JSON."""
    from neurodatahub.cli import main

    code = main(argv)
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"code": code, "peak_rss_mb": peak}))


def _run(argv: list[str]) -> tuple[float, dict]:
    best, result = float("inf"), {}
    for _ in range(REPEATS):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE), "--measure", *argv], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        result = json.loads(done.stdout.strip().splitlines()[-1])
        best = min(best, seconds)
    return best, result


def run() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-safety-") as tmp:
        for name, (hostile, ordinary) in _files(Path(tmp)).items():
            flags = ["--max-memory", "4G"] if "--max-memory 4G" in name else []
            refused_seconds, refused = _run([*flags, "validate", str(hostile)])
            plain_seconds, plain = _run([*flags, "validate", str(ordinary)])
            extra = refused_seconds - plain_seconds
            rows.append(
                {
                    "name": f"refused: {name}",
                    "value": refused_seconds,
                    "unit": "s",
                    "exit_code": refused["code"],
                    "peak_rss_mb": refused["peak_rss_mb"],
                    "file_kb": hostile.stat().st_size / 1e3,
                    "compared_with": f"hub validate of an ordinary {ordinary.name}: {plain_seconds:.2f} s,"
                    f" {plain['peak_rss_mb']:.0f} MB",
                    "seconds_beyond_ordinary": extra,
                    "target": "exit 2 within 1 s of the ordinary file's time, peak memory within 50 MB of it",
                    "meets_target": refused["code"] == 2
                    and extra < 1.0
                    and refused["peak_rss_mb"] < plain["peak_rss_mb"] + 50,
                }
            )
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        measure(sys.argv[2:])
    else:
        for row in run():
            print(row)
