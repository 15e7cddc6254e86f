"""BIDS derivatives: the official validator finds no error, files reload equal, overwrite is refused."""

# ruff: noqa: F811 - the make_subject fixture is imported, then named as a test argument

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from subject_helpers import REGIONS, make_subject, official_errors  # noqa: F401

from neurodatahub.compat import lacuna
from neurodatahub.core.errors import OutputError
from neurodatahub.models import AnalysisResult, SurfaceMesh
from neurodatahub.subjects.bids.derivatives import export_bids_derivatives
from neurodatahub.subjects.bids.entities import build_name, split_name
from neurodatahub.subjects.bids.validation import validate_bids_derivatives
from neurodatahub.subjects.loading import load_bids_dataset

ANAT = "sub-01/ses-01/anat"
MASK = f"{ANAT}/sub-01_ses-01_space-MNI152NLin6Asym_res-2_label-acuteinfarct_mask.nii.gz"
MAP = f"{ANAT}/sub-01_ses-01_space-MNI152NLin6Asym_atlas-Schaefer100_res-2_desc-FunctionalNetworkMappingGSP1000Correlation_map.nii.gz"  # noqa: E501
PARCELS = (
    f"{ANAT}/sub-01_ses-01_space-MNI152NLin6Asym_atlas-Schaefer100_desc-RegionalDamageDamage_parcelstats.tsv"
)
MATRIX = f"{ANAT}/sub-01_ses-01_space-MNI152NLin6Asym_atlas-Schaefer100_desc-StructuralNetworkMappingDTOR985_connectivity.tsv"  # noqa: E501


def test_entities_keep_bids_order_and_whole_values() -> None:
    name = build_name(
        {"desc": "x", "label": "L", "space": "S", "sub": "01", "atlas": "A", "res": "2"}, "mask", ".nii"
    )
    assert name == "sub-01_space-S_atlas-A_res-2_label-L_desc-x_mask.nii"
    assert split_name("sub-01_desc-my-thing_seg-Desikan_Killiany_dseg.tsv") == (
        {"sub": "01", "desc": "my-thing", "seg": "Desikan"},
        "dseg",
        ".tsv",
    )
    with pytest.raises(ValueError, match="letters and digits"):
        build_name({"sub": "0_1"}, "mask", ".nii")


def test_export_passes_the_official_validator_and_reloads_equal(tmp_path: Path, make_subject: Any) -> None:
    subject = make_subject()
    root = tmp_path / "derivatives" / "lacuna"
    root.parent.mkdir()
    report = export_bids_derivatives([subject, make_subject("02", None, seed=1)], str(root))
    assert official_errors(root) == []
    assert validate_bids_derivatives(str(root)) == {"errors": [], "warnings": []}
    assert report.subject_dirs == [str(root / ANAT), str(root / "sub-02" / "anat")]
    assert MASK in report.files and MAP in report.files
    description = json.loads((root / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative"
    assert description["GeneratedBy"][0]["Name"] == "neurodatahub"
    assert "*_parcelstats.tsv" in (root / ".bidsignore").read_text().splitlines()

    mask = nib.load(root / MASK)
    assert np.array_equal(np.asarray(mask.dataobj), subject.mask.data)
    assert np.allclose(mask.affine, subject.mask.affine)
    assert json.loads((root / MASK.replace(".nii.gz", ".json")).read_text())["Type"] == "Lesion"
    voxel_map = nib.load(root / MAP)
    assert np.array_equal(np.asarray(voxel_map.dataobj), subject.results[1].voxel_map.data)
    sidecar = json.loads((root / MAP.replace(".nii.gz", ".json")).read_text())
    assert sidecar["Key"] == "atlas-Schaefer100_source-GSP1000_desc-correlation"
    assert (sidecar["Space"], sidecar["Resolution"]) == ("MNI152NLin6Asym", 2.0)

    parcels = pd.read_csv(root / PARCELS, sep="\t", na_values="n/a")
    assert parcels["region"].tolist() == REGIONS
    assert np.array_equal(parcels["value"].to_numpy(), subject.results[0].parcel_data.values, equal_nan=True)
    parcel_sidecar = json.loads((root / PARCELS.replace(".tsv", ".json")).read_text())
    assert (parcel_sidecar["Parcellation"], parcel_sidecar["AggregationMethod"]) == ("Schaefer100", "percent")
    matrix = pd.read_csv(root / MATRIX, sep="\t", index_col="region")
    assert list(matrix.index) == list(matrix.columns) == REGIONS
    assert np.array_equal(matrix.to_numpy(), subject.results[2].connectivity.matrix)
    matrix_sidecar = json.loads((root / MATRIX.replace(".tsv", ".json")).read_text())
    assert (matrix_sidecar["MatrixType"], matrix_sidecar["Shape"]) == ("streamline_count", [3, 3])
    stats = json.loads((root / ANAT / "sub-01_ses-01_stats.json").read_text())
    assert stats["LesionSummary"]["volume"]["value"] == 96.0
    assert stats["LesionSummary"]["hemisphere"] == "left"
    provenance = json.loads((root / ANAT / "sub-01_ses-01_desc-provenance.json").read_text())
    assert [record.get("function", record.get("type")) for record in provenance] == [
        "neurodatahub.subjects.from_nifti",
        "spatial_transformation",
        "neurodatahub.bids.export_bids_derivatives",
    ]
    reloaded = load_bids_dataset(str(root))
    assert sorted(reloaded) == [
        "sub-01_ses-01_space-MNI152NLin6Asym_res-2_label-acuteinfarct",
        "sub-02_space-MNI152NLin6Asym_res-2_label-acuteinfarct",
    ]


def test_existing_files_are_refused_unless_overwrite_and_subjects_add_up(
    tmp_path: Path, make_subject: Any
) -> None:
    root = tmp_path / "deriv"
    lacuna_dir = lacuna.export_bids_derivatives(make_subject(), root, export_voxelmaps=False)
    assert lacuna_dir == root / ANAT
    before = {path: path.stat().st_mtime_ns for path in root.rglob("*")}
    with pytest.raises(OutputError, match=r"sub-01_ses-01_desc-provenance.json exists \(and 7 more\)"):
        export_bids_derivatives(make_subject(seed=3), str(root))
    assert {path: path.stat().st_mtime_ns for path in root.rglob("*")} == before  # nothing written
    export_bids_derivatives(make_subject("02", None, seed=2), str(root), export_lesion_mask=False)
    assert (root / "sub-02" / "anat").is_dir()
    export_bids_derivatives(make_subject(seed=3), str(root), overwrite=True)
    assert (root / MAP).exists()
    assert official_errors(root) == []
    assert sorted(path.name for path in root.iterdir()) == [
        ".bidsignore",
        "README.md",
        "dataset_description.json",
        "sub-01",
        "sub-02",
    ]


def test_only_the_parts_asked_for_and_surfaces_are_reported_skipped(
    tmp_path: Path, make_subject: Any
) -> None:
    subject = make_subject(session=None)
    mesh = SurfaceMesh(vertices=np.zeros((3, 3)), faces=np.array([[0, 1, 2]]))
    subject.results = [*subject.results, AnalysisResult(namespace="Surface", key="pial", surface_mesh=mesh)]
    report = export_bids_derivatives(
        subject,
        str(tmp_path / "d"),
        export_lesion_mask=False,
        export_voxelmaps=False,
        export_connectivity=False,
        export_provenance=False,
    )
    assert [path.rsplit("_", 1)[-1] for path in report.files if path.startswith("sub-")] == [
        "parcelstats.json",
        "parcelstats.tsv",
        "stats.json",
    ]
    assert report.skipped == ["sub-01 Surface/pial (SurfaceMesh): BIDS 1.11 has no derivative form for it"]
