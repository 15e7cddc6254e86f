"""Parcel tables (ParcelData) as the hub writes them into BIDS derivatives: `_parcelstats.tsv` + `.json`.

The TSV has two columns, `region` and `value` (`n/a` where a region has no value, as BIDS writes missing
values); the JSON sidecar of the same stem holds Description, Parcellation (the atlas),
AggregationMethod, Name and Metadata, and, inside a derivatives dataset, the result's Namespace and Key
(kept in the metadata when read). Spike, region and connectivity tables share the `.tsv` extension: this
format is known by its header, exactly `region<TAB>value`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import documents, storage
from neurodatahub.core.errors import InputError
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.subjects.parcel_tables import (
    HEADER,
    MISSING,
    RESULT_KEYS,
    SIDECAR_FIELDS,
    sidecar,
    table_text,
)

if TYPE_CHECKING:
    from neurodatahub.core.models import ParcelData

KIND = "parcels"


def sidecar_of(url: str) -> str:
    head, _, name = url.rstrip("/").rpartition("/")
    stem = name[: -len(".tsv")] if name.endswith(".tsv") else name.rsplit(".", 1)[0]
    return f"{head}/{stem}.json" if head else f"{stem}.json"


def sidecars(url: str) -> tuple[str, ...]:
    return (sidecar_of(url),)


def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> ParcelData:
    from neurodatahub.core.models import ParcelData

    raw = documents.read_text_bytes(url, storage_options)  # its size held to the memory budget first
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter="\t"))
    except UnicodeDecodeError as error:
        raise InputError(f"{url}: not a text table ({error})") from error
    if not rows or tuple(cell.strip() for cell in rows[0]) != HEADER:
        raise InputError(f"{url}: a parcel table has the columns region and value, found {rows[:1]}")
    labels, values = [], []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise InputError(f"{url}: line {number} has {len(row)} cells, not 2")
        labels.append(row[0])
        try:
            values.append(math.nan if row[1].strip() in (MISSING, "") else float(row[1]))
        except ValueError:
            raise InputError(f"{url}: line {number}: {row[1]!r} is not a number") from None
    described = _load_sidecar(url, storage_options)
    fields = {field: described.get(key) for key, field in SIDECAR_FIELDS.items()}
    metadata = dict(described.get("Metadata") or {})
    metadata.update({key: described[key] for key in RESULT_KEYS if key in described})
    return ParcelData(
        **{**fields, "name": fields["name"] or _stem(url)},
        region_labels=labels,
        values=np.asarray(values, dtype=np.float64),
        metadata=metadata or None,
    )


def _stem(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".tsv")


def _load_sidecar(url: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    path = sidecar_of(url)
    if not storage.exists(path, storage_options):
        return {}
    raw = documents.read_text_bytes(path, storage_options)  # a sidecar is as untrusted as the table
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: the parcel table's sidecar is not JSON ({error})") from error
    found = documents.load_json(text, path)  # nesting and long numbers refused as InputError
    if not isinstance(found, dict):
        raise InputError(f"{path}: the parcel table's sidecar must be a JSON object")
    return found


def write(parcels: ParcelData, path: Path) -> None:
    """The TSV and, beside it under its final name, the sidecar (conversions place both)."""
    path.write_text(table_text(parcels), encoding="utf-8")
    Path(sidecar_of(str(path))).write_text(json.dumps(sidecar(parcels), indent=2) + "\n", encoding="utf-8")


def sniff(probe: Probe) -> bool:
    first = probe.head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
    return tuple(cell.strip() for cell in first.decode("utf-8", "replace").split("\t")) == HEADER


register_format(
    FormatSpec(
        name="tsv",
        kind=KIND,
        description="Parcel table: region and value columns with a JSON sidecar (BIDS derivatives)",
        extensions=(".tsv",),
        read=read,
        write=write,
        sniff=sniff,
        sidecars=sidecars,
        claims_extension=False,  # spike tables own .tsv; a parcel table is known by its header
    )
)
