"""qsiparc's names in neurodatahub.compat.qsiparc: same calls, same tables, same paths."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from region_helpers import assert_same_table, qsiparc_lut, qsiparc_table, synthetic_case

from neurodatahub.regions import qsiparc as compat

peer_output = pytest.importorskip("qsiparc.output")


def test_extract_with_a_qsiparc_lut_gives_qsiparc_stats_df() -> None:
    scalar, dseg, regions = synthetic_case()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = compat.extract_scalar_map(
            scalar, dseg, qsiparc_lut(regions, "toy"), "FA", zero_is_missing=True
        )
    assert found.scalar_name == "FA" and found.atlas_name == "toy" and found.model.atlas_name == "toy"
    assert_same_table(found.stats_df, qsiparc_table(scalar, dseg, regions, "toy", zero_is_missing=True))


def test_loaders_and_labels(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("index\tname\n1\tlh_a\n")
    assert compat.load_lut_from_tsv(str(path), "T").regions[0].hemisphere == "L"
    assert compat.sanitize_participant_label("01") == "sub-01" == compat.sanitize_participant_label("sub-01")
    assert compat.sanitize_session_label("1") == "ses-1"
    assert compat.OUTPUT_COLUMNS[:4] == ["region_index", "region_name", "hemisphere", "scalar"]


def test_diffmap_paths_are_qsiparc_paths(tmp_path: Path) -> None:
    entities = {"sub": "01", "ses": "1", "space": "ACPC", "model": "tensor", "param": "fa"}
    ours = compat.diffmap_tsv_path(str(tmp_path), "sub-01", "ses-1", "AAL116", "DSIStudio", entities)
    theirs = peer_output.diffmap_tsv_path(tmp_path, "sub-01", "ses-1", "AAL116", "DSIStudio", entities)
    assert ours == str(theirs)
