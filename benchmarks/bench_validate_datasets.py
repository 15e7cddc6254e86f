"""`hub validate` on 1,000 mixed files (NWB, spike HDF5, NIfTI masks, maps and parcellations, connectome
TSV, meshes, tractograms): cold (empty cache) and warm (unchanged, then one file changed), as whole
processes; nwbinspector on the NWB subset in the same run, per NWB file against the hub's cold run on it.

Goals (issue 11): cold >= 10x faster than nwbinspector per NWB file; warm <= 2 s for 1,000 files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HUB = Path(sys.executable).with_name("hub")
NWBINSPECTOR = Path(sys.executable).with_name("nwbinspector")
# files of each kind (1,000 in all); each a copy of one file that a peer or the hub wrote, renamed
COUNTS = {"nwb": 200, "h5": 150, "mask": 150, "map": 100, "dseg": 50, "conn": 150, "ply": 100, "tck": 100}


def _templates(folder: Path) -> dict[str, Path]:
    """One file of each kind, written by pynwb, the hub, nibabel, spectralbrain and meshio."""
    import meshio
    import nibabel as nib
    import spectralbrain
    from nibabel.streamlines import Tractogram
    from pynwb import NWBHDF5IO, NWBFile

    from neurodatahub.core import conversion

    rng = np.random.default_rng(0)
    paths = {kind: folder / f"template.{kind}" for kind in COUNTS}
    nwb = NWBFile(session_description="bench", identifier="bench", session_start_time=datetime.now(UTC))
    for _ in range(20):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 600, 500)))
    with NWBHDF5IO(str(paths["nwb"].with_suffix(".nwb")), "w") as io:
        io.write(nwb)
    model = conversion.read(str(paths["nwb"].with_suffix(".nwb")))
    conversion.write(model, str(paths["h5"].with_suffix(".h5")), style="ragged")
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    lesion = np.zeros((91, 109, 91), np.uint8)
    lesion[40:50, 50:60, 40:50] = 1
    nib.save(nib.Nifti1Image(lesion, affine), str(folder / "template_mask.nii.gz"))
    i, j, k = np.meshgrid(*(np.linspace(0, 1, size) for size in (91, 109, 91)), indexing="ij")
    fa = np.round(i * j * (1 - k), 3).astype(np.float32)  # smooth, as FA maps are: it compresses
    nib.save(nib.Nifti1Image(fa, affine), str(folder / "t_FA.nii.gz"))
    labels = ((i * 10).astype(np.int16) * 10 + (j * 10).astype(np.int16)) * (k > 0.2)  # 100 blocks
    nib.save(nib.Nifti1Image(labels, affine), str(folder / "t_dseg.nii.gz"))
    matrix = rng.random((100, 100))
    spectralbrain.save_connectome(
        folder / "t_conn.tsv", (matrix + matrix.T) / 2, labels=[f"r{i}" for i in range(100)]
    )
    vertices, faces = _sheet()
    meshio.write(str(folder / "t.ply"), meshio.Mesh(vertices, [("triangle", faces.astype(np.int32))]))
    lines = [rng.random((50, 3)).astype(np.float32) * 100 for _ in range(2000)]
    nib.streamlines.save(Tractogram(lines, affine_to_rasmm=np.eye(4)), str(folder / "t.tck"))
    return {
        "nwb": paths["nwb"].with_suffix(".nwb"),
        "h5": paths["h5"].with_suffix(".h5"),
        "mask": folder / "template_mask.nii.gz",
        "map": folder / "t_FA.nii.gz",
        "dseg": folder / "t_dseg.nii.gz",
        "conn": folder / "t_conn.tsv",
        "ply": folder / "t.ply",
        "tck": folder / "t.tck",
    }


def _sheet(size: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """A triangulated size x size sheet: 2,500 vertices, 4,802 triangles."""
    i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    vertices = np.column_stack([i.ravel(), j.ravel(), np.sin(i.ravel() / 5.0)]).astype(float)
    corner = (i[:-1, :-1] * size + j[:-1, :-1]).ravel()
    faces = np.concatenate([
        np.column_stack([corner, corner + size, corner + 1]),
        np.column_stack([corner + 1, corner + size, corner + size + 1]),
    ])  # fmt: skip
    return vertices, faces


def build(root: Path, counts: dict[str, int] = COUNTS) -> Path:
    """1,000 files (or `counts` of each kind) in per-subject folders."""
    with tempfile.TemporaryDirectory() as scratch:
        templates = _templates(Path(scratch))
        names = {"nwb": "ephys/sub-{n}_units.nwb", "h5": "ephys/sub-{n}_spikes.h5",
                 "mask": "anat/sub-{n}_space-MNI152NLin6Asym_label-lesion_mask.nii.gz",
                 "map": "anat/sub-{n}_space-MNI152NLin6Asym_FA.nii.gz",
                 "dseg": "anat/sub-{n}_space-MNI152NLin6Asym_atlas-Toy_dseg.nii.gz",
                 "conn": "conn/sub-{n}_atlas-Toy_conn.tsv", "ply": "surf/sub-{n}_pial.ply",
                 "tck": "tract/sub-{n}_tracks.tck"}  # fmt: skip
        for kind, count in counts.items():
            for number in range(count):
                target = root / f"sub-{number:03d}" / names[kind].format(n=f"{number:03d}")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(templates[kind], target)
    return root


def _process(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    seconds, _, done = _timed(*args)
    return seconds, done


def _timed(*args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall and CPU seconds (user + system, workers included) of one `hub validate` process."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(HUB), "validate", *args], capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, done


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        root = build(Path(folder) / "dataset")
        files = sum(1 for path in root.rglob("*") if path.is_file())
        nwb_only = Path(folder) / "nwb"
        nwb_only.mkdir()
        for path in sorted(root.rglob("*.nwb")):
            shutil.copyfile(path, nwb_only / path.name)
        n_nwb = COUNTS["nwb"]
        cache = Path(folder) / "cache"
        cold, cold_cpu, done = _timed(str(root), "--cache", str(cache), "--jobs", "2")
        summary = done.stdout.splitlines()[-1]
        cold_alone, cold_alone_cpu, _ = _timed(str(root), "--no-cache", "--jobs", "1")
        runs = [_timed(str(root), "--cache", str(cache)) for _ in range(3)]  # best of three: others' load
        warm, warm_cpu, again = min(runs, key=lambda run: run[0])
        assert again.stdout.splitlines()[-1].endswith(f"({files} from cache)"), again.stdout[-300:]
        changed = next(root.rglob("*_units.nwb"))
        shutil.copyfile(next(root.rglob("*_spikes.h5")), changed)  # now it is no NWB file
        one_changed, _ = _process(str(root), "--cache", str(cache))
        # 200 files stay in one process whatever --jobs says (datasets.running.IN_PROCESS_BELOW)
        hub_nwb, checked = _process(str(nwb_only), "--no-cache", "--jobs", "1")
        assert checked.returncode == 0, checked.stdout[-500:]
        started = time.perf_counter()
        inspected = subprocess.run(
            [str(NWBINSPECTOR), str(nwb_only), "--n-jobs", "2"], capture_output=True, text=True
        )
        inspector = time.perf_counter() - started
        assert inspected.returncode in (0, 1), inspected.stderr[-500:]
        in_process = _in_process(root, Path(folder) / "cache-in-process")
    per_hub, per_inspector = hub_nwb / n_nwb, inspector / n_nwb
    return [
        {
            "name": f"hub validate, {files} mixed files, cold (whole process, 2 Dask workers)",
            "value": cold,
            "unit": "s",
            "cpu_s": cold_cpu,
            "summary": summary,
        },
        {
            "name": f"hub validate, {files} mixed files, cold (whole process, --jobs 1: this process)",
            "value": cold_alone,
            "unit": "s",
            "cpu_s": cold_alone_cpu,
            "load_average": os.getloadavg()[0],
        },
        {
            "name": f"hub validate, {files} mixed files, warm (unchanged, whole process)",
            "value": warm,
            "unit": "s",
            "cpu_s": warm_cpu,
            "load_average": os.getloadavg()[0],
            "target": "<= 2 s",
            "meets_target": warm <= 2.0,
        },
        {
            "name": f"hub validate, {files} mixed files, one file changed (whole process)",
            "value": one_changed,
            "unit": "s",
        },
        {
            "name": f"hub validate, {files} mixed files, cold in-process (1 worker)",
            "value": in_process,
            "unit": "s",
        },
        {
            "name": f"hub validate per NWB file, cold ({n_nwb} files, whole process, --jobs 1)",
            "value": per_hub,
            "unit": "s",
            "compared_with": f"nwbinspector {per_inspector:.4f} s per file (--n-jobs 2)",
            "speedup": per_inspector / per_hub,
            "target": ">= 10x faster than nwbinspector per NWB file",
            "meets_target": per_inspector / per_hub >= 10,
        },
        {
            "name": f"nwbinspector per NWB file ({n_nwb} files, --n-jobs 2)",
            "value": per_inspector,
            "unit": "s",
        },
    ]


def _in_process(root: Path, cache: Path) -> float:
    from neurodatahub.datasets.validation import validate_dataset

    started = time.perf_counter()
    validate_dataset([str(root)], cache=cache, jobs=1)
    return time.perf_counter() - started


if __name__ == "__main__":
    for row in run():
        print(row)
