"""Concurrent writers lose nothing: 8 `hub catalog register` processes started together keep 8 names
(catalog/state.py: a file lock around read-change-replace), and leave no temporary behind."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from safety_helpers import HUB


def test_eight_concurrent_registrations_keep_eight(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = dict(os.environ, NEURODATAHUB_DATA_DIR=str(data))
    folders = []
    for index in range(8):
        folder = tmp_path / f"connectome-{index}"
        folder.mkdir()
        (folder / "conn.tsv").write_text("x\n")
        folders.append(folder)
    processes = [
        subprocess.Popen(
            [*HUB, "catalog", "register", f"Lab{index}", str(folder)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index, folder in enumerate(folders)
    ]
    results = [(process.wait(timeout=300), process.stderr.read()) for process in processes]
    assert all(code == 0 for code, _ in results), results
    entries = json.loads((data / "registry.json").read_text())["entries"]
    assert sorted(entries) == [f"lab{index}" for index in range(8)]
    assert [path.name for path in data.iterdir() if "ndhtmp" in path.name] == []
