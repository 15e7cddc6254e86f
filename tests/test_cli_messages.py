"""What a new user reads: warnings and errors in one line each, options in the CLI's words under `hub`
(and in Python's words from Python), empty answers that say so, tables that fit an 80-column terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from cli_helpers import hub, one_line
from conftest import DOCUMENTS

from neurodatahub.core import conversion, registry
from neurodatahub.core.errors import ExitCode, OutputError, UsageError

SPIKES = DOCUMENTS / "valid" / "SpikeData.yaml"
HUB = str(Path(sys.executable).parent / "hub")


def _run(*args: str, columns: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **({"COLUMNS": str(columns)} if columns else {})}
    return subprocess.run([HUB, *args], capture_output=True, text=True, env=env)


def _without_rate(tmp_path: Path) -> Path:
    document = yaml.safe_load(SPIKES.read_text())
    document.pop("sampling_rate")
    path = tmp_path / "no-rate.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


# ---- warnings ----


def test_a_warning_is_one_line_without_python_source(tmp_path: Path) -> None:
    table = tmp_path / "varying.csv"
    table.write_text("unit_id,time_s,probe\n1,0.5,a\n1,0.7,b\n2,0.6,c\n")
    result = _run("info", str(table))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"hub: warning: {table}: columns probe vary within a unit or hold unsupported types;"
        " SpikeData keeps only per-unit attributes, so they are not read"
    ]


def test_an_empty_column_is_empty_text_not_a_varying_one(tmp_path: Path) -> None:
    """pynwb files often carry `location` with "" for every unit: a text table holds it as empty cells."""
    table = tmp_path / "empty.csv"
    table.write_text("unit_id,time_s,location,group\n1,0.5,,0\n1,0.7,,0\n2,0.6,,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spikes = conversion.read(str(table))
    columns = {column.name: list(column.values) for column in spikes.unit_attributes}
    assert columns == {"location": ["", ""], "group": [0, 1]}


def test_nwb_to_csv_says_nothing_about_location(shared_data: Path, tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    result = _run("convert", str(shared_data / "nwb" / "A8604-211122.nwb"), str(target))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr and "location" not in result.stderr, result.stderr


@pytest.fixture
def noisy_format() -> registry.FormatSpec:
    """A format whose reader warns about the file it reads, as readers of partial tables do."""
    from neurodatahub.core.documents import read_json, write_json

    def read(url: str, *, storage_options: object = None) -> object:
        warnings.warn(f"{url}: a note about this file", UserWarning, stacklevel=2)
        return read_json(url, storage_options=storage_options)

    spec = registry.FormatSpec(
        name="noisy-test-format", kind="document", description="test only", extensions=(".noisy",),
        read=read, write=write_json,
    )  # fmt: skip
    registry.register_format(spec)
    yield spec
    registry._FORMATS.pop((spec.kind, spec.name))


def test_warnings_of_the_read_back_name_the_output_not_its_temporary(
    noisy_format: registry.FormatSpec, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    target = tmp_path / "out.noisy"
    code, _, err = hub(capsys, "convert", str(SPIKES), str(target))
    assert code == 0, err
    assert f"hub: warning: {target}: a note about this file" in err.splitlines()
    assert ".partial" not in err and "UserWarning" not in err


# ---- the CLI's words ----


def test_messages_name_options_as_the_cli_spells_them(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    source = _without_rate(tmp_path)
    code, _, err = hub(capsys, "convert", str(source), str(tmp_path / "out.phy"))
    assert code == ExitCode.USAGE and "pass --fs HZ" in one_line(err) and "sampling_rate" not in err
    target = tmp_path / "taken.json"
    target.write_text("{}")
    code, _, err = hub(capsys, "convert", str(SPIKES), str(target))
    assert code == ExitCode.OUTPUT and "pass --overwrite to replace it" in one_line(err)
    assert "overwrite=True" not in err


def test_python_callers_read_python_words(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"pass sampling_rate=HZ$"):
        conversion.convert(str(_without_rate(tmp_path)), str(tmp_path / "out.phy"))
    target = tmp_path / "taken.json"
    target.write_text("{}")
    with pytest.raises(OutputError, match=r"pass overwrite=True to replace it$"):
        conversion.convert(str(SPIKES), str(target))


def test_sample_times_without_a_rate_ask_for_it_in_the_callers_words(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    source = _without_rate(tmp_path)
    code, _, err = hub(capsys, "convert", str(source), str(tmp_path / "out.npz"), "--time-unit", "samples")
    assert code == ExitCode.USAGE and one_line(err).endswith("needs a sampling rate > 0: pass --fs HZ")
    with pytest.raises(UsageError, match=r"needs a sampling rate > 0: pass sampling_rate=HZ$"):
        conversion.convert(str(source), str(tmp_path / "out.npz"), write_options={"time_unit": "samples"})
    table = tmp_path / "samples.csv"
    table.write_text("unit_id,time_samples\n1,30\n2,60\n")
    code, _, err = hub(capsys, "info", str(table))
    assert code == ExitCode.USAGE and one_line(err).endswith("give its sampling rate (--fs HZ)")


def test_registering_a_taken_name_says_force(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEURODATAHUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("NEURODATAHUB_CATALOG_DIR", raising=False)
    for name in ("a.nii.gz", "b.nii.gz"):
        (tmp_path / name).write_bytes(b"\x1f\x8b")
    assert hub(capsys, "catalog", "register", "schaefer2018", str(tmp_path / "a.nii.gz"))[0] == 0
    code, _, err = hub(capsys, "catalog", "register", "schaefer2018", str(tmp_path / "b.nii.gz"))
    assert code == ExitCode.OUTPUT and one_line(err).endswith("unregister it or pass --force")


# ---- usage errors and empty answers ----


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["convert", "a.nwb", "b.h5", "--bogus"], "No such option '--bogus'"),
        (["bogus"], "No such command 'bogus' (see hub --help)"),
        (["info"], "Missing argument 'SRC' (see hub info --help)"),
        (["convert", "a.nwb", "b.h5", "--fs", "abc"], "'abc' is not a valid float"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: list[str], expected: str) -> None:
    result = _run(*args)
    assert result.returncode == ExitCode.USAGE
    line = one_line(result.stderr)
    assert line.startswith("hub: error: ") and expected in line and "╭" not in result.stderr
    if expected.startswith("No such option"):  # click may add "Did you mean ...?" before the pointer
        assert line.endswith("(see hub convert --help)")


def test_an_unknown_kind_is_an_error_not_an_empty_table(capsys: pytest.CaptureFixture) -> None:
    code, out, err = hub(capsys, "formats", "--kind", "bogus")
    assert code == ExitCode.USAGE and out == ""
    assert "unknown kind 'bogus'; kinds: catalog, connectivity" in one_line(err)


def test_no_format_reads_says_each_finding_once(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    path = tmp_path / "garbage.mgz"  # the MGH reader serves every image kind: one finding, not five
    path.write_bytes(bytes(range(256)) * 12)
    code, _, err = hub(capsys, "info", str(path))
    line = one_line(err)
    assert code == ExitCode.USAGE and line.startswith(f"hub: error: no format reads {path}: ")
    findings = line.split(": ", 2)[2].split("; ")
    assert len(findings) == len(set(findings)) and line.count("not an MGH file") == 1
    assert "lesion-mask mgh, " in line and "volume mgh" in line


# ---- tables ----


def test_formats_fits_80_columns_and_keeps_every_name_whole() -> None:
    result = _run("formats", columns=80)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert len(lines) < len(registry.all_formats()) + 20  # one line per format, long extension lists aside
    cells = {cell.strip() for line in lines for cell in line.split("│")}
    assert {spec.name for spec in registry.all_formats()} <= cells  # never cut, never wrapped
    assert "not shown at this width: cannot store (see --json)" in result.stdout
    wide = _run("formats", columns=250)
    assert "cannot store" in wide.stdout and "not shown" not in wide.stdout


def test_schema_list_keeps_classes_apart_from_enums(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = hub(capsys, "schema", "--list")
    classes, enums = out.split("enums (")
    assert code == 0 and classes.startswith("classes (")
    assert "  SpikeData (kind spikes)\n" in classes and "  ImageVolume (kind volume)\n" in classes
    assert "CoordinateSpace" in enums and "CoordinateSpace" not in classes
    assert "anyshape" not in out  # the JSON Schema's helper types are not classes of the schema
