"""`hub tract merge` with bundles read on a real Dask cluster: the same .tck bytes as one job."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import hub
from tract_helpers import write_raw_trk


def test_bundles_merged_on_a_cluster_are_the_sequential_bytes(
    dask_cluster, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEURODATAHUB_TRACT_CHUNK_POINTS", "50")  # several chunks per bundle
    for seed, name in enumerate(
        ("association/AF_L", "association/AF_R", "commissural/CC", "projection/CST_L")
    ):
        path = tmp_path / "tracts" / f"{name}.trk"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_raw_trk(path, 20 + seed, 7 + seed, seed=seed)
    assert (
        hub(capsys, "tract", "merge", str(tmp_path / "tracts"), str(tmp_path / "seq.tck"), "-j", "1")[0] == 0
    )
    code, _, err = hub(capsys, "tract", "merge", str(tmp_path / "tracts"), str(tmp_path / "par.tck"),
                       "--scheduler", dask_cluster.address)  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "par.tck").read_bytes() == (tmp_path / "seq.tck").read_bytes()
