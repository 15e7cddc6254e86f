"""`hub` end to end: every command, its JSON output, and one clear line with a documented exit code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DOCUMENTS

from neurodatahub.cli import main
from neurodatahub.core.errors import ExitCode

SPIKES = DOCUMENTS / "valid" / "SpikeData.yaml"
CONNECTIVITY = DOCUMENTS / "valid" / "ConnectivityMatrix.json"


def hub(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    assert "Traceback" not in err
    return lines[0]


def test_version_and_help(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = hub(capsys, "--version")
    assert code == 0 and "neurodatahub" in out and "0.1.0" in out
    code, out, _ = hub(capsys, "--help")
    assert code == 0 and all(
        command in out for command in ("formats", "schema", "info", "validate", "convert")
    )


def test_console_script_runs() -> None:
    exe = shutil.which("hub", path=str(Path(sys.executable).parent)) or shutil.which("hub")
    result = subprocess.run([exe, "validate", str(SPIKES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([exe, "info", "/no/such/file.nwb"], capture_output=True, text=True)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.strip().startswith("hub: error:") and "Traceback" not in result.stderr


def test_python_dash_m_runs_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "neurodatahub", "validate", str(SPIKES)], capture_output=True
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "neurodatahub", "info", "/no/such/file.nwb"], capture_output=True
    )
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.decode().startswith("hub: error:") and b"Traceback" not in result.stderr


def test_formats_table_and_json_come_from_the_registry(capsys: pytest.CaptureFixture) -> None:
    from neurodatahub.core.registry import all_formats

    code, out, _ = hub(capsys, "formats", "--json")
    rows = json.loads(out)
    assert code == 0 and [row["name"] for row in rows] == [spec.name for spec in all_formats()]
    assert {"name", "kind", "extensions", "read", "write", "cannot_store"} <= set(rows[0])
    code, out, _ = hub(capsys, "formats")
    assert code == 0 and all(spec.name in out for spec in all_formats())


def test_schema_of_one_class_is_standalone(capsys: pytest.CaptureFixture) -> None:
    import jsonschema

    code, out, _ = hub(capsys, "schema", "SpikeData")
    schema = json.loads(out)
    assert code == 0 and schema["$ref"] == "#/$defs/SpikeData" and "NamedArray" in schema["$defs"]
    jsonschema.validators.validator_for(schema)(schema).validate(yaml.safe_load(SPIKES.read_text()))
    code, out, _ = hub(capsys, "schema", "--list")
    assert "SubjectData" in out.split()
    code, _, err = hub(capsys, "schema", "Spikes")
    assert code == ExitCode.USAGE and "unknown class 'Spikes'" in one_line_error(err)


def test_info_summarises_a_document(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = hub(capsys, "info", str(SPIKES), "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["kind"] == "document" and summary["format"] == "yaml" and summary["class"] == "SpikeData"
    assert summary["units"] == 3 and summary["spikes"] == 6 and summary["empty_units"] == 1
    assert summary["mean_rate_hz"] == pytest.approx(6 / 3 / 3.0)
    code, out, _ = hub(capsys, "info", str(CONNECTIVITY))
    assert code == 0 and "ConnectivityMatrix" in out


def test_validate_exit_codes(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    code, out, _ = hub(capsys, "validate", *map(str, sorted((DOCUMENTS / "valid").glob("S*"))))
    assert code == ExitCode.OK and out.count("ok ") >= 4
    code, out, _ = hub(
        capsys, "validate", str(SPIKES), str(DOCUMENTS / "invalid" / "SpikeData.yaml"), "--json"
    )
    report = json.loads(out)
    assert code == ExitCode.INVALID
    assert [entry["valid"] for entry in report] == [True, False]
    assert report[1]["problems"][0]["location"] == "time_unit"
    truncated = tmp_path / "truncated.json"
    truncated.write_text(SPIKES.read_text()[:50].replace(":", '":', 1).join(['{"', ""]))
    code, out, _ = hub(
        capsys, "validate", str(SPIKES), str(DOCUMENTS / "invalid" / "SpikeData.yaml"), str(truncated)
    )
    assert code == ExitCode.USAGE and "invalid JSON" in out


def test_validate_invariant_breaks_are_invalid_not_errors(capsys: pytest.CaptureFixture) -> None:
    path = DOCUMENTS / "invalid-invariants" / "SpikeData-unsorted.yaml"
    code, out, _ = hub(capsys, "validate", str(path))
    assert code == ExitCode.INVALID and "not sorted" in out


def test_validate_with_class_option(capsys: pytest.CaptureFixture) -> None:
    path = DOCUMENTS / "valid" / "SpikeData.yaml"
    code, out, _ = hub(capsys, "validate", str(path), "--class", "ConnectivityMatrix")
    assert code == ExitCode.INVALID and "matrix" in out


def test_convert_documents_with_report_and_provenance(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    target, report = tmp_path / "spikes.json", tmp_path / "report.json"
    code, _, err = hub(capsys, "convert", str(SPIKES), str(target), "--report", str(report))
    assert code == 0, err
    converted = json.loads(target.read_text())
    original = yaml.safe_load(SPIKES.read_text())
    assert converted["spike_times"] == original["spike_times"]
    assert converted["provenance"][-1]["function"] == "neurodatahub.conversion"
    assert converted["provenance"][-1]["inputs"][0]["checksum_algorithm"] == "xxh3_128"
    written = json.loads(report.read_text())
    assert written["source"]["format"] == "yaml" and written["target"]["format"] == "json"
    assert written["counts"]["spikes"] == 6 and written["losses"] == []


def test_convert_refuses_to_overwrite_and_keeps_the_file(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("precious: true\n")
    code, _, err = hub(capsys, "convert", str(SPIKES), str(target))
    assert code == ExitCode.OUTPUT and "--overwrite" in one_line_error(err)
    assert target.read_text() == "precious: true\n"
    code, _, _ = hub(capsys, "convert", str(SPIKES), str(target), "--overwrite")
    assert code == 0 and "spike_times" in target.read_text()


def test_convert_invalid_input_writes_nothing(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    code, _, err = hub(
        capsys, "convert", str(DOCUMENTS / "invalid-invariants" / "SpikeData-unsorted.yaml"), str(target)
    )
    assert code == ExitCode.INVALID and "not sorted" in one_line_error(err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["info", "/no/such/file.h5"], ExitCode.USAGE, "no such file"),
        (["info", str(SPIKES), "--from", "matlab"], ExitCode.USAGE, "unknown format 'matlab'"),
        (["convert", str(SPIKES), "out.unknownext"], ExitCode.USAGE, "no writable format"),
        (["convert", str(SPIKES), "x.json", "--to", "nonsense"], ExitCode.USAGE, "unknown format"),
        (["validate", str(SPIKES), "--class", "Nope"], ExitCode.USAGE, "unknown class"),
        (["convert", str(SPIKES), "x.json", "-S", "novalue"], ExitCode.USAGE, "KEY=VALUE"),
        (["info"], ExitCode.USAGE, "Missing argument"),
        (["frobnicate"], ExitCode.USAGE, "No such command"),
    ],
)
def test_bad_input_gives_one_line_and_the_documented_code(
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    code: int,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # restored before tmp_path is removed (it is, for passing tests)
    got, out, err = hub(capsys, *args)
    assert got == code
    assert message in (err + out)
    assert "Traceback" not in err


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture) -> None:
    code, _, err = hub(capsys, "--debug", "info", "/no/such/file.h5")
    assert code == ExitCode.USAGE and "Traceback" in err


def test_convert_to_and_from_s3(
    capsys: pytest.CaptureFixture, s3_bucket: str, aws_env: str, tmp_path: Path
) -> None:
    remote = f"{s3_bucket}/docs/spikes.json"
    code, _, err = hub(capsys, "convert", str(SPIKES), remote, "--endpoint-url", aws_env)
    assert code == 0, err
    code, out, _ = hub(capsys, "info", remote, "--json")
    assert code == 0 and json.loads(out)["spikes"] == 6
    back = tmp_path / "back.yaml"
    code, _, err = hub(capsys, "convert", remote, str(back))
    assert code == 0, err
    assert yaml.safe_load(back.read_text())["unit_ids"] == [0, 3, 7]


def test_option_values_yaml_cannot_read_stay_text() -> None:
    from neurodatahub.core.terminal import pairs

    assert pairs(["float_format=%.6f", "n=3", "flag=true", "name=x"], "-O") == {
        "float_format": "%.6f",
        "n": 3,
        "flag": True,
        "name": "x",
    }


def test_top_level_api_names_the_functions_the_readme_shows() -> None:
    import neurodatahub as ndh
    from neurodatahub.core import conversion

    assert ndh.convert is conversion.convert and ndh.read is conversion.read and ndh.write is conversion.write
    assert ndh.models.__name__ == "neurodatahub.models"
