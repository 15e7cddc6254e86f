"""The GitHub Action's validation step, run as GitHub runs it (bash, its inputs in the environment)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent.parent


def test_the_action_validates_writes_sarif_and_annotations_and_says_the_exit_code(tmp_path: Path) -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    step = next(step for step in action["runs"]["steps"] if step.get("id") == "validate")
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(REPO / "tests" / "data" / "valid" / "SpikeData.yaml", data / "good.yaml")
    shutil.copy(REPO / "tests" / "data" / "invalid-invariants" / "SpikeData-unsorted.yaml", data / "bad.yaml")
    outputs = tmp_path / "github-output"
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    inputs |= {"paths": "data", "sarif-file": "out.sarif", "html-file": "out.html"}
    env = {
        name: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda match: inputs[match.group(1)], value)
        for name, value in step["env"].items()
    }
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=tmp_path,
        env={
            **os.environ,
            **env,
            "GITHUB_OUTPUT": str(outputs),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert outputs.read_text().strip() == "exit-code=1"
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    (result,) = sarif["runs"][0]["results"]
    assert result["ruleId"] == "NDH102"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "data/bad.yaml"
    assert "::error file=data/bad.yaml,title=NDH102 invariant::" in done.stdout
    assert "invalid  data/bad.yaml (yaml)" in done.stdout
    page = (tmp_path / "out.html").read_text()
    assert 'data-path="bad.yaml"' in page and "NDH102" in page
    upload = next(step for step in action["runs"]["steps"] if step.get("name") == "Upload the HTML report")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"] == "${{ inputs.html-file }}"
