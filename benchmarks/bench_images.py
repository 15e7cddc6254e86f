"""A 2 GB 4D series, .nii -> .nii.gz: the hub's streamed conversion against nibabel load + save.

Input: a synthetic int16 series of 96 x 114 x 96 voxels and 1000 volumes (2.1 GB, uncompressed .nii): a
smooth volume plus noise per volume, written volume by volume with nibabel's header and numpy, cached in
the system's temporary folder between runs.
Cases, each in its own process so that its peak memory is its own (VmHWM; the RSS after imports beside):
- hub (in-process): `neurodatahub.convert(src, dst, write_options={"compression_level": 2})`: volumes
  stream in 32 MiB chunks, and the output is read back as a stream and its count and sum checked (that
  check is in the time);
- hub (CLI): `hub convert src dst -O compression_level=2`, the whole process, peak from the kernel's
  accounting of the child (RUSAGE_CHILDREN), which includes start-up;
- nibabel: `nib.save(nib.load(src), dst)`, what a script does; nibabel's gzip level for `.gz` is 1 (zlib).
The hub compresses with zlib-ng, whose level 2 writes no more bytes than zlib's level 1 on this data (its
level 1 is faster still but writes ~30% more): the levels are chosen so that the outputs are of a size,
and each row says its output's size.
The input is read once before each case (page cache). Every output is checked: the shape and the sum of
the last volume against the input's.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_tractograms import _status_mb, _warm  # peak RSS from /proc, and the page cache warmed

SHAPE = (96, 114, 96, 1000)
HERE = Path(__file__).resolve()
CACHE = Path(tempfile.gettempdir()) / "neurodatahub-bench-images"
# zlib-ng's level whose output is no larger than nibabel's (zlib level 1, its default for .gz:
# nibabel.openers.Opener.default_compresslevel)
GZIP_LEVEL = 2


def make_series(path: Path, seed: int = 0) -> None:
    import nibabel as nib

    rng = np.random.default_rng(seed)
    header = nib.Nifti1Header()
    header.set_data_dtype(np.int16)
    header.set_data_shape(SHAPE)
    affine = np.diag([-2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = (96, -132, -78)
    header.set_sform(affine, code=1)
    header.set_qform(affine, code=1)
    header.set_xyzt_units("mm", "sec")
    header["pixdim"][4] = 0.8
    header["vox_offset"] = 352
    grid = np.indices(SHAPE[:3]).astype(np.float32)
    base = 800 + 300 * np.sin(grid[0] / 9) * np.cos(grid[1] / 11) + 200 * np.cos(grid[2] / 7)
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as handle:
        handle.write(header.binaryblock + b"\x00" * 4)
        for _ in range(SHAPE[3]):
            volume = base + rng.normal(0, 20, SHAPE[:3]).astype(np.float32)
            handle.write(volume.astype(np.int16).tobytes(order="F"))
    partial.replace(path)


def input_file() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "synthetic-v1-series-{}.nii".format("x".join(map(str, SHAPE)))
    if not path.exists():
        make_series(path)
    return path


def run_case(case: str, source: str, target: str) -> None:
    import nibabel as nib

    if case == "hub":
        import neurodatahub.models  # noqa: F401
        from neurodatahub import convert
        from neurodatahub.core.registry import all_formats

        all_formats()
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    if case == "hub":
        convert(source, target, write_options={"compression_level": GZIP_LEVEL})
    elif case == "nibabel":
        nib.save(nib.load(source), target)
    else:
        raise ValueError(case)
    seconds = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak, "rss_after_imports_mb": before}))


def _check(source: Path, target: Path) -> None:
    import nibabel as nib

    written, original = nib.load(target), nib.load(source)
    if written.shape != SHAPE:
        raise RuntimeError(f"{target} has shape {written.shape}, expected {SHAPE}")
    last = (Ellipsis, SHAPE[3] - 1)
    if not np.array_equal(np.asarray(written.dataobj[last]), np.asarray(original.dataobj[last])):
        raise RuntimeError(f"{target}: the last volume differs from the input's")


def _once(case: str, source: Path, target: Path) -> dict:
    target.unlink(missing_ok=True)
    _warm(source)
    if case == "hub CLI":
        hub = Path(sys.executable).with_name("hub")
        started = time.perf_counter()
        subprocess.run(
            [str(hub), "convert", str(source), str(target), "-O", f"compression_level={GZIP_LEVEL}"],
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        result = {"seconds": seconds, "peak_rss_mb": peak, "rss_after_imports_mb": None}
    else:
        done = subprocess.run(
            [sys.executable, str(HERE), "--case", case, str(source), str(target)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
    _check(source, target)
    result["output_mb"] = target.stat().st_size / 2**20
    target.unlink()
    return result


PLAN = ("hub CLI", "hub", "nibabel")  # the CLI first: RUSAGE_CHILDREN keeps the largest child so far


def run() -> list[dict]:
    source = input_file()
    series_mb = source.stat().st_size / 2**20
    with tempfile.TemporaryDirectory(prefix="bench-images-", dir=CACHE) as tmp:
        results = {case: _once(case, source, Path(tmp) / "out.nii.gz") for case in PLAN}
    nibabel = results["nibabel"]
    rows = []
    for case, result in results.items():
        row = {
            "name": f"4D series .nii -> .nii.gz, {case}, {series_mb / 1024:.1f} GB",
            "value": result["seconds"],
            "unit": "s",
            "peak_rss_mb": result["peak_rss_mb"],
            "rss_after_imports_mb": result["rss_after_imports_mb"],
            "series_mb": series_mb,
            "output_mb": result["output_mb"],
            "compared_with": "nibabel load + save (same run)",
        }
        if case != "nibabel":
            row["speedup_over_nibabel"] = nibabel["seconds"] / result["seconds"]
            row["memory_ratio_to_nibabel"] = result["peak_rss_mb"] / nibabel["peak_rss_mb"]
            row["output_ratio_to_nibabel"] = result["output_mb"] / nibabel["output_mb"]
            row["target"] = (
                "peak memory below 1/8 of the series; time within 1.25x of nibabel's; output no larger"
            )
            row["meets_target"] = (
                result["peak_rss_mb"] < series_mb / 8
                and result["seconds"] <= 1.25 * nibabel["seconds"]
                and result["output_mb"] <= nibabel["output_mb"]
            )
        rows.append(row)
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--case":
        run_case(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        for row in run():
            print(row)
