"""QSIRecon trees: discovery, lookup tables beside the tree, and `hub extract` over a whole tree."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from region_helpers import scalar_on

from neurodatahub.cli import main
from neurodatahub.regions import discover_dseg_files, discover_scalar_maps, load_lut_for_dseg, parse_entities

SHAPE = (12, 14, 10)


def _save(path: Path, data: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0])), path)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Two subjects, two atlases (one named with a dash, one without a table), three scalar maps."""
    rng = np.random.default_rng(0)
    root = tmp_path / "qsirecon"
    labels = rng.integers(0, 6, SHAPE).astype(np.int16)
    for subject in ("01", "02"):
        dwi = root / f"sub-{subject}" / "ses-1" / "dwi"
        _save(dwi / f"sub-{subject}_ses-1_space-ACPC_seg-AAL116_dseg.nii.gz", labels)
        _save(dwi / f"sub-{subject}_ses-1_space-ACPC_seg-Schaefer100-v2_dseg.nii.gz", labels % 3)
        _save(dwi / f"sub-{subject}_ses-1_space-ACPC_dseg.nii.gz", labels)  # no seg entity: skipped
        for software, model, param, space in [
            ("DSIStudio", "tensor", "fa", "ACPC"),
            ("NODDI", "noddi", "icvf", "ACPC"),
            ("NODDI", "noddi", "odi", "T1w"),
        ]:
            name = f"sub-{subject}_ses-1_space-{space}_model-{model}_param-{param}_dwimap.nii.gz"
            folder = root / "derivatives" / f"qsirecon-{software}" / f"sub-{subject}" / "ses-1" / "dwi"
            _save(folder / name, scalar_on(labels, seed=len(name)).astype(np.float32))
    table = root / "atlases" / "atlas-AAL116" / "atlas-AAL116_dseg.tsv"
    table.parent.mkdir(parents=True)
    table.write_text(
        "index\tlabel\n" + "".join(f"{i}\tPrecentral{i}_{'L' if i % 2 else 'R'}\n" for i in range(1, 6))
    )
    return root


def test_entity_values_are_kept_whole() -> None:
    name = "sub-01_ses-1_space-ACPC_seg-Schaefer100-v2_desc-v1.2_dseg.nii.gz"
    assert parse_entities(name) == {
        "sub": "01",
        "ses": "1",
        "space": "ACPC",
        "seg": "Schaefer100-v2",
        "desc": "v1.2",
    }
    discover = pytest.importorskip("qsiparc.discover")
    assert discover.parse_entities(name)["seg"] == "Schaefer100"  # the truncation the hub avoids


def test_discovery_finds_dsegs_with_their_tables(tree: Path) -> None:
    found = discover_dseg_files(str(tree))
    assert [(f.subject, f.atlas_name) for f in found] == [
        ("01", "AAL116"),
        ("01", "Schaefer100-v2"),
        ("02", "AAL116"),
        ("02", "Schaefer100-v2"),
    ]
    assert found[0].lut_path.endswith("atlas-AAL116_dseg.tsv") and found[1].lut_path is None
    assert len(discover_dseg_files(str(tree), participant_label="02", atlas="AAL116")) == 1
    assert len(discover_dseg_files(str(tree), session_label="ses-2")) == 0
    aal = load_lut_for_dseg(found[0])
    assert (
        aal.atlas_name == "AAL116"
        and aal.regions[0].name == "Precentral1_L"
        and aal.regions[0].hemisphere == "L"
    )
    schaefer = load_lut_for_dseg(found[1])
    assert [r.name for r in schaefer.regions] == ["region_0001", "region_0002"]


def test_scalar_maps_of_a_subject_in_acpc_space(tree: Path) -> None:
    maps = discover_scalar_maps(str(tree), "01", "1")
    assert [(m.software, m.scalar_name) for m in maps] == [("DSIStudio", "fa"), ("NODDI", "icvf")]
    assert [m.scalar_name for m in discover_scalar_maps(str(tree), "sub-01", "ses-1", ["ICVF"])] == ["icvf"]


def test_hub_extract_runs_a_whole_tree_like_qsiparc(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["extract", str(tree), "-o", str(out), "--participant-label", "01"]) == 0
    tables = sorted(path.relative_to(out).as_posix() for path in out.rglob("*_diffmap.tsv"))
    assert tables == [
        "sub-01/ses-1/dwi/atlas-AAL116/sub-01_ses-1_atlas-AAL116_software-DSIStudio_space-ACPC_model-tensor_param-fa_diffmap.tsv",
        "sub-01/ses-1/dwi/atlas-AAL116/sub-01_ses-1_atlas-AAL116_software-NODDI_space-ACPC_model-noddi_param-icvf_diffmap.tsv",
        "sub-01/ses-1/dwi/atlas-Schaefer100-v2/sub-01_ses-1_atlas-Schaefer100-v2_software-DSIStudio_space-ACPC_model-tensor_param-fa_diffmap.tsv",
        "sub-01/ses-1/dwi/atlas-Schaefer100-v2/sub-01_ses-1_atlas-Schaefer100-v2_software-NODDI_space-ACPC_model-noddi_param-icvf_diffmap.tsv",
    ]
    first = out / tables[0]
    sidecar = json.loads(first.with_suffix(".json").read_text())
    assert sidecar["atlas_name"] == "AAL116" and sidecar["scalar_name"] == "fa"
    assert sidecar["software"] == "DSIStudio" and sidecar["processing"]["stat_tier"] == "extended"
    assert sidecar["provenance"][0]["function"] == "neurodatahub.regions.extract_scalar_map"
    # the same bytes as qsiparc writes for the same extraction
    qsiparc = pytest.importorskip("qsiparc.extract")
    from qsiparc.atlas import load_lut_from_tsv
    from qsiparc.output import write_diffmap_tsv

    scalar = next(tree.glob("derivatives/qsirecon-DSIStudio/sub-01/ses-1/dwi/*fa_dwimap.nii.gz"))
    dseg = tree / "sub-01/ses-1/dwi/sub-01_ses-1_space-ACPC_seg-AAL116_dseg.nii.gz"
    lut = load_lut_from_tsv(tree / "atlases/atlas-AAL116/atlas-AAL116_dseg.tsv", "AAL116")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = qsiparc.extract_scalar_map(str(scalar), str(dseg), lut, "fa").stats_df
    reference = write_diffmap_tsv(
        frame,
        tmp_path / "peer",
        "sub-01",
        "ses-1",
        "AAL116",
        software="DSIStudio",
        source_entities=parse_entities(scalar.name),
    )
    assert first.read_bytes() == reference.read_bytes()
    # a second run refuses to overwrite, with one line and the output exit code
    assert main(["extract", str(tree), "-o", str(out), "--participant-label", "01"]) == 4
