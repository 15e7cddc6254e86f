"""Parcel tables: what the BIDS derivatives export and the parcel-table format write (one writer).

`region` and `value` columns (`n/a` for a region without value, as BIDS writes missing values) and a
JSON sidecar with Description, Parcellation, AggregationMethod, Name, Metadata and, in a derivatives
dataset, the result's Namespace and Key.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from neurodatahub.core.models import ParcelData

HEADER = ("region", "value")
MISSING = "n/a"
# sidecar keys -> ParcelData fields; Namespace and Key (a derivatives dataset's) go to the metadata
SIDECAR_FIELDS = {
    "Description": "description",
    "Parcellation": "atlas",
    "AggregationMethod": "aggregation_method",
    "Name": "name",
}
RESULT_KEYS = ("Namespace", "Key")


def table_text(parcels: ParcelData) -> str:
    """The TSV (shortest exact numbers, n/a for NaN); the derivatives export and the format both use it."""
    lines = ["\t".join(HEADER)]
    for label, value in zip(parcels.region_labels, np.asarray(parcels.values, dtype=np.float64), strict=True):
        lines.append(f"{label}\t{MISSING if math.isnan(value) else repr(float(value))}")
    return "\n".join(lines) + "\n"


def sidecar(parcels: ParcelData) -> dict[str, Any]:
    """The JSON sidecar's keys the model fills (None left out)."""
    metadata = dict(parcels.metadata or {})
    found = {key: getattr(parcels, field) for key, field in SIDECAR_FIELDS.items()}
    found.update({key: metadata.pop(key) for key in RESULT_KEYS if key in metadata})
    found["Metadata"] = metadata or None
    return {key: value for key, value in found.items() if value is not None}
