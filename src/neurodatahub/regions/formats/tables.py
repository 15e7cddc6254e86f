"""Region tables (ExtractionResult) as TSV, CSV, JSON records and Parquet.

Columns are those of the result's tier (regions/tables.py): qsiparc 0.1.2's for `extended`, the
documented ones for `basic`; the tier is read back from the columns. Spike tables share the format
names, so these sniffers look for region columns (index/region_index with label/region_name and mean).

Parquet also carries the atlas name and the provenance as JSON under the key `neurodatahub` of the
file's metadata, so hub to hub it is lossless. Text tables and JSON records have no place for them:
their readers take the atlas from a JSON sidecar of the same stem (qsiparc's `_diffmap.json`) or from
an `atlas-` entity of the file name, and their writers declare the loss.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from neurodatahub.core import storage
from neurodatahub.core.codecs import parquet
from neurodatahub.core.conversion import invalid_data_of
from neurodatahub.core.errors import InputError, OutputError
from neurodatahub.core.options import FloatFormat, Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.regions.diffmap import write_table_text
from neurodatahub.regions.lut import atlas_name_of
from neurodatahub.regions.tables import (
    TEXT_FIELDS,
    TIER_COLUMNS,
    column_texts,
    frame_columns,
    result_frame,
    result_from_columns,
    tier_columns,
)

if TYPE_CHECKING:
    from neurodatahub.core.models import ExtractionResult

KIND = "regions"
INDEX_COLUMNS = {"index", "region_index"}
NAME_COLUMNS = {"label", "region_name"}
TEXT_COLUMNS = [
    column for columns in TIER_COLUMNS.values() for column, field in columns if field in TEXT_FIELDS
]


class TextWriteOptions(Options):
    float_format: FloatFormat | None = Field(
        None, description="printf format of the numbers, e.g. %.6f as qsiparc (default: exact)"
    )


TEXT_CANNOT_STORE = ("atlas name (kept by a sidecar or an atlas- file name)", "provenance")


def _is_region_header(names: set[str]) -> bool:
    return bool(names & INDEX_COLUMNS) and bool(names & NAME_COLUMNS) and "mean" in names


# ---- reading ----


def _sidecar(url: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """qsiparc's JSON sidecar beside a table, when there is one."""
    stem = url.rsplit(".", 1)[0]
    sidecar = f"{stem}.json"
    if sidecar == url or not storage.exists(sidecar, storage_options):
        return {}
    with storage.open_read(sidecar, storage_options) as handle:
        try:
            data = json.loads(handle.read())
        except ValueError:
            return {}
    return data if isinstance(data, dict) else {}


def _described(columns: Mapping[str, Sequence[Any]], url: str, described: Mapping[str, Any]) -> Any:
    return result_from_columns(
        columns,
        url,
        atlas_name=described["atlas_name"] if "atlas_name" in described else atlas_name_of(url, stem=False),
        provenance=described.get("provenance"),
    )


def _text_reader(delimiter: str) -> Callable[..., Any]:
    def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> ExtractionResult:
        import pandas as pd

        with storage.open_read(url, storage_options) as handle:
            try:
                frame = pd.read_csv(
                    handle,
                    sep=delimiter,
                    keep_default_na=False,
                    na_values=[""],
                    dtype=dict.fromkeys(TEXT_COLUMNS, str),
                )
            except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
                raise InputError(f"{url}: not a readable table ({error})") from error
        return _described(frame_columns(frame), url, _sidecar(url, storage_options))

    return read


def read_json(url: str, *, storage_options: Mapping[str, Any] | None = None) -> ExtractionResult:
    import pandas as pd

    with storage.open_read(url, storage_options) as handle:
        try:
            records = json.loads(handle.read())
        except ValueError as error:
            raise InputError(f"{url}: invalid JSON ({error})") from error
    if not isinstance(records, list) or not all(isinstance(row, dict) for row in records):
        raise InputError(f"{url}: a region table in JSON is a list of row objects")
    frame = pd.DataFrame.from_records(records)
    return _described(frame_columns(frame), url, _sidecar(url, storage_options))


def read_parquet(url: str, *, storage_options: Mapping[str, Any] | None = None) -> ExtractionResult:
    table = parquet.read_parquet_table(url, storage_options)
    return _described(frame_columns(table.to_pandas()), url, parquet.hub_metadata(table, url))


# ---- writing ----


def _text_verifier(delimiter: str) -> Callable[..., None]:
    """The written table holds, cell for cell, the text the writer meant to write, and those cells, read
    as the reader reads them, make a valid result: the whole read-back, without pandas (whose import
    costs more than an extraction's statistics)."""

    def verify(result: ExtractionResult, path: Path, *, float_format: str | None = None) -> None:
        with open(path, encoding="utf-8", newline="") as handle:
            found = list(csv.reader(handle, delimiter=delimiter))
        cells = zip(*column_texts(result, float_format), strict=True)
        expected = [tier_columns(result), *(list(row) for row in cells)]
        if found != expected:
            raise OutputError(f"{path.name}: the table read back differs from the result written")
        with invalid_data_of(str(path)):  # the reader's error, named as a reader's would be
            _described(_typed_columns(found), str(path), {})

    return verify


def _typed_columns(rows: list[list[str]]) -> dict[str, list[Any]]:
    """Text cells as the text reader's pandas call types them in a table the writer made: an empty cell is
    missing (na_values=[""]), the text columns stay text, the others are numbers."""
    header, *body = rows
    columns: dict[str, list[Any]] = {name: [] for name in header}
    for row in body:
        for name, cell in zip(header, row, strict=True):
            columns[name].append(None if cell == "" else cell if name in TEXT_COLUMNS else float(cell))
    return columns


def _text_writer(delimiter: str) -> Callable[..., None]:
    def write(result: ExtractionResult, path: Path, *, float_format: str | None = None) -> None:
        write_table_text(result, path, delimiter, float_format)

    return write


def write_json(result: ExtractionResult, path: Path) -> None:
    """One object per region, NaN as null: what `pandas.read_json(orient="records")` reads."""
    records = [
        {key: None if isinstance(value, float) and math.isnan(value) else value for key, value in row.items()}
        for row in result_frame(result).to_dict(orient="records")
    ]
    path.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")


def write_parquet(result: ExtractionResult, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    header = {
        "version": parquet.HUB_METADATA_VERSION,
        "atlas_name": result.atlas_name,
        "scalar_name": result.scalar_name,
        "stat_tier": str(result.stat_tier),
        "provenance": [
            record.model_dump(mode="json", exclude_none=True) for record in result.provenance or ()
        ],
    }
    table = pa.Table.from_pandas(result_frame(result), preserve_index=False)
    pq.write_table(
        table.replace_schema_metadata({parquet.HUB_METADATA_KEY: json.dumps(header).encode()}), str(path)
    )


def _losses(float_format_matters: bool) -> Callable[..., list[Any]]:
    def losses(result: ExtractionResult, *, float_format: str | None = None) -> list[Any]:
        from neurodatahub.core.models import Loss

        found = []
        if result.atlas_name:
            found.append(
                Loss(field="atlas_name", reason="a table has no place for it (use a sidecar or atlas-)")
            )
        if result.provenance:
            found.append(
                Loss(field="provenance", reason="a table has no place for it", count=len(result.provenance))
            )
        if float_format_matters and float_format:
            found.append(Loss(field="rows", reason=f"numbers rounded to {float_format}"))
        return found

    return losses


# ---- detection ----


def _text_sniffer(delimiter: str) -> Callable[[Probe], bool]:
    def sniff(probe: Probe) -> bool:
        first = probe.head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
        names = {name.strip().strip('"') for name in first.decode("utf-8", "replace").split(delimiter)}
        return _is_region_header(names)

    return sniff


def sniff_json(probe: Probe) -> bool:
    head = probe.head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"["):
        return False
    first = head.split(b"}", 1)[0].decode("utf-8", "replace")
    return _is_region_header({key for key in first.replace("{", ",").split('"')[1::2]})


def sniff_parquet(probe: Probe) -> bool:
    return parquet.columns_match(probe, _is_region_header)


for _name, _delimiter in (("tsv", "\t"), ("csv", ",")):
    register_format(
        FormatSpec(
            name=_name,
            kind=KIND,
            description=f"Region statistics as {_name.upper()} (qsiparc's extended or the basic columns)",
            extensions=(f".{_name}",),
            read=_text_reader(_delimiter),
            write=_text_writer(_delimiter),
            verify=_text_verifier(_delimiter),
            verify_reads_back=True,
            sniff=_text_sniffer(_delimiter),
            write_options=TextWriteOptions,
            cannot_store=TEXT_CANNOT_STORE,
            losses=_losses(True),
            claims_extension=False,  # spike tables own .tsv/.csv; region tables are known by their columns
        )
    )
register_format(
    FormatSpec(
        name="json",
        kind=KIND,
        description="Region statistics as a JSON list of row objects (pandas orient='records')",
        extensions=(".json",),
        read=read_json,
        write=write_json,
        sniff=sniff_json,
        cannot_store=TEXT_CANNOT_STORE,
        losses=_losses(False),
        claims_extension=False,
    )
)
register_format(
    FormatSpec(
        name="parquet",
        kind=KIND,
        description="Region statistics in Parquet; atlas name and provenance as JSON in the file metadata",
        extensions=(".parquet", ".pq"),
        read=read_parquet,
        write=write_parquet,
        sniff=sniff_parquet,
        claims_extension=False,
    )
)
