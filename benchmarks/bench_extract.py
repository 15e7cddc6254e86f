"""Per-region statistics on a 1 mm MNI grid (197 x 233 x 189): the hub against qsiparc 0.1.2 in one run.

Inputs: an FA-like float32 map (with NaN holes and zeros) and two synthetic parcellations of a brain-sized
ellipsoid (about 1.9 M voxels) into 400 and 1000 regions (nearest of random seeds), as .nii.gz files
with a lookup table, read from disk by both tools. Cases: qsiparc's extract_scalar_map (its extended
statistics; it ignores stat_tier) and the hub's in both tiers. The extended tables must be identical
(every column, NaN where NaN), which the benchmark asserts before reporting. Times are the best of a
few runs after a warm-up (imports done); peak memory is tracemalloc's peak in a separate run.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

SHAPE = (197, 233, 189)
REGIONS = (400, 1000)
TARGET_SPEEDUP = 20.0


def _affine() -> np.ndarray:
    affine = np.eye(4)
    affine[:3, 3] = [-98, -134, -72]
    return affine


def make_inputs(folder: Path) -> dict[str, Path]:
    import nibabel as nib
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(0)
    grid = np.indices(SHAPE).reshape(3, -1).T
    centre, radii = np.array(SHAPE) / 2, np.array([68.0, 86.0, 70.0])
    brain = (((grid - centre) / radii) ** 2).sum(axis=1) <= 1
    inside = grid[brain]
    paths = {}
    for count in REGIONS:
        seeds = inside[rng.choice(len(inside), count, replace=False)]
        labels = np.zeros(int(np.prod(SHAPE)), dtype=np.int16)
        labels[brain] = cKDTree(seeds).query(inside)[1] + 1
        nib.save(nib.Nifti1Image(labels.reshape(SHAPE), _affine()), folder / f"atlas{count}_dseg.nii.gz")
        names = "".join(f"{i}\t{'lh' if i % 2 else 'rh'}_parcel{i}\n" for i in range(1, count + 1))
        (folder / f"atlas{count}_dseg.tsv").write_text("index\tname\n" + names)
        paths[f"dseg{count}"] = folder / f"atlas{count}_dseg.nii.gz"
        paths[f"lut{count}"] = folder / f"atlas{count}_dseg.tsv"
    fa = rng.beta(2.0, 5.0, int(np.prod(SHAPE))).astype(np.float32)
    fa[~brain] = 0.0
    fa[rng.random(fa.size) < 0.01] = np.nan
    nib.save(nib.Nifti1Image(fa.reshape(SHAPE), _affine()), folder / "sub-01_param-FA_dwimap.nii.gz")
    paths["scalar"] = folder / "sub-01_param-FA_dwimap.nii.gz"
    return paths


def _qsiparc(paths: dict[str, Path], count: int) -> Any:
    from qsiparc.atlas import load_lut_from_tsv
    from qsiparc.extract import extract_scalar_map

    lut = load_lut_from_tsv(paths[f"lut{count}"], atlas_name=f"atlas{count}")
    return extract_scalar_map(str(paths["scalar"]), str(paths[f"dseg{count}"]), lut, "FA").stats_df


def _hub(paths: dict[str, Path], count: int, tier: str) -> Any:
    from neurodatahub.regions import extract_scalar_map, result_frame

    result = extract_scalar_map(
        str(paths["scalar"]), str(paths[f"dseg{count}"]), str(paths[f"lut{count}"]), "FA", tier
    )
    return result_frame(result)


def _timed(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    function()  # warm-up: imports, page cache
    best, value = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - started)
    return best, value


def _peak_mb(function: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _identical(got: Any, expected: Any) -> float:
    """Assert the same columns and numbers; returns the largest relative difference (0.0 when bitwise)."""
    assert list(got.columns) == list(expected.columns), "column names or order differ"
    worst = 0.0
    for column in expected.columns:
        want, have = expected[column].to_numpy(), got[column].to_numpy()
        if want.dtype.kind not in "iuf":
            assert have.astype(str).tolist() == want.astype(str).tolist(), column
            continue
        want, have = want.astype(float), have.astype(float)
        assert np.array_equal(np.isnan(want), np.isnan(have)), f"NaN pattern differs in {column}"
        finite = ~np.isnan(want)
        scale = np.maximum(np.abs(want[finite]), np.finfo(float).tiny)
        difference = float((np.abs(have[finite] - want[finite]) / scale).max(initial=0.0))
        assert difference <= 1e-9, f"{column} differs by {difference:.3g} (relative)"
        worst = max(worst, difference)
    return worst


def run() -> list[dict]:
    warnings.simplefilter("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_inputs(Path(tmp))
        for count in REGIONS:
            peer_seconds, peer_table = _timed(lambda count=count: _qsiparc(paths, count), repeats=1)
            peer_peak = _peak_mb(lambda count=count: _qsiparc(paths, count))
            rows.append(
                {
                    "name": f"qsiparc 0.1.2 extract_scalar_map, {count} regions",
                    "value": peer_seconds,
                    "unit": "s",
                    "peak_mb": peer_peak,
                }
            )
            for tier in ("extended", "basic"):
                seconds, table = _timed(lambda count=count, tier=tier: _hub(paths, count, tier), repeats=3)
                peak = _peak_mb(lambda count=count, tier=tier: _hub(paths, count, tier))
                row = {
                    "name": f"hub extract_scalar_map ({tier}), {count} regions",
                    "value": seconds,
                    "unit": "s",
                    "peak_mb": peak,
                    "compared_with": f"qsiparc 0.1.2, {count} regions",
                    "speedup": peer_seconds / seconds,
                    "target": f">= {TARGET_SPEEDUP:g}x faster than qsiparc, identical numbers",
                }
                if tier == "extended":
                    row["max_relative_difference"] = _identical(table, peer_table)
                else:  # the basic tier shares qsiparc's mean and median definitions
                    shared = ["mean", "median"]
                    _identical(table[shared], peer_table[shared])
                row["meets_target"] = row["speedup"] >= TARGET_SPEEDUP
                rows.append(row)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
