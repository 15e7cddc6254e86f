"""A format from another package, installed the way a user installs one, converts like a built-in format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PLUGIN = Path(__file__).resolve().parent / "plugin" / "hub_toy_format"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin built and installed with pip into a folder of its own (added to the hub's PYTHONPATH)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
         "--target", str(target), str(PLUGIN)],
        check=True,
        capture_output=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )  # fmt: skip
    assert any(path.name.startswith("hub_toy_format") for path in target.glob("*.dist-info"))
    return target


def _hub(plugin_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "neurodatahub.cli", *args], capture_output=True, text=True, env=env
    )


def test_a_plugin_format_is_listed_with_its_typed_options(plugin_path: Path) -> None:
    listed = _hub(plugin_path, "formats", "--kind", "connectivity", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["ssv"]["read"] and rows["ssv"]["write"]
    assert rows["ssv"]["write_options"]["digits"]["type"] == "int"
    assert rows["ssv"]["write_options"]["digits"]["default"] == 6
    assert "ssv" not in _hub(Path("/nonexistent"), "formats", "--json").stdout


def test_convert_through_a_plugin_format_and_back(plugin_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "conn.tsv"
    source.write_text("\tA\tB\nA\t0\t0.25\nB\t0.25\t0\n", encoding="utf-8")
    target = tmp_path / "conn.ssv"
    done = _hub(plugin_path, "convert", str(source), str(target), "-O", "digits=3")
    assert done.returncode == 0, done.stderr
    assert target.read_text(encoding="utf-8").splitlines() == ["A B", "0 0.25", "0.25 0"]
    back = tmp_path / "back.tsv"
    done = _hub(plugin_path, "convert", str(target), str(back), "--from", "ssv")
    assert done.returncode == 0, done.stderr
    values = np.loadtxt(back, delimiter="\t", skiprows=1, usecols=(1, 2))
    assert values.tolist() == [[0.0, 0.25], [0.25, 0.0]]


def test_a_plugin_option_is_checked_like_a_built_in_one(plugin_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "conn.tsv"
    source.write_text("\tA\nA\t1\n", encoding="utf-8")
    done = _hub(plugin_path, "convert", str(source), str(tmp_path / "x.ssv"), "-O", "digits=40")
    assert done.returncode == 2 and "digits must be <= 17" in done.stderr
    assert not (tmp_path / "x.ssv").exists()
