"""Lookup tables from every source in docs/kinds/regions.md, compared with qsiparc's loaders."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from neurodatahub.core.errors import InvalidDataError
from neurodatahub.regions import infer_hemisphere, load_lut
from neurodatahub.regions.lut import lut_from_labels

qsiparc_atlas = pytest.importorskip("qsiparc.atlas")


def _triples(lut) -> list[tuple[int, str, str]]:
    return [(region.index, region.name, region.hemisphere) for region in lut.regions]


def _qsiparc_triples(lut) -> list[tuple[int, str, str]]:
    return [(region.index, region.name, region.hemisphere) for region in lut.regions]


@pytest.mark.parametrize(
    "name",
    [
        "LH_Vis_1",
        "lh_insula",
        "lh-insula",
        "lh.insula",
        "Left_Amygdala",
        "left-caudate",
        "l_thal",
        "insula_lh",
        "insula-lh",
        "insula_left",
        "caudate-left",
        "Frontal_Sup_L",
        "7Networks_LH_Vis_1",
        "17networks_lh_default_2",
        "rh_insula",
        "Right-Putamen",
        "Frontal_Sup_R",
        "7Networks_RH_Vis_1",
        "Brain-Stem",
        "Vermis_1_2",
        "Left",
        "R",
    ],
)
def test_hemisphere_inference_agrees_with_qsiparc(name: str) -> None:
    assert infer_hemisphere(name) == qsiparc_atlas.infer_hemisphere(name)


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        ("index\tname", ["0\tBackground", "1\tlh_A", "2\trh_B", "10\tVermis"]),
        ("index\tlabel", ["1\tLH_Vis_1", "2\tRH_Vis_1"]),
        ("id\tregion_name\themisphere", ["1\tfoo\tL", "2\tbar\tR", "3\tbaz\tbilateral"]),
        ("region_id\tregion", ["4\tA_L", "5\tB_R"]),
        ("number\tcalled\tcolor", ["1\tlh_x\t#ff0000", "2\tother\t#00ff00"]),  # fall back to columns 0 and 1
    ],
)
def test_tsv_with_a_header_reads_like_qsiparc(tmp_path: Path, header: str, rows: list[str]) -> None:
    path = tmp_path / "atlas-Test_dseg.tsv"
    path.write_text("\n".join([header, *rows]) + "\n")
    lut = load_lut(str(path))
    assert lut.atlas_name == "Test"
    assert _triples(lut) == _qsiparc_triples(qsiparc_atlas.load_lut_from_tsv(path, "Test"))
    assert all(region.index != 0 for region in lut.regions)


def test_bids_colours_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "lut.tsv"
    path.write_text("index\tname\tcolor\n1\ta\t#ff8000\n")
    assert load_lut(str(path)).regions[0].color.tolist() == [255, 128, 0, 255]


def test_freesurfer_lut_text(tmp_path: Path) -> None:
    path = tmp_path / "FreeSurferColorLUT.txt"
    path.write_text(
        "#$Id: FreeSurferColorLUT.txt\n\n#No. Label Name: R G B A\n"
        "0   Unknown                 0   0   0   0\n"
        "2   Left-Cerebral-White-Matter  245 245 245 0\n"
        "41  Right-Cerebral-White-Matter 0 225 0 0\n"
        "16  Brain-Stem              119 159 176 0\n"
    )
    lut = load_lut(str(path), "aseg")
    assert _triples(lut) == [
        (2, "Left-Cerebral-White-Matter", "L"),
        (41, "Right-Cerebral-White-Matter", "R"),
        (16, "Brain-Stem", "bilateral"),
    ]
    assert lut.regions[0].color.tolist() == [245, 245, 245, 255]
    no_comment = tmp_path / "plain.txt"
    no_comment.write_text("1 lh_a 1 2 3 0\n2 rh_b 4 5 6 0\n")
    assert _triples(load_lut(str(no_comment), "x")) == _qsiparc_triples(
        qsiparc_atlas._parse_freesurfer_lut(no_comment, "x")
    )


@pytest.mark.parametrize(
    "document",
    [
        {"0": "Background", "1": "lh_A", "2": "Right_B", "3": "Vermis"},
        [
            {"index": 0, "name": "bg"},
            {"index": 1, "name": "lh_A"},
            {"id": 2, "label": "B_R"},
            {"index": 3, "name": "c", "hemisphere": "L"},
        ],
    ],
)
def test_json_tables_read_like_qsiparc(tmp_path: Path, document) -> None:
    path = tmp_path / "atlas-J_lut.json"
    path.write_text(json.dumps(document))
    assert _triples(load_lut(str(path))) == _qsiparc_triples(qsiparc_atlas.load_lut_from_json(path, "J"))


def test_labels_from_the_image(tmp_path: Path) -> None:
    labels = np.zeros((4, 4, 4), dtype=np.int16)
    labels[0, 0, :2], labels[1, 1, 1], labels[3, 3, 3] = 3, 12, 1
    path = tmp_path / "sub-01_seg-X_dseg.nii.gz"
    nib.save(nib.Nifti1Image(labels, np.eye(4)), path)
    lut = load_lut(None, dseg=str(path))
    assert lut.atlas_name == "X"
    assert _triples(lut) == _qsiparc_triples(qsiparc_atlas.load_lut_from_dseg(path, "X"))
    assert [region.name for region in lut.regions] == ["region_0001", "region_0003", "region_0012"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("index\tname\n1\ta\nnan\tb\n", "line 3: region index 'nan' is not an integer"),
        ("index\tname\n1\ta\n\tb\n", "line 3: region index '' is not an integer"),
        ("index\tname\n1.5\ta\n", "is not an integer"),
        ("index\tname\n1\ta\n1\tb\n", "region indices must be unique"),
        ("index\n1\n2\n", "needs an index and a name column"),
        ("index\tname\themisphere\n1\ta\tup\n", "hemisphere 'up'"),
        ("index\tname\n-3\ta\n", "negative"),
    ],
)
def test_bad_tables_stop_with_the_row_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(InvalidDataError, match=message):
        load_lut(str(path))


def test_labels_lookup_skips_background() -> None:
    lut = lut_from_labels(np.array([0, 0, 5, 2, 5]), "a")
    assert [region.index for region in lut.regions] == [2, 5]
