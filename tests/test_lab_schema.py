"""A lab schema that imports the hub's: its classes validate from the CLI with the hub's invariants and the
lab's rules, convert with their extra fields declared lost, and load from the cache without LinkML."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

LAB_SCHEMA = {
    "id": "https://example.org/lab",
    "name": "lab",
    "description": "A lab's spike trains, with the rig and probe depth every recording names.",
    "license": "CC0-1.0",
    "prefixes": {"linkml": "https://w3id.org/linkml/", "lab": "https://example.org/lab/"},
    "default_prefix": "lab",
    "default_range": "string",
    "imports": ["linkml:types", "neurodatahub"],
    "classes": {
        "LabSpikeData": {
            "is_a": "SpikeData",
            "description": "Spike trains recorded on one of the lab's rigs.",
            "attributes": {
                "rig": {"required": True, "range": "Rig", "description": "Rig of the recording."},
                "probe_depth_um": {"range": "float", "minimum_value": 0, "description": "Probe depth."},
            },
        }
    },
    "enums": {"Rig": {"description": "The lab's rigs.", "permissible_values": {"rig-a": {}, "rig-b": {}}}},
}
RECORDING = {
    "rig": "rig-b",
    "probe_depth_um": 850.0,
    "unit_ids": [0, 3, 7],
    "spike_times": [0.012, 0.5, 1.25, 0.33, 2.5, 2.75],
    "spike_times_index": [3, 3, 6],
    "time_unit": "s",
    "start_time": 0.0,
    "length": 3.0,
}
# a process in which LinkML cannot be imported, as in an install without the `schema` extra
WITHOUT_LINKML = "import sys; sys.modules['linkml'] = None; from neurodatahub.cli.main import run; run()"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab")
    (folder / "lab.yaml").write_text(yaml.safe_dump(LAB_SCHEMA, sort_keys=False), encoding="utf-8")
    for name, changes in {
        "session.yaml": {},
        "wrong-rig.yaml": {"rig": "rig-z"},
        "unsorted.yaml": {"spike_times": [0.012, 0.5, 1.25, 0.33, 2.75, 2.5]},
        "shallow.yaml": {"probe_depth_um": -5.0},
    }.items():
        (folder / name).write_text(yaml.safe_dump({**RECORDING, **changes}), encoding="utf-8")
    return folder


def _hub(
    folder: Path, *args: str, code: str | None = None, data: Path | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEURODATAHUB_DATA_DIR": str(data or folder / "data")}
    command = (
        [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "neurodatahub.cli", *args]
    )
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)


def test_a_lab_document_validates_against_the_lab_schema(lab: Path) -> None:
    done = _hub(lab, "validate", "--schema", "lab.yaml", "--class", "LabSpikeData", "session.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "session.yaml (yaml, LabSpikeData)" in done.stdout
    inferred = _hub(lab, "validate", "--schema", "lab.yaml", "session.yaml")
    assert inferred.returncode == 0 and "LabSpikeData" in inferred.stdout
    without = _hub(lab, "validate", "session.yaml")  # without the lab's schema its keys fit no class
    assert without.returncode == 2


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("wrong-rig.yaml", "'rig-z' is not one of ['rig-a', 'rig-b']"),  # the lab's enum
        ("shallow.yaml", "probe_depth_um: -5.0 is less than the minimum of 0"),  # the lab's bound
        ("unsorted.yaml", "spike times of unit 7 are not sorted"),  # the hub's invariant, inherited
    ],
)
def test_the_lab_rules_and_the_hub_invariants_both_apply(lab: Path, name: str, message: str) -> None:
    done = _hub(lab, "validate", "--schema", "lab.yaml", name)
    assert done.returncode == 1, done.stdout + done.stderr
    assert message in done.stdout


def test_lab_fields_are_losses_outside_documents(lab: Path) -> None:
    strict = _hub(lab, "convert", "session.yaml", "strict.nwb", "-R", "lab_schema=lab.yaml", "--strict")
    assert strict.returncode == 3 and "rig: LabSpikeData extends SpikeData" in strict.stderr
    assert not (lab / "strict.nwb").exists()
    done = _hub(lab, "convert", "session.yaml", "session.nwb", "-R", "lab_schema=lab.yaml")
    assert done.returncode == 0, done.stderr
    assert "lost: rig:" in done.stderr and "lost: probe_depth_um:" in done.stderr
    kept = _hub(lab, "convert", "session.yaml", "session.json", "-R", "lab_schema=lab.yaml", "--strict")
    assert kept.returncode == 0, kept.stderr
    again = _hub(lab, "validate", "--schema", "lab.yaml", "session.json", "session.nwb")
    assert again.returncode == 0, again.stdout  # the NWB file holds the hub's SpikeData, validated as usual
    assert "session.json (json, LabSpikeData)" in again.stdout
    assert "session.nwb (nwb, SpikeData)" in again.stdout


def test_a_cached_lab_schema_loads_without_linkml(lab: Path, tmp_path: Path) -> None:
    first = _hub(lab, "validate", "--schema", "lab.yaml", "session.yaml", data=tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(list((tmp_path / "schemas").glob("*/models.py"))) == 1
    cached = _hub(lab, "validate", "--schema", "lab.yaml", "session.yaml", code=WITHOUT_LINKML, data=tmp_path)
    assert cached.returncode == 0, cached.stdout + cached.stderr


def test_without_linkml_an_uncached_lab_schema_is_a_usage_error(lab: Path, tmp_path: Path) -> None:
    done = _hub(lab, "validate", "--schema", "lab.yaml", "session.yaml", code=WITHOUT_LINKML, data=tmp_path)
    assert done.returncode == 2
    assert "pip install 'neurodatahub[schema]'" in done.stdout + done.stderr
    assert not list(tmp_path.glob("schemas/*/models.py"))


def test_a_changed_lab_schema_is_generated_again(lab: Path, tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    changed = {**LAB_SCHEMA, "enums": {"Rig": {"permissible_values": {"rig-z": {}}}}}
    (folder / "lab.yaml").write_text(yaml.safe_dump(changed), encoding="utf-8")
    (folder / "wrong-rig.yaml").write_text((lab / "wrong-rig.yaml").read_text(), encoding="utf-8")
    done = _hub(folder, "validate", "--schema", "lab.yaml", "wrong-rig.yaml", data=lab / "data")
    assert done.returncode == 0, done.stdout + done.stderr  # rig-z is a rig of this schema


def test_the_hub_schema_may_be_imported_by_its_id(lab: Path, tmp_path: Path) -> None:
    by_id = {**LAB_SCHEMA, "imports": ["linkml:types", "https://w3id.org/neurodatahub/schema"]}
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(by_id), encoding="utf-8")
    (tmp_path / "session.yaml").write_text((lab / "session.yaml").read_text(), encoding="utf-8")
    done = _hub(tmp_path, "validate", "--schema", "lab.yaml", "session.yaml", data=lab / "data")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("validate", "--schema", "missing.yaml", "session.yaml"), "missing.yaml: no such schema file"),
        (("validate", "--schema", "session.yaml", "session.yaml"), "not a LinkML schema"),
        (("validate", "--schema", "lab.yaml", "--class", "Nope", "session.yaml"), "unknown class 'Nope'"),
    ],
)
def test_bad_lab_schemas_are_one_line_and_exit_2(lab: Path, args: tuple[str, ...], message: str) -> None:
    done = _hub(lab, *args)
    assert done.returncode == 2 and message in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_from_python_the_lab_class_is_a_spike_data(lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import neurodatahub as ndh
    from neurodatahub.models import SpikeData

    monkeypatch.setenv("NEURODATAHUB_DATA_DIR", str(lab / "data"))
    recording = ndh.read(str(lab / "session.yaml"), lab_schema=str(lab / "lab.yaml"))
    assert type(recording).__name__ == "LabSpikeData" and isinstance(recording, SpikeData)
    assert recording.rig == "rig-b" and recording.probe_depth_um == 850.0
    assert recording.spike_times.dtype.kind == "f"  # the hub's array types, not lists
