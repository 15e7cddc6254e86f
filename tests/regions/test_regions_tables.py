"""Region tables through the registry: every format, both tiers, hub convert/info/validate, merging."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from region_helpers import assert_same_table, synthetic_case

from neurodatahub.cli import main
from neurodatahub.core import conversion
from neurodatahub.core.errors import InvalidDataError
from neurodatahub.core.summary import summarize
from neurodatahub.regions import (
    extract_scalar_map,
    load_lut,
    merge_extraction_results,
    qsiparc as compat,
    result_frame,
)
from neurodatahub.regions.diffmap import write_table_text

FORMATS = ("tsv", "csv", "json", "parquet")


@pytest.fixture(params=["extended", "basic"])
def result(request: pytest.FixtureRequest):
    scalar, dseg, _ = synthetic_case()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return extract_scalar_map(scalar, dseg, load_lut(None, "toy", dseg=dseg), "FA", request.param)


@pytest.mark.parametrize("name", FORMATS)
def test_round_trip_keeps_every_number(result, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"sub-01_atlas-toy_param-FA_diffmap.{name}"
    losses = conversion.write(result, str(path))
    back = conversion.read(str(path))
    assert type(back).__name__ == "ExtractionResult" and back.stat_tier == result.stat_tier
    assert_same_table(result_frame(back), result_frame(result), rtol=0)
    assert back.atlas_name == "toy"  # from the metadata (parquet) or the atlas- entity (text)
    assert bool(losses) == (name != "parquet")
    if name == "parquet":
        assert back.provenance == result.provenance


@pytest.mark.parametrize("float_format", [None, "%.6f"])
@pytest.mark.parametrize("delimiter", ["\t", ","])
def test_text_tables_are_what_pandas_writes(result, tmp_path: Path, delimiter: str, float_format) -> None:
    """The csv-module writer gives pandas' to_csv bytes for qsiparc's frame: missing values, quoting."""
    rows = list(result.rows)
    rows[0] = rows[0].model_copy(update={"region_name": 'odd, "quoted"\tname', "mean": None})
    odd = result.model_copy(update={"rows": rows})
    write_table_text(odd, tmp_path / "hub.txt", delimiter, float_format)
    result_frame(odd).to_csv(
        tmp_path / "pandas.txt", sep=delimiter, index=False, na_rep="", float_format=float_format
    )
    assert (tmp_path / "hub.txt").read_bytes() == (tmp_path / "pandas.txt").read_bytes()


def test_text_tables_read_back_in_pandas_with_the_same_columns(result, tmp_path: Path) -> None:
    conversion.write(result, str(tmp_path / "t.tsv"))
    conversion.write(result, str(tmp_path / "t.json"))
    expected = result_frame(result)
    for frame in (
        pd.read_csv(tmp_path / "t.tsv", sep="\t"),
        pd.read_json(tmp_path / "t.json", orient="records", precise_float=True),
    ):
        assert list(frame.columns) == list(expected.columns)
        np.testing.assert_array_equal(frame["mean"].to_numpy(float), expected["mean"].to_numpy(float))


@pytest.mark.parametrize(("source", "target"), [(a, b) for a in FORMATS for b in FORMATS if a != b])
def test_hub_convert_between_every_pair(result, tmp_path: Path, source: str, target: str) -> None:
    first, second = tmp_path / f"atlas-toy_r.{source}", tmp_path / f"atlas-toy_r.{target}"
    conversion.write(result, str(first))
    assert main(["convert", str(first), str(second)]) == 0
    assert_same_table(result_frame(conversion.read(str(second))), result_frame(result), rtol=0)


def test_info_and_validate_know_region_tables(result, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "r.parquet"
    conversion.write(result, str(path))
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "regions" and info["format"] == "parquet"
    assert info["regions"] == len(result.rows) == summarize(result)["regions"]
    assert main(["validate", str(path)]) == 0


def test_qsiparc_rounded_diffmap_reads_back(tmp_path: Path) -> None:
    scalar, dseg, _ = synthetic_case()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = compat.extract_scalar_map(scalar, dseg, None, "FA")
    url = compat.write_diffmap_tsv(found.stats_df, str(tmp_path), "sub-01", "ses-1", "toy")
    back = conversion.read(url)
    assert back.atlas_name == "toy" and len(back.rows) == len(found.stats_df)
    np.testing.assert_allclose(result_frame(back)["mean"], found.stats_df["mean"], atol=5e-7, equal_nan=True)


def test_merge_is_qsiparc_long_format(tmp_path: Path) -> None:
    scalar, dseg, _ = synthetic_case()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fa = extract_scalar_map(scalar, dseg, None, "FA")
        md = extract_scalar_map(scalar, dseg, None, "MD")
    merged = merge_extraction_results([fa, md])
    assert len(merged) == 2 * len(fa.rows) and list(merged["scalar"].unique()) == ["FA", "MD"]
    assert "atlas" not in merged.columns
    assert merge_extraction_results([]).empty
    other = fa.model_copy(update={"atlas_name": "other"})
    assert next(iter(merge_extraction_results([fa, other]).columns)) == "atlas"
    peer = pytest.importorskip("qsiparc.extract")
    results = [
        peer.ExtractionResult("FA", "toy", result_frame(fa)),
        peer.ExtractionResult("MD", "toy", result_frame(md)),
    ]
    pd.testing.assert_frame_equal(merged, peer.merge_extraction_results(results))
    assert compat.merge_extraction_results([fa, md]).equals(merged)


def test_a_merged_table_is_not_one_result(tmp_path: Path) -> None:
    scalar, dseg, _ = synthetic_case()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = [result_frame(extract_scalar_map(scalar, dseg, None, name)) for name in ("FA", "MD")]
    path = tmp_path / "merged.tsv"
    pd.concat(frames).to_csv(path, sep="\t", index=False)
    assert main(["validate", str(path)]) == 1


@pytest.mark.parametrize("float_format", [None, "%.6f", "%.0f"])
def test_text_tables_are_read_back_when_written(result, tmp_path: Path, float_format) -> None:
    """The text writer's check reads the table back as the (pandas) reader does, without pandas: what it
    accepts the reader reads, and a table the reader rejects is refused before it is placed."""
    from neurodatahub.core.errors import OutputError

    rows = list(result.rows)
    odd_row = {"region_name": 'odd, "quoted"\tname', "mean": None, "hemisphere": None}
    rows[0] = rows[0].model_copy(update=odd_row)
    odd = result.model_copy(update={"rows": rows})
    path = tmp_path / "atlas-toy_r.tsv"
    conversion.write(odd, str(path), float_format=float_format)
    back = conversion.read(str(path))
    assert back.rows[0].region_name == 'odd, "quoted"\tname' and back.rows[0].mean is None
    if float_format is None:
        assert_same_table(result_frame(back), result_frame(odd), rtol=0)

    rows[0] = rows[0].model_copy(update={"region_name": ""})  # an empty cell reads back as missing
    unreadable = result.model_copy(update={"rows": rows})
    target = tmp_path / "atlas-toy_empty.tsv"
    with pytest.raises(OutputError, match=r"does not read back.*region_name"):
        conversion.write(unreadable, str(target), float_format=float_format)
    assert not target.exists()
    write_table_text(unreadable, tmp_path / "direct.tsv", "\t", float_format)  # the reader agrees
    with pytest.raises(InvalidDataError, match="region_name"):
        conversion.read(str(tmp_path / "direct.tsv"))
