"""A mixed shared dataset as a lab keeps one, written by the tools that write such files (pynwb, nibabel,
spectralbrain, meshio, the hub's own writers), with known problems planted, and the problems expected.

`build(root, subjects)` writes it and returns the expected (relative path, code) pairs; every subject
gets the same valid files, and some subjects carry one planted problem each.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

DOCUMENTS = Path(__file__).resolve().parent.parent / "data"
SPACE = "MNI152NLin6Asym"
TOY_REGIONS = ["LeftA", "LeftB", "RightA", "RightB"]


def nwb(path: Path, units: bool = True, seed: int = 0) -> None:
    from pynwb import NWBHDF5IO, NWBFile

    rng = np.random.default_rng(seed)
    file = NWBFile(
        session_description="mixed dataset",
        identifier=path.stem,
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
    )
    if units:
        for _ in range(3):
            file.add_unit(spike_times=np.sort(rng.uniform(0, 10, 20)))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(file)


def mask(path: Path, shape: tuple[int, int, int] = (8, 8, 8), empty: bool = False) -> None:
    import nibabel as nib

    data = np.zeros(shape, np.uint8)
    if not empty:
        data[2:4, 2:4, 2:4] = 1
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0])), str(path))


def scalar_map(path: Path, shape: tuple[int, ...] = (8, 8, 8)) -> None:
    import nibabel as nib

    data = np.random.default_rng(1).random(shape).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0])), str(path))


def parcellation(path: Path, extra_label: int | None = None) -> None:
    """A dseg image of the toy atlas's four labels (and one label its table lacks, when asked)."""
    import nibabel as nib

    data = np.zeros((8, 8, 8), np.int16)
    for label in range(1, len(TOY_REGIONS) + 1):
        data[label, :4, :4] = label
    if extra_label is not None:
        data[6, 6, 6] = extra_label
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0])), str(path))


def connectome(path: Path, labels: list[str]) -> None:
    import spectralbrain

    matrix = np.arange(len(labels) ** 2, dtype=float).reshape(len(labels), -1)
    spectralbrain.save_connectome(path, (matrix + matrix.T) / 2, labels=labels)


def mesh(path: Path, bad_face: bool = False) -> None:
    import meshio

    points = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    faces = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3 if not bad_face else 9]])
    meshio.write(str(path), meshio.Mesh(points, [("triangle", faces)]))


def tractogram(path: Path) -> None:
    import nibabel as nib
    from nibabel.streamlines import Tractogram

    lines = [np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2]], dtype=np.float32)] * 3
    nib.streamlines.save(Tractogram(lines, affine_to_rasmm=np.eye(4)), str(path))


def spikes_h5(path: Path) -> None:
    from neurodatahub.core import conversion

    conversion.write(conversion.read(str(DOCUMENTS / "valid" / "SpikeData.yaml")), str(path), style="ragged")


def bids_raw(root: Path) -> list[tuple[str, str]]:
    """A raw BIDS dataset: two subjects, sidecars (one BOLD run lacks RepetitionTime, one DWI run its
    .bvec), a misnamed file; BIDS tables and texts that are no hub data."""
    expected = []
    root.mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "toy", "BIDSVersion": "1.11.0"}))
    (root / "participants.tsv").write_text("participant_id\tage\nsub-01\t30\nsub-02\t40\n")
    (root / "README").write_text("A toy dataset.\n")
    (root / "task-rest_bold.json").write_text(json.dumps({"TaskName": "rest", "RepetitionTime": 2.0}))
    for subject in ("01", "02"):
        anat, func, dwi = (root / f"sub-{subject}" / folder for folder in ("anat", "func", "dwi"))
        for folder in (anat, func, dwi):
            folder.mkdir(parents=True)
        scalar_map(anat / f"sub-{subject}_T1w.nii.gz")
        (anat / f"sub-{subject}_T1w.json").write_text(json.dumps({"MagneticFieldStrength": 3}))
        scalar_map(func / f"sub-{subject}_task-rest_bold.nii.gz", (8, 8, 8, 4))
        (func / f"sub-{subject}_task-rest_events.tsv").write_text("onset\tduration\n1\t2\n")
        scalar_map(dwi / f"sub-{subject}_dwi.nii.gz", (8, 8, 8, 3))
        (dwi / f"sub-{subject}_dwi.bval").write_text("0 1000 1000\n")
        (dwi / f"sub-{subject}_dwi.json").write_text("{}")
        if subject == "01":
            (dwi / f"sub-{subject}_dwi.bvec").write_text("0 1 0\n0 0 1\n0 0 0\n")
        else:
            expected.append((f"sub-{subject}/dwi/sub-{subject}_dwi.nii.gz", "NDH304"))
    # an inherited value overridden badly: sub-02's own sidecar drops nothing, but a task without TaskName
    (root / "sub-02" / "func" / "sub-02_task-motor_bold.json").write_text(json.dumps({"RepetitionTime": 1}))
    scalar_map(root / "sub-02" / "func" / "sub-02_task-motor_bold.nii.gz", (8, 8, 8, 4))
    expected.append(("sub-02/func/sub-02_task-motor_bold.nii.gz", "NDH304"))
    scalar_map(root / "sub-02" / "anat" / "sub-03_T2w.nii.gz")
    expected.append(("sub-02/anat/sub-03_T2w.nii.gz", "NDH305"))
    (root / "sub-01" / "func" / "sub-01_task-rest_physio.json").write_text("{not json")
    expected.append(("sub-01/func/sub-01_task-rest_physio.json", "NDH301"))
    for path in sorted(root.rglob("*.nii.gz")):
        expected += image_problem(
            path.relative_to(root), 4 if path.name.endswith(("bold.nii.gz", "dwi.nii.gz")) else 3
        )
    return expected


def images_read_as_masks() -> bool:
    """Before the image kinds (scalar maps, series, plain volumes), every NIfTI is read as a lesion mask:
    a 3D map is then "not binary" (NDH102), a 4D series "not 3D" (NDH103)."""
    from neurodatahub.core import kinds

    return "scalar-map" not in kinds.kind_names()


def image_problem(path: Path, dimensions: int = 3) -> list[tuple[str, str]]:
    if not images_read_as_masks():
        return []
    return [(str(path), "NDH102" if dimensions == 3 else "NDH103")]


def build(root: Path, subjects: int = 12) -> list[tuple[str, str]]:
    """Write the dataset; the (path relative to root, code) of every problem expected, once each."""
    from neurodatahub.core import conversion

    expected: list[tuple[str, str]] = []
    root.mkdir(parents=True, exist_ok=True)
    (root / "atlas-Toy_dseg.tsv").write_text(
        "index\tname\n" + "".join(f"{i}\t{name}\n" for i, name in enumerate(TOY_REGIONS, 1))
    )
    (root / "README.md").write_text("# a lab's shared folder\n")
    (root / "notes.txt").write_text("scan log\n")
    (root / ".gitattributes").write_text("*.nwb filter=lfs\n")
    (root / "participants.tsv").write_text("participant_id\tage\nsub-01\t30\n")
    expected += [("README.md", "NDH001"), ("notes.txt", "NDH001"), ("participants.tsv", "NDH001")]
    for number in range(1, subjects + 1):
        subject = f"sub-{number:02d}"
        base = root / subject
        for folder in ("ephys", "anat", "conn", "surf", "tract", "docs"):
            (base / folder).mkdir(parents=True)
        nwb(base / "ephys" / f"{subject}_units.nwb", seed=number)
        spikes_h5(base / "ephys" / f"{subject}_spikes.h5")
        mask(base / "anat" / f"{subject}_space-{SPACE}_label-lesion_mask.nii.gz")
        scalar_map(base / "anat" / f"{subject}_space-{SPACE}_FA.nii.gz")
        connectome(base / "conn" / f"{subject}_atlas-Toy_conn.tsv", TOY_REGIONS)
        mesh(base / "surf" / f"{subject}_hemi-L_pial.ply")
        tractogram(base / "tract" / f"{subject}_tracks.tck")
        shutil.copy(DOCUMENTS / "valid" / "SpikeData.yaml", base / "docs" / "spikes.yaml")
        expected += image_problem(Path(f"{subject}/anat/{subject}_space-{SPACE}_FA.nii.gz"))
        dseg = Path(f"{subject}/anat/{subject}_space-{SPACE}_atlas-Toy_dseg.nii.gz")
        parcellation(root / dseg, extra_label=7 if number == 6 else None)
        expected += image_problem(dseg) or ([(str(dseg), "NDH203")] if number == 6 else [])
    expected += _plant(root, conversion)
    expected += [(f"bids/{path}", code) for path, code in bids_raw(root / "bids")]
    return expected


def _plant(root: Path, conversion) -> list[tuple[str, str]]:
    """One problem per subject, in the subjects' own files."""
    expected = []
    mask(root / "sub-01" / "anat" / f"sub-01_space-{SPACE}_label-lesion_mask.nii.gz", empty=True)
    expected.append((f"sub-01/anat/sub-01_space-{SPACE}_label-lesion_mask.nii.gz", "NDH102"))
    mask(root / "sub-02" / "anat" / f"sub-02_space-{SPACE}_label-old_mask.nii.gz", shape=(8, 8, 9))
    expected.append((f"sub-02/anat/sub-02_space-{SPACE}_label-old_mask.nii.gz", "NDH201"))
    _corrupt_index(root / "sub-03" / "ephys" / "sub-03_units.nwb")
    expected.append(("sub-03/ephys/sub-03_units.nwb", "NDH103"))
    (root / "sub-04" / "conn" / "sub-04_atlas-Toy_conn.tsv").write_text("1\t2\t3\t4\t5\n" * 3)
    expected.append(("sub-04/conn/sub-04_atlas-Toy_conn.tsv", "NDH103"))
    connectome(root / "sub-05" / "conn" / "sub-05_atlas-Toy_conn.tsv", ["LeftA", "LeftB", "RightA", "Other"])
    expected.append(("sub-05/conn/sub-05_atlas-Toy_conn.tsv", "NDH204"))
    nwb(root / "sub-06" / "ephys" / "sub-06_behaviour.nwb", units=False)
    expected.append(("sub-06/ephys/sub-06_behaviour.nwb", "NDH001"))
    whole = root / "sub-07" / "ephys" / "sub-07_units.nwb"
    whole.write_bytes(whole.read_bytes()[:3000])
    expected.append(("sub-07/ephys/sub-07_units.nwb", "NDH002"))
    np.savetxt(root / "sub-08" / "conn" / "tck2connectome.csv", np.ones((3, 3)), delimiter=",")
    expected += [("sub-08/conn/tck2connectome.csv", "NDH104"), ("sub-08/conn/tck2connectome.csv", "NDH205")]
    mesh(root / "sub-09" / "surf" / "sub-09_hemi-L_pial.ply", bad_face=True)
    expected.append(("sub-09/surf/sub-09_hemi-L_pial.ply", "NDH102"))
    shutil.copy(DOCUMENTS / "invalid" / "SpikeData.yaml", root / "sub-10" / "docs" / "spikes.yaml")
    expected.append(("sub-10/docs/spikes.yaml", "NDH101"))
    shutil.copy(
        DOCUMENTS / "invalid-invariants" / "SpikeData-unsorted.yaml",
        root / "sub-11" / "docs" / "unsorted.yaml",
    )
    expected.append(("sub-11/docs/unsorted.yaml", "NDH102"))
    conversion.write(
        conversion.read(str(DOCUMENTS / "valid" / "SpikeData.yaml")),
        str(root / "sub-12" / "ephys" / "sorting"),
        format="phy",
        sampling_rate=30000.0,
    )
    return expected


def _corrupt_index(path: Path) -> None:
    import h5py

    with h5py.File(path, "r+") as file:
        index = file["units/spike_times_index"]
        index[...] = index[()][::-1]


def found(report, root: Path) -> Counter:
    """The (relative path, code) of every problem a report gives, counted."""
    prefix = str(root).rstrip("/") + "/"
    return Counter((problem.file.removeprefix(prefix), problem.code) for problem in report.problems())
