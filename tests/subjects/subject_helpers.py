"""Test helpers: masks made with nibabel, subjects with every kind of result, the BIDS validator."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

from neurodatahub.models import (
    AnalysisResult,
    ConnectivityMatrix,
    ParcelData,
    ScalarMetric,
    SpatialTransformationRecord,
    VoxelMap,
)
from neurodatahub.subjects.loading import from_nifti

MNI6_2MM_SHAPE = (91, 109, 91)
REGIONS = ["Vis_1", "SomMot_1", "DorsAttn_1"]


def mni6_2mm() -> np.ndarray:
    affine = np.diag([-2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [90, -126, -72]
    return affine


def lesion(shape: tuple[int, ...] = MNI6_2MM_SHAPE, dtype: Any = np.uint8) -> np.ndarray:
    data = np.zeros(shape, dtype=dtype)
    x, y, z = (size // 2 for size in shape[:3])
    data[x - 2 : x + 2, y - 1 : y + 2, z : z + 2] = 1
    return data


def write_mask(
    path: Path,
    data: np.ndarray | None = None,
    affine: np.ndarray | None = None,
    sidecar: dict[str, Any] | None = None,
) -> Path:
    """A NIfTI (gzip when the name says so), with a JSON sidecar when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(
        nib.Nifti1Image(lesion() if data is None else data, mni6_2mm() if affine is None else affine), path
    )
    if sidecar is not None:
        path.with_name(path.name.split(".")[0] + ".json").write_text(json.dumps(sidecar))
    return path


def results(seed: int = 0, regions: list[str] = REGIONS) -> list[Any]:
    """One result of each kind lacuna produces, with NaN where a region has no value."""
    rng = np.random.default_rng(seed)
    values = rng.random(len(regions))
    values[1] = np.nan
    matrix = rng.random((len(regions), len(regions)))
    matrix = (matrix + matrix.T) / 2
    np.fill_diagonal(matrix, 0)
    return [
        AnalysisResult(
            namespace="RegionalDamage",
            key="atlas-Schaefer100_desc-damage",
            parcel_data=ParcelData(
                name="damage",
                atlas="Schaefer100",
                aggregation_method="percent",
                region_labels=regions,
                values=values,
            ),
        ),
        AnalysisResult(
            namespace="FunctionalNetworkMapping",
            key="atlas-Schaefer100_source-GSP1000_desc-correlation",
            voxel_map=VoxelMap(
                name="correlation_map",
                data=rng.standard_normal(MNI6_2MM_SHAPE),
                affine=mni6_2mm(),
                space="MNI152NLin6Asym",
                resolution=2.0,
            ),
        ),
        AnalysisResult(
            namespace="StructuralNetworkMapping",
            key="atlas-Schaefer100_source-dTOR985",
            connectivity=ConnectivityMatrix(
                matrix=matrix, region_labels=regions, symmetric=True, measure="streamline_count"
            ),
        ),
        AnalysisResult(
            namespace="LesionSummary",
            key="volume",
            scalar_metric=ScalarMetric(name="lesion_volume", value=float(seed + 96), unit="mm3"),
        ),
        AnalysisResult(namespace="LesionSummary", key="hemisphere", value="left"),
    ]


def transformation() -> Any:
    return SpatialTransformationRecord(
        source_space="MNI152NLin2009cAsym",
        source_resolution=1.0,
        target_space="MNI152NLin6Asym",
        target_resolution=2.0,
        method="nitransforms",
        interpolation="nearest",
        timestamp=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


@pytest.fixture
def make_subject(tmp_path: Path) -> Any:
    """make_subject("01", "01", seed) -> SubjectData loaded from a mask file, with every kind of result."""

    def make(
        subject: str = "01", session: str | None = "01", seed: int = 0, with_results: bool = True
    ) -> Any:
        name = f"sub-{subject}" + (f"_ses-{session}" if session else "") + "_label-acuteinfarct_mask.nii.gz"
        loaded = from_nifti(str(write_mask(tmp_path / "masks" / name)))
        if with_results:
            loaded.results = results(seed)
            loaded.provenance = [*loaded.provenance, transformation()]
        return loaded

    return make


def _validator() -> str | None:
    found = shutil.which("bids-validator-deno") or str(Path(sys.executable).with_name("bids-validator-deno"))
    return found if Path(found).exists() else None


def official_validation(root: Path) -> list[dict[str, Any]]:
    """Issues the official validator (bids-validator-deno, offline) reports; skip only if it cannot run."""
    executable = _validator()
    if executable is None:
        pytest.skip("bids-validator-deno is not installed (pip install bids-validator-deno)")
    done = subprocess.run(
        [executable, str(root), "--format", "json"], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode not in (0, 16):
        pytest.skip(f"bids-validator-deno could not run here (exit {done.returncode}): {done.stderr[-300:]}")
    return json.loads(done.stdout)["issues"]["issues"]


def official_errors(root: Path) -> list[str]:
    return [
        f"{issue['code']} {issue.get('location')} {issue.get('subCode') or ''}"
        for issue in official_validation(root)
        if issue["severity"] == "error"
    ]
