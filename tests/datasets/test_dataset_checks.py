"""Checks across files on the facts workers send back: a parcellation's labels against the lookup table
beside it or of its atlas, a subject's images in several spaces (the mixed dataset covers grids,
connectomes against their atlas and companions)."""

from __future__ import annotations

from pathlib import Path

from neurodatahub.datasets import dataset_checks
from neurodatahub.datasets.bids import check_metadata
from neurodatahub.datasets.inputs import Item
from neurodatahub.datasets.results import FileResult

GRID = {"shape": [4, 4, 4], "affine": [[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0], [0, 0, 0, 1.0]]}


def _table(path: Path, rows: str) -> FileResult:
    path.write_text("index\tname\n" + rows)
    return check_metadata(Item(str(path), str(path.parent), path.name), None)


def test_parcellation_labels_are_checked_against_the_table_beside_it_or_of_its_atlas(tmp_path: Path) -> None:
    beside = _table(tmp_path / "sub-01_atlas-Toy_dseg.tsv", "1\tA\n2\tB\n")
    shared = _table(tmp_path / "atlas-Other_dseg.tsv", "1\tA\n2\tB\n3\tC\n")
    assert beside.problems == [] and beside.facts == {"lut": [1, 2], "region_names": ["A", "B"]}
    first = FileResult(str(tmp_path / "sub-01_atlas-Toy_dseg.nii.gz"), "x", facts={"labels": [1, 2, 3, 7]})
    second = FileResult(str(tmp_path / "sub-02_atlas-Other_dseg.nii.gz"), "y", facts={"labels": [1, 3]})
    own = FileResult(str(tmp_path / "sub-03_dseg.nii.gz"), "z", facts={"labels": [1, 5], "lut": [1, 2]})
    problems = dataset_checks.check([beside, shared, first, second, own])
    assert [(Path(problem.file).name, problem.code) for problem in problems] == [
        ("sub-01_atlas-Toy_dseg.nii.gz", "NDH203"),
        ("sub-03_dseg.nii.gz", "NDH203"),
    ]
    assert "2 label(s) not in" in problems[0].message and problems[0].message.endswith(": 3, 7")
    assert "its own table: 5" in problems[1].message


def test_a_table_that_is_no_lookup_table_is_a_bids_table_problem(tmp_path: Path) -> None:
    broken = _table(tmp_path / "atlas-Bad_dseg.tsv", "one\tA\n2\n")
    assert [problem.code for problem in broken.problems] == ["NDH303"]
    assert "line 3 has 1 cells" in broken.problems[0].message


def test_images_of_a_subject_in_several_spaces(tmp_path: Path) -> None:
    def image(name: str, space: str | None) -> FileResult:
        return FileResult(str(tmp_path / "sub-01" / name), name, facts={"grid": GRID, "space": space})

    together = [image("a_mask.nii.gz", "MNI152NLin6Asym"), image("b_mask.nii.gz", "MNI152NLin6Asym")]
    assert dataset_checks.check(together) == []
    apart = [*together, image("c_mask.nii.gz", None)]
    problems = dataset_checks.check(apart)
    assert {problem.code for problem in problems} == {"NDH202"} and len(problems) == 3
    assert "several spaces (MNI152NLin6Asym, none)" in problems[0].message
