"""Connectivity matrices as a NumPy NPZ archive, read with `np.load(path, allow_pickle=False)` alone.

Layout: `matrix` (N x N, the model's float dtype), `region_labels` (a unicode array, never objects);
0-d unicode `measure`, `atlas`, `description` and 0-d bool `symmetric` when set; `metadata_json` (0-d
unicode JSON text) when there is metadata. Deflated by default (`compress`). Archives are opened with
allow_pickle=False: an object array is pickled Python, and loading it would run code from the file.
Reading a foreign archive: `labels` is accepted for `region_labels`; without either, "0".."N-1".
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.connectivity import common
from neurodatahub.core.codecs.metadata import metadata_from_json, optional_text, to_json
from neurodatahub.core.codecs.npz import load, member_names, save_arrays
from neurodatahub.core.errors import InputError
from neurodatahub.core.options import Flag, Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

TEXT_FIELDS = ("measure", "atlas", "description")


class WriteOptions(Options):
    compress: Flag = Field(True, description="deflate the arrays (savez_compressed)")


def write(conn: ConnectivityMatrix, path: Path, *, compress: bool = True) -> None:
    arrays: dict[str, np.ndarray] = {
        "matrix": np.asarray(conn.matrix),
        "region_labels": np.array([str(label) for label in conn.region_labels], dtype=np.str_),
    }
    for name in TEXT_FIELDS:
        if getattr(conn, name) is not None:
            arrays[name] = np.str_(getattr(conn, name))
    if conn.symmetric is not None:
        arrays["symmetric"] = np.bool_(conn.symmetric)
    if conn.metadata is not None:
        arrays["metadata_json"] = np.str_(to_json(conn.metadata))
    save_arrays(path, arrays, compress=compress)


def _labels(arrays: Mapping[str, np.ndarray], count: int, url: str) -> list[str]:
    labels = arrays.get("region_labels", arrays.get("labels"))
    if labels is None:
        return common.default_labels(count)
    if labels.ndim != 1 or labels.dtype.kind not in "USiu":
        raise InputError(
            f"{url}: region_labels must be a 1-D array of text, got {labels.dtype} {labels.shape}"
        )
    if labels.dtype.kind == "S":
        return [value.decode("utf-8", errors="replace") for value in labels.tolist()]
    return [str(value) for value in labels.tolist()]


def _symmetric(value: np.ndarray | None, url: str) -> bool | None:
    if value is None:
        return None
    if value.shape != () or value.dtype.kind != "b":
        raise InputError(f"{url}: symmetric must be a single boolean")
    return bool(value)


def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> ConnectivityMatrix:
    arrays = load(url, storage_options)
    if "matrix" not in arrays:
        raise InputError(f"{url} has no 'matrix' array (arrays: {', '.join(arrays) or 'none'})")
    matrix = common.numeric_matrix(arrays["matrix"], url)
    metadata = arrays.get("metadata_json")
    return common.build(
        matrix,
        _labels(arrays, len(matrix), url),
        symmetric=_symmetric(arrays.get("symmetric"), url),
        metadata=None if metadata is None else metadata_from_json(metadata, url),
        **{name: optional_text(arrays.get(name)) for name in TEXT_FIELDS},
    )


def sniff(probe: Probe) -> bool:
    return "matrix" in member_names(probe.url, probe.head, probe.storage_options)


register_format(
    FormatSpec(
        name="npz",
        kind=common.KIND,
        description="NumPy NPZ: matrix, region_labels (unicode), fields and metadata as text; no pickle",
        extensions=(".npz",),
        read=read,
        write=write,
        sniff=sniff,
        write_options=WriteOptions,
        claims_extension=False,  # spike archives own .npz; a matrix archive is known by its arrays
    )
)
