"""Result tables and JSON reload equal to what was exported; batches fill NaN; lacuna's provenance."""

# ruff: noqa: F811 - the make_subject fixture is imported, then named as a test argument

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from subject_helpers import REGIONS, make_subject  # noqa: F401

from neurodatahub.compat import lacuna
from neurodatahub.core.errors import OutputError, UsageError
from neurodatahub.subjects.export import export_provenance, export_results
from neurodatahub.subjects.tables import results_frame

DAMAGE = "RegionalDamage.atlas-Schaefer100_desc-damage"
MAP = "FunctionalNetworkMapping.atlas-Schaefer100_source-GSP1000_desc-correlation"
MATRIX = "StructuralNetworkMapping.atlas-Schaefer100_source-dTOR985"


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")


def expected_row(subject: Any) -> dict[str, Any]:
    """The columns lacuna names, with every container expanded into its values."""
    by_namespace = {result.namespace + "." + result.key: result for result in subject.results}
    damage = by_namespace[DAMAGE].parcel_data
    voxel = np.asarray(by_namespace[MAP].voxel_map.data)
    matrix = np.asarray(by_namespace[MATRIX].connectivity.matrix)
    off = matrix[~np.eye(3, dtype=bool)]
    return {
        "subject_id": subject.subject_metadata.subject_id,
        "session_id": subject.subject_metadata.session_id,
        "coordinate_space": "MNI152NLin6Asym",
        **{f"{DAMAGE}.{region}": value for region, value in zip(REGIONS, damage.values, strict=True)},
        f"{MAP}.mean": voxel.mean(),
        f"{MAP}.std": voxel.std(),
        f"{MAP}.min": voxel.min(),
        f"{MAP}.max": voxel.max(),
        f"{MAP}.n_nonzero": np.count_nonzero(voxel),
        f"{MATRIX}.n_regions": 3,
        f"{MATRIX}.mean": off.mean(),
        f"{MATRIX}.std": off.std(),
        f"{MATRIX}.min": off.min(),
        f"{MATRIX}.max": off.max(),
        f"{MATRIX}.density": 1.0,
        "LesionSummary.volume": subject.results[3].scalar_metric.value,
        "LesionSummary.hemisphere": "left",
    }


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, str) or isinstance(right, str):
        return left == right
    return (math.isnan(left) and math.isnan(right)) or math.isclose(left, right, rel_tol=1e-12)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_one_subject_table_reloads_equal(tmp_path: Path, make_subject: Any, suffix: str) -> None:
    subject = make_subject()
    out = tmp_path / f"results{suffix}"
    export_results(subject, str(out))
    table = _read(out)
    expected = expected_row(subject)
    assert list(table.columns) == list(expected)
    assert len(table) == 1
    for column, value in expected.items():
        assert _same(table.loc[0, column], value), column


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_batch_has_one_row_per_subject_and_nan_where_missing(
    tmp_path: Path, make_subject: Any, suffix: str
) -> None:
    first, second, bare = (
        make_subject("01"),
        make_subject("02", None, seed=1),
        make_subject("03", None, with_results=False),
    )
    second.results = [result for result in second.results if result.namespace != "RegionalDamage"]
    out = tmp_path / f"group{suffix}"
    export_results([first, second, bare], str(out))
    table = _read(out)
    assert list(table["subject_id"]) == ["sub-01", "sub-02", "sub-03"]
    assert table["session_id"].isna().tolist() == [False, True, True]
    assert table[f"{DAMAGE}.Vis_1"].isna().tolist() == [False, True, True]
    assert table["LesionSummary.volume"].tolist()[:2] == [96.0, 97.0]
    assert table.iloc[2, 3:].isna().all()
    assert list(table.columns) == list(expected_row(first))


def test_long_layout_and_one_analysis(tmp_path: Path, make_subject: Any) -> None:
    subjects = [make_subject("01"), make_subject("02", seed=1)]
    out = tmp_path / "long.parquet"
    export_results(subjects, str(out), layout="long", analysis_name="RegionalDamage")
    table = pd.read_parquet(out)
    assert list(table.columns) == [
        "subject_id",
        "session_id",
        "coordinate_space",
        "namespace",
        "key",
        "item",
        "value",
        "text",
    ]
    assert table["item"].tolist() == REGIONS * 2
    values = subjects[1].results[0].parcel_data.values
    assert np.array_equal(table["value"].to_numpy()[3:], values, equal_nan=True)
    wide = results_frame(subjects, analysis_name="LesionSummary", include_metadata=False)
    assert list(wide.columns) == ["LesionSummary.volume", "LesionSummary.hemisphere"]
    long = results_frame(subjects[:1], analysis_name="LesionSummary", layout="long")
    assert long["text"].tolist()[1] == "left" and math.isnan(long["value"].tolist()[1])


def test_json_serialises_every_container(tmp_path: Path, make_subject: Any) -> None:
    subject = make_subject()
    out = tmp_path / "results.json"
    export_results(subject, str(out), include_provenance=True)
    document = json.loads(out.read_text())
    assert document["metadata"]["subject_id"] == "sub-01"
    damage = document["results"]["RegionalDamage"]["atlas-Schaefer100_desc-damage"]
    assert damage["type"] == "ParcelData" and damage["region_labels"] == REGIONS
    assert damage["values"][1] is None  # NaN
    assert np.allclose(
        [v for v in damage["values"] if v is not None],
        [subject.results[0].parcel_data.values[i] for i in (0, 2)],
    )
    correlation = document["results"]["FunctionalNetworkMapping"][
        "atlas-Schaefer100_source-GSP1000_desc-correlation"
    ]
    assert np.array_equal(np.asarray(correlation["data"]), subject.results[1].voxel_map.data)
    matrix = document["results"]["StructuralNetworkMapping"]["atlas-Schaefer100_source-dTOR985"]
    assert np.array_equal(np.asarray(matrix["matrix"]), subject.results[2].connectivity.matrix)
    assert document["results"]["LesionSummary"] == {
        "volume": {"type": "ScalarMetric", "name": "lesion_volume", "value": 96.0, "unit": "mm3"},
        "hemisphere": "left",
    }
    assert [record.get("function", record.get("type")) for record in document["provenance"]] == [
        "neurodatahub.subjects.from_nifti",
        "spatial_transformation",
    ]


def test_batch_json_is_a_list_of_documents(tmp_path: Path, make_subject: Any) -> None:
    out = tmp_path / "group.json"
    lacuna.batch_export_to_json([make_subject("01"), make_subject("02")], out, include_metadata=False)
    documents = json.loads(out.read_text())
    assert [list(document) for document in documents] == [["results"], ["results"]]


def test_provenance_is_a_list_of_lacuna_records(tmp_path: Path, make_subject: Any) -> None:
    out = tmp_path / "provenance.json"
    lacuna.export_provenance_to_json(make_subject(), out)
    activity, transform = json.loads(out.read_text())
    assert list(activity)[:4] == ["function", "parameters", "timestamp", "version"]
    assert activity["timestamp"].endswith("Z")
    assert transform == {
        "type": "spatial_transformation",
        "timestamp": "2025-01-02T03:04:05Z",
        "source_space": "MNI152NLin2009cAsym",
        "source_resolution": 1.0,
        "target_space": "MNI152NLin6Asym",
        "target_resolution": 2.0,
        "method": "nitransforms",
        "interpolation": "nearest",
    }
    empty = make_subject("02", with_results=False)
    empty.provenance = None
    with pytest.raises(UsageError, match="no provenance"):
        export_provenance(empty, str(tmp_path / "none.json"))


def test_lacuna_names_write_like_lacuna(tmp_path: Path, make_subject: Any) -> None:
    subject = make_subject()
    assert lacuna.export_results_to_csv(subject, tmp_path / "a.csv") == tmp_path / "a.csv"
    lacuna.export_results_to_csv(subject, tmp_path / "a.csv", analysis_name="LesionSummary")  # replaces
    assert list(pd.read_csv(tmp_path / "a.csv").columns)[3:] == [
        "LesionSummary.volume",
        "LesionSummary.hemisphere",
    ]
    lacuna.export_results_to_tsv(subject, tmp_path / "a.tsv", include_metadata=False)
    assert "subject_id" not in pd.read_csv(tmp_path / "a.tsv", sep="\t").columns
    lacuna.batch_export_to_tsv([subject, make_subject("02")], tmp_path / "b.tsv")
    lacuna.batch_export_to_parquet([subject], tmp_path / "b.parquet")
    lacuna.export_results_to_parquet(subject, tmp_path / "c.parquet")
    lacuna.export_results_to_json(subject, tmp_path / "c.json", indent=0)
    assert len(pd.read_csv(tmp_path / "b.tsv", sep="\t")) == 2
    with pytest.raises(UsageError, match="empty"):
        lacuna.batch_export_to_csv([], tmp_path / "x.csv")


def test_requests_that_cannot_be_met(tmp_path: Path, make_subject: Any) -> None:
    subject = make_subject()
    with pytest.raises(
        UsageError, match=r"sub-01 has no results of 'Nope' \(there are: FunctionalNetworkMapping"
    ):
        export_results(subject, str(tmp_path / "a.csv"), analysis_name="Nope")
    with pytest.raises(UsageError, match="no results to export"):
        export_results(make_subject("02", with_results=False), str(tmp_path / "a.csv"))
    with pytest.raises(UsageError, match="cannot tell the format"):
        export_results(subject, str(tmp_path / "a.xlsx"))
    (tmp_path / "kept.csv").write_text("old")
    with pytest.raises(OutputError, match="exists"):
        export_results(subject, str(tmp_path / "kept.csv"))
    assert (tmp_path / "kept.csv").read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept.csv", "masks"]
