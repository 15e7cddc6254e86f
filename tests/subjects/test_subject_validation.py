"""validate_bids_derivatives: lacuna's rules, the checks bids-validator skips, and `hub validate DIR`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from neurodatahub.cli import main
from neurodatahub.core.errors import InputError
from neurodatahub.subjects.bids import BidsError
from neurodatahub.subjects.bids.validation import validate_bids_derivatives

GOOD = {
    "Name": "lesions",
    "BIDSVersion": "1.11.1",
    "DatasetType": "derivative",
    "GeneratedBy": [{"Name": "neurodatahub", "Version": "0.1.0"}],
}


def dataset(root: Path, description: Any = GOOD, folders: tuple[str, ...] = ("sub-01/anat",)) -> Path:
    root.mkdir(parents=True)
    if description is not None:
        text = description if isinstance(description, str) else json.dumps(description)
        (root / "dataset_description.json").write_text(text)
    for folder in folders:
        (root / folder).mkdir(parents=True)
    return root


def check(root: Path) -> dict[str, list[str]]:
    return validate_bids_derivatives(str(root), raise_on_error=False)


def without(field: str) -> dict[str, Any]:
    return {key: value for key, value in GOOD.items() if key != field}


def test_a_good_dataset_has_no_problem(tmp_path: Path) -> None:
    root = dataset(tmp_path / "d", folders=("sub-01/ses-01/anat", "sub-02/dwi", "code", "atlas-Schaefer100"))
    assert validate_bids_derivatives(str(root)) == {"errors": [], "warnings": []}


@pytest.mark.parametrize(
    ("description", "error"),
    [
        (None, "dataset_description.json: dataset_description.json is missing"),
        ("{not json", "dataset_description.json: not valid JSON"),
        ([1, 2], "dataset_description.json: must be a JSON object"),
        (without("Name"), "dataset_description.json: required field Name is missing"),
        (without("BIDSVersion"), "dataset_description.json: required field BIDSVersion is missing"),
        (without("GeneratedBy"), "dataset_description.json: required field GeneratedBy is missing"),
        (
            {**GOOD, "GeneratedBy": "neurodatahub"},
            "dataset_description.json: GeneratedBy must be a list of objects",
        ),
        (
            {**GOOD, "GeneratedBy": ["neurodatahub"]},
            "dataset_description.json: GeneratedBy must be a list of objects",
        ),
        # beyond lacuna: what bids-validator does not check for derivatives
        ({**GOOD, "GeneratedBy": [{"Version": "1"}]}, "dataset_description.json: GeneratedBy[0] has no Name"),
        (without("DatasetType"), "dataset_description.json: DatasetType must be 'derivative', got None"),
    ],
)
def test_lacunas_errors(tmp_path: Path, description: Any, error: str) -> None:
    errors = check(dataset(tmp_path / "d", description))["errors"]
    assert any(message.startswith(error) for message in errors), errors
    with pytest.raises(BidsError, match="is not a valid BIDS derivatives dataset"):
        validate_bids_derivatives(str(tmp_path / "d"))


def test_lacunas_warnings(tmp_path: Path) -> None:
    assert check(dataset(tmp_path / "a", folders=()))["warnings"] == ["no subject folders (sub-<label>)"]
    root = dataset(
        tmp_path / "b", folders=("sub-01/ses-01/anat", "sub-01/ses-02/beh", "sub-02", "stuff", "sub-x_y")
    )
    assert check(root) == {
        "errors": [],
        "warnings": [
            "stuff: unexpected folder: not sub-<label> nor a folder BIDS allows here",
            "sub-x_y: unexpected folder: not sub-<label> nor a folder BIDS allows here",
            "sub-01/ses-02: no anat, func, dwi folder",
            "sub-02: no anat, func, dwi folder",
        ],
    }


def test_atlas_descriptions_and_dseg_tables(tmp_path: Path) -> None:
    root = dataset(tmp_path / "d", folders=("sub-01/anat", "atlas-AAL", "atlas-DK"))
    (root / "atlas-AAL" / "atlas-AAL_description.json").write_text(
        json.dumps({"Name": "AAL", "License": "CC0"})
    )
    (root / "atlas-DK" / "atlas-DK_description.json").write_text(json.dumps({"Name": "Desikan-Killiany"}))
    (root / "atlas-AAL" / "atlas-AAL_dseg.tsv").write_text("index\tname\n1\tPrecentral_L\n")
    (root / "sub-01" / "anat" / "sub-01_atlas-DK_dseg.tsv").write_text("index\tlabel\n1\tbankssts\n")
    assert check(root)["errors"] == [
        "atlas-DK/atlas-DK_description.json: atlas description needs License",
        "sub-01/anat/sub-01_atlas-DK_dseg.tsv: dseg.tsv needs the column(s) name (has index, label)",
    ]


def test_a_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        validate_bids_derivatives(str(tmp_path / "missing"))


def test_hub_validate_runs_the_checks_on_a_derivatives_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = dataset(tmp_path / "good")
    assert main(["validate", str(good)]) == 0
    assert "ok" in capsys.readouterr().out
    bad = dataset(tmp_path / "bad", without("GeneratedBy"))
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "invalid" in out and "required field GeneratedBy is missing" in out
    assert main(["validate", "--json", str(bad)]) == 1
    (outcome,) = json.loads(capsys.readouterr().out)
    assert outcome["format"] == "bids"
    assert ("dataset_description.json", "required field GeneratedBy is missing") in [
        (problem["location"], problem["message"]) for problem in outcome["problems"]
    ]
