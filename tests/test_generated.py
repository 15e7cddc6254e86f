"""generated/ is exactly what schema/ generates, the schema lints clean, and the models come from there."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_generated_code_matches_the_schema(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(REPO / "tools" / "generate.py"), "--out", str(tmp_path)], check=True)
    committed = REPO / "generated" / "neurodatahub_models"
    fresh = tmp_path / "neurodatahub_models"
    names = sorted(path.name for path in fresh.iterdir())
    assert names == sorted(path.name for path in committed.iterdir() if path.name != "__pycache__")
    _, mismatch, errors = filecmp.cmpfiles(committed, fresh, names, shallow=False)
    assert not mismatch and not errors, f"generated/ is stale for {mismatch or errors}: run `make generate`"


def test_schema_lints_clean() -> None:
    linkml = shutil.which("linkml", path=str(Path(sys.executable).parent))
    result = subprocess.run([linkml, "lint", "schema/"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_models_are_imported_from_generated() -> None:
    import neurodatahub_models

    from neurodatahub import models

    assert Path(neurodatahub_models.__file__).parent.parent.name in ("generated", "site-packages")
    assert issubclass(models.SpikeData, neurodatahub_models.SpikeData)
    assert models.SpikeData.model_fields.keys() == neurodatahub_models.SpikeData.model_fields.keys()


def _described(spec: dict, definitions: dict, seen: frozenset = frozenset()) -> bool:
    """A slot's description sits on it, on an array's innermost items, or on its any-shape helper."""
    if spec.get("description"):
        return True
    reference = spec.get("$ref", "").rsplit("/", 1)[-1]
    if reference.endswith("-anyshape") and reference not in seen:
        return _described(definitions[reference], definitions, seen | {reference})
    nested = [spec["items"]] if isinstance(spec.get("items"), dict) else spec.get("anyOf", [])
    useful = [
        option
        for option in nested
        if option.get("type") != "null" and option.get("$ref", "").rsplit("/", 1)[-1] not in seen
    ]
    return bool(useful) and any(_described(option, definitions, seen) for option in useful)


def test_every_class_and_slot_is_described() -> None:
    from neurodatahub.core.schema import json_schema

    definitions = json_schema()["$defs"]
    for name, definition in definitions.items():
        if name.endswith("-anyshape"):
            continue  # a generated helper for arrays of any rank, described through its slot
        assert definition.get("description"), f"class {name} has no description"
        for slot, spec in definition.get("properties", {}).items():
            assert _described(spec, definitions) or slot == "type", f"slot {name}.{slot} has no description"
