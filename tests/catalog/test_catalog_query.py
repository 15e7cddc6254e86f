"""Queries over the real catalog entries, in Python and from the CLI; the index is in sync."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from neurodatahub.catalog import NoMatchError, get_one, list_fetchable_connectomes, search
from neurodatahub.catalog.index import INDEX_NAME, build_index, index_text
from neurodatahub.catalog.query import parse_filters
from neurodatahub.cli import main
from neurodatahub.core.errors import UsageError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def real_catalog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NEURODATAHUB_CATALOG_PATH", raising=False)
    monkeypatch.setenv("NEURODATAHUB_DATA_DIR", str(tmp_path / "data"))


def names(found: list) -> list[str]:
    return sorted(entry.name for entry in found)


def test_the_required_entries_are_there() -> None:
    assert {"gsp1000", "dtor985", "hcp1065", "hcp1065_tracts", "schaefer2018", "tian2020"} <= set(
        names(search())
    )


def test_index_is_in_sync_with_the_entries() -> None:
    committed = (REPO / "catalog" / INDEX_NAME).read_text(encoding="utf-8")
    assert committed == index_text(build_index(REPO / "catalog")), "run python tools/build_catalog_index.py"


def test_lists_mean_any_of_and_list_fields_match_any_item() -> None:
    assert names(search(n_regions=400)) == ["schaefer2018"]
    assert names(search(n_regions=[54, 1000])) == ["schaefer2018", "tian2020"]
    assert names(search(space=["MNI152NLin2009bAsym", "fsaverage5"])) == ["dtor985"]


def test_numbers_compare_as_numbers() -> None:
    assert names(search(resolution=2)) == names(search(resolution="2.0"))
    assert "gsp1000" in names(search(resolution=2))
    assert names(search(n_subjects=">=1000")) == ["gsp1000", "hcp1065"]
    assert names(search(n_subjects="<1000")) == ["dtor985"]
    assert names(search(networks=17, kind="atlas")) == ["schaefer2018", "yeo2011"]


def test_empty_value_means_absent() -> None:
    assert names(search(networks=None, kind="atlas", name="[ht]*")) == [
        "harvard_oxford",
        "hcp1065_tracts",
        "talairach",
        "tian2020",
    ]
    assert "gsp1000" in names(search(n_regions=""))


def test_text_compares_without_case_and_hashes_are_never_invented() -> None:
    assert names(search(kind="ATLAS", license="mit")) == ["schaefer2018", "yeo2011"]
    for entry in search():
        for file in entry.files or []:
            assert file.checksum.algorithm == "unknown" or file.checksum.value


def test_get_one_names_the_candidates_when_it_cannot_choose() -> None:
    assert get_one(name="Tian2020").n_regions == [16, 32, 50, 54]
    with pytest.raises(UsageError, match=r"2 catalog entries match license=mit: schaefer2018, yeo2011"):
        get_one(license="mit")
    with pytest.raises(
        NoMatchError, match=r"no catalog entry matches name=tain2020; nearest values: name: tian2020"
    ):
        get_one(name="tain2020")


def test_unknown_field_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown catalog field"):
        search(colour="red")


def test_fetchable_connectomes_are_validated_models() -> None:
    found = list_fetchable_connectomes()
    assert names(found) == ["dtor985", "gsp1000", "hcp1065"]
    assert all(type(entry).__name__ == "ConnectomeSource" for entry in found)


def test_cli_filters_parse_like_python_ones() -> None:
    assert parse_filters(["space=A,B", "n_subjects>=900", "networks=", "tract"]) == {
        "space": ["A", "B"],
        "n_subjects": [">=900"],
        "networks": [""],
        "text": ["tract"],
    }


def test_cli_search_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "search", "n_regions=400,54", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in found] == ["schaefer2018", "tian2020"]
    assert all(entry["available"] is False for entry in found)


def test_cli_free_text_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "search", "subcortex", "--json"]) == 0
    assert [entry["name"] for entry in json.loads(capsys.readouterr().out)] == ["tian2020"]
    assert main(["catalog", "show", "hcp1065", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["files"][0]["checksum"]["algorithm"] == "sha256"


def test_cli_show_unknown_name_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "show", "nope"]) == 2
    assert "no catalog entry is called 'nope'" in capsys.readouterr().err


def test_hub_validate_catalog_passes_on_the_real_catalog() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "neurodatahub.cli", "validate", str(REPO / "catalog")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CatalogFolder" in result.stdout
