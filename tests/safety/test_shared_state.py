"""Concurrent writers lose nothing: 8 `hub catalog register` processes started together keep 8 names
(catalog/state.py: a file lock around read-change-replace), and leave no temporary behind."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from safety_helpers import HUB


def _atlas(path: Path) -> Path:
    """A two-region parcellation: registered files are read and must be what the facts say."""
    import nibabel as nib
    import numpy as np

    labels = np.zeros((6, 6, 6), np.int16)
    labels[:3], labels[3:] = 1, 2
    image = nib.Nifti1Image(labels, np.diag([2.0, 2.0, 2.0, 1.0]))
    image.set_sform(image.affine, code=1)
    image.to_filename(path)
    return path


def test_eight_concurrent_registrations_keep_eight(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = dict(os.environ, NEURODATAHUB_DATA_DIR=str(data))
    atlases = [_atlas(tmp_path / f"atlas-{index}.nii.gz") for index in range(8)]
    processes = [
        subprocess.Popen(
            [*HUB, "catalog", "register", f"Lab{index}", str(atlas), "--kind", "atlas", "--n-regions", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index, atlas in enumerate(atlases)
    ]
    results = [(process.wait(timeout=300), process.stderr.read()) for process in processes]
    assert all(code == 0 for code, _ in results), results
    entries = json.loads((data / "registry.json").read_text())["entries"]
    assert sorted(entries) == [f"lab{index}" for index in range(8)]
    assert [path.name for path in data.iterdir() if "ndhtmp" in path.name] == []
