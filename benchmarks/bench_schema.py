"""Validating against a lab schema that extends the hub's, as whole processes.

`hub validate --schema lab.yaml session.yaml` the first time (LinkML generates the lab's models and JSON
Schema into the cache) and after (the cache is read, LinkML is not imported), against LinkML's own
`linkml-validate` on the same schema and document, which builds its validator on every run. The cases
alternate run by run and the median is reported.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5
LAB = {
    "id": "https://example.org/lab",
    "name": "lab",
    "prefixes": {"linkml": "https://w3id.org/linkml/", "lab": "https://example.org/lab/"},
    "default_prefix": "lab",
    "default_range": "string",
    "imports": ["linkml:types", "neurodatahub"],
    "classes": {
        "LabSpikeData": {
            "is_a": "SpikeData",
            "attributes": {
                "rig": {"required": True},
                "probe_depth_um": {"range": "float", "minimum_value": 0},
            },
        }
    },
}


def _tool(name: str) -> str:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or name


def _timed(command: list[str], folder: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for path in (ROOT / "schema").glob(
            "*.yaml"
        ):  # linkml-validate resolves `neurodatahub` beside lab.yaml
            shutil.copy(path, folder / path.name)
        (folder / "lab.yaml").write_text(yaml.safe_dump(LAB), encoding="utf-8")
        document = yaml.safe_load((ROOT / "examples" / "spikes.yaml").read_text(encoding="utf-8"))
        document = {key: value for key, value in document.items() if key != "provenance"}
        (folder / "session.yaml").write_text(yaml.safe_dump({**document, "rig": "rig-b"}), encoding="utf-8")
        (folder / "plain.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
        hub = [_tool("hub"), "validate", "--schema", "lab.yaml", "--class", "LabSpikeData", "session.yaml"]
        peer = [_tool("linkml-validate"), "-s", "lab.yaml", "-C", "LabSpikeData", "session.yaml"]
        plain = [_tool("hub"), "validate", "--class", "SpikeData", "plain.yaml"]
        cold, warm, linkml, floor = [], [], [], []
        for repeat in range(REPEATS):
            env = {**os.environ, "NEURODATAHUB_DATA_DIR": str(folder / f"data-{repeat}")}
            cold.append(_timed(hub, folder, env))  # an empty cache: generates
            warm.append(_timed(hub, folder, env))  # the same cache: reads it
            linkml.append(_timed(peer, folder, env))
            floor.append(_timed(plain, folder, env))
    cold_s, warm_s, linkml_s, floor_s = (statistics.median(values) for values in (cold, warm, linkml, floor))
    return [
        {
            "name": "hub validate --schema lab.yaml, first run (generates the lab's models), process",
            "value": cold_s,
            "unit": "s",
            "compared_with": f"linkml-validate on the same schema and document: {linkml_s:.2f} s",
            "target": None,
            "meets_target": None,
        },
        {
            "name": "hub validate --schema lab.yaml, cached (LinkML not imported), process",
            "value": warm_s,
            "unit": "s",
            "compared_with": (
                f"linkml-validate on the same schema and document: {linkml_s:.2f} s; hub validate of the"
                f" same spikes as a plain SpikeData document: {floor_s:.2f} s"
            ),
            "target": "faster than linkml-validate, within 25% of the plain document",
            "meets_target": warm_s < linkml_s and warm_s <= 1.25 * floor_s,
        },
        {
            "name": "linkml-validate -s lab.yaml -C LabSpikeData, process",
            "value": linkml_s,
            "unit": "s",
            "compared_with": "the peer itself",
            "target": None,
            "meets_target": None,
        },
    ]
