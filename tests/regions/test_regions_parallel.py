"""`hub extract` over a QSIRecon tree on a real Dask cluster: the same files, byte for byte, as one job."""

from __future__ import annotations

import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from cli_helpers import hub
from region_helpers import scalar_on


def _tree(root: Path) -> Path:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 6, (8, 9, 7)).astype(np.int16)
    for subject in ("01", "02"):
        dwi = root / f"sub-{subject}" / "ses-1" / "dwi"
        dwi.mkdir(parents=True)
        for atlas, values in (("AAL116", labels), ("Schaefer100", labels % 3)):
            nib.save(
                nib.Nifti1Image(values, np.eye(4)),
                dwi / f"sub-{subject}_ses-1_space-ACPC_seg-{atlas}_dseg.nii.gz",
            )
        for param in ("fa", "md"):
            folder = root / "derivatives" / "qsirecon-DSIStudio" / f"sub-{subject}" / "ses-1" / "dwi"
            folder.mkdir(parents=True, exist_ok=True)
            scalar = scalar_on(labels, seed=len(param) + int(subject)).astype(np.float32)
            nib.save(
                nib.Nifti1Image(scalar, np.eye(4)),
                folder / f"sub-{subject}_ses-1_space-ACPC_model-tensor_param-{param}_dwimap.nii.gz",
            )
    return root


TIMESTAMP = re.compile(rb'"timestamp": "[^"]+"')


def _files(folder: Path) -> dict[str, object]:
    """Each file's bytes; for provenance carriers (JSON sidecars, Parquet metadata) the bytes without the
    time each extraction ran, the one thing two runs cannot share."""
    found: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        content: object = path.read_bytes()
        if path.suffix == ".json":
            content = TIMESTAMP.sub(b"", content)
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            metadata = {
                key: TIMESTAMP.sub(b"", value) for key, value in (table.schema.metadata or {}).items()
            }
            content = (table.replace_schema_metadata(None).to_pydict(), metadata)
        found[path.relative_to(folder).as_posix()] = content
    return found


@pytest.mark.parametrize("folder_format", ["diffmap", "parquet"])
def test_a_tree_extracted_on_a_cluster_is_the_sequential_bytes(
    dask_cluster, tmp_path: Path, capsys: pytest.CaptureFixture, folder_format: str
) -> None:
    tree = _tree(tmp_path / "qsirecon")
    code, out, err = hub(
        capsys, "extract", str(tree), "-o", str(tmp_path / "seq"), "--format", folder_format, "-j", "1"
    )
    assert code == 0, err
    cluster = ["--scheduler", dask_cluster.address]
    code, out2, err = hub(
        capsys, "extract", str(tree), "-o", str(tmp_path / "par"), "--format", folder_format, *cluster
    )
    assert code == 0, err
    sequential = _files(tmp_path / "seq")
    assert len([name for name in sequential if not name.endswith(".json")]) == 8  # 2 subjects x 2 atlases x 2
    assert _files(tmp_path / "par") == sequential
    assert out2 == out.replace(str(tmp_path / "seq"), str(tmp_path / "par"))
