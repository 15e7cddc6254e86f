"""Structural connectome from 1 M streamlines and a 576-parcel label volume: the hub against dipy, same run.

Input: bench_tractograms' synthetic 1 M-streamline TRK (20-40 points each, 1 mm MNI152NLin6Asym grid)
and a label volume on that grid (blocks of about 23 x 24 x 23 voxels inside an ellipsoid, 0 outside),
both cached in the temporary folder. Cases, each in its own process (time and peak RSS its own):
- hub: `tractograms.connectome.connectome` (streamed TRK, counts and mean lengths);
- hub CLI: `hub connectome T.trk P.nii.gz -o conn.tsv --lengths length.tsv`, the whole process
  (start-up, reading, writing and the written files' checks included);
- dipy: what a dipy user runs: `nib.streamlines.load` (dipy's load_tractogram wraps it and is slower),
  `connectivity_matrix(..., return_mapping=True)`, `length`, the mean per pair from the mapping: the
  same two matrices;
- dipy, counts only: load and `connectivity_matrix` without the mapping (dipy's fastest path).
Libraries are imported before the clock starts; the input is in the page cache for every case. Every
case's count matrix must equal the hub's. The hub's figure is the best of 3 runs, dipy's of one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from bench_tractograms import CACHE, _status_mb, _warm, input_file  # noqa: E402

SHAPE = (182, 218, 182)
AFFINE = np.array([[-1.0, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]])
BLOCKS = (8, 9, 8)  # 576 parcels


def parcellation() -> Path:
    import nibabel as nib

    path = CACHE / "synthetic-v1-parcels-576.nii.gz"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        i, j, k = np.indices(SHAPE)
        ids = (
            (i * BLOCKS[0] // SHAPE[0]) * BLOCKS[1] * BLOCKS[2]
            + (j * BLOCKS[1] // SHAPE[1]) * BLOCKS[2]
            + k * BLOCKS[2] // SHAPE[2]
            + 1
        )
        centre = (np.array(SHAPE) - 1) / 2
        inside = sum(((axis - c) / (c * 0.95)) ** 2 for axis, c in zip((i, j, k), centre, strict=True)) <= 1
        nib.save(nib.Nifti1Image(np.where(inside, ids, 0).astype(np.int16), AFFINE), path)
    return path


def run_case(case: str, trk: str, labels: str, out: str) -> None:
    import nibabel as nib

    if case == "hub":
        import neurodatahub.models  # noqa: F401
        from neurodatahub.core.registry import all_formats
        from neurodatahub.tractograms.connectome import connectome

        all_formats()
    else:
        from dipy.tracking.streamline import length
        from dipy.tracking.utils import connectivity_matrix
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    if case == "hub":
        counts_model, _ = connectome(trk, labels)
        ids = [int(label) for label in counts_model.region_labels]
        counts = np.asarray(counts_model.matrix)
    else:
        image = nib.load(labels)
        volume = np.asarray(image.dataobj)
        streamlines = nib.streamlines.load(trk).streamlines
        if case == "dipy":
            matrix, mapping = connectivity_matrix(streamlines, image.affine, volume, return_mapping=True)
            lengths = np.asarray(length(streamlines))
            means = np.zeros(matrix.shape)
            for (a, b), members in mapping.items():
                means[a, b] = means[b, a] = lengths[members].mean()
        else:
            matrix = connectivity_matrix(streamlines, image.affine, volume)
        ids = sorted(set(np.unique(volume).tolist()) - {0})
        counts = matrix[np.ix_(ids, ids)]
    seconds = time.perf_counter() - started
    np.save(out, counts)
    print(
        json.dumps({"seconds": seconds, "peak_rss_mb": _status_mb("VmHWM"), "rss_after_imports_mb": before})
    )


def _once(case: str, trk: Path, labels: Path, folder: Path) -> tuple[dict, np.ndarray]:
    _warm(trk)
    out = folder / f"{case}.npy"
    if case == "hub CLI":
        started = time.perf_counter()
        hub = Path(sys.executable).with_name("hub")
        subprocess.run(
            [str(hub), "connectome", str(trk), str(labels), "-o", str(folder / "conn.tsv"), "--lengths",
             str(folder / "length.tsv"), "--overwrite"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        from neurodatahub.core import conversion

        return {"seconds": seconds}, np.asarray(conversion.read(str(folder / "conn.tsv")).matrix)
    done = subprocess.run(
        [sys.executable, str(HERE), "--case", case, str(trk), str(labels), str(out)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1]), np.load(out)


PLAN = [("hub", 3), ("hub CLI", 1), ("dipy", 1), ("dipy, counts only", 1)]


def run() -> list[dict]:
    trk, labels = input_file("1M"), parcellation()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-connectome-", dir=CACHE) as tmp:
        reference = None
        for case, repeats in PLAN:
            runs = [_once(case, trk, labels, Path(tmp)) for _ in range(repeats)]
            for _, counts in runs:
                if reference is None:
                    reference = counts
                elif not np.array_equal(counts, reference):
                    raise RuntimeError(f"{case}: the count matrix differs from the hub's")
            results[case] = {
                key: min(result[key] for result, _ in runs)
                if key != "peak_rss_mb"
                else max(result[key] for result, _ in runs)
                for key in runs[0][0]
            }
    rows = []
    for case, result in results.items():
        row = {
            "name": f"connectome (counts and mean lengths), {case}, 1 M streamlines, 576 parcels",
            "value": result["seconds"],
            "unit": "s",
            **{key: value for key, value in result.items() if key != "seconds"},
        }
        if case == "dipy, counts only":
            row["name"] = "connectome (counts only), dipy, 1 M streamlines, 576 parcels"
        if case.startswith("hub"):
            row["compared_with"] = "dipy 1.11 connectivity_matrix after nibabel load, same run"
            row["speedup_over_dipy"] = results["dipy"]["seconds"] / result["seconds"]
            row["speedup_over_dipy_counts_only"] = results["dipy, counts only"]["seconds"] / result["seconds"]
        if case == "hub":
            row["target"] = ">= 5x faster than dipy (counts and lengths), identical counts"
            row["meets_target"] = row["speedup_over_dipy"] >= 5
        rows.append(row)
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--case":
        run_case(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        for row in run():
            print(row)
