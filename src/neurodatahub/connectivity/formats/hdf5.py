"""Connectivity matrices in HDF5, in the hub's own layout (no peer writes one).

Layout: root attribute `neurodatahub_format = "ConnectivityMatrix"` (what the sniffer looks for, so the
file is never taken for spike or spectral HDF5) and `neurodatahub_layout = 1`; dataset `matrix` (N x N,
the model's float dtype) and `region_labels` (N variable-length UTF-8 strings), both gzip level 4 by
default (`compression`, `compression_opts`); root attributes `measure`, `atlas`, `description` (text),
`symmetric` (bool) when set, and `metadata_json` (JSON text) when there is metadata. Lossless.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.connectivity import common
from neurodatahub.core.codecs import hdf5
from neurodatahub.core.codecs.hdf5 import dataset_options, open_hdf5, text
from neurodatahub.core.codecs.metadata import metadata_from_json, to_json
from neurodatahub.core.errors import InputError
from neurodatahub.core.options import Hdf5Compression
from neurodatahub.core.registry import FormatSpec, Probe, register_format

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

MARKER = "neurodatahub_format"
MARKER_VALUE = "ConnectivityMatrix"  # the file says which data it holds (a fact of the file format)
LAYOUT = 1
TEXT_FIELDS = ("measure", "atlas", "description")


def write(
    conn: ConnectivityMatrix, path: Path, *, compression: str = "gzip", compression_opts: int = 4
) -> None:
    import h5py

    options = dataset_options(compression, compression_opts)
    with h5py.File(path, "w") as file:
        file.attrs[MARKER] = MARKER_VALUE
        file.attrs["neurodatahub_layout"] = LAYOUT
        file.create_dataset("matrix", data=np.asarray(conn.matrix), **options)
        labels = np.array([str(label) for label in conn.region_labels], dtype=h5py.string_dtype("utf-8"))
        file.create_dataset("region_labels", data=labels, **options)
        for name in TEXT_FIELDS:
            if getattr(conn, name) is not None:
                file.attrs[name] = getattr(conn, name)
        if conn.symmetric is not None:
            file.attrs["symmetric"] = bool(conn.symmetric)
        if conn.metadata is not None:
            file.attrs["metadata_json"] = to_json(conn.metadata)


def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> ConnectivityMatrix:
    with open_hdf5(url, storage_options) as file:
        if text(file.attrs.get(MARKER, "")) != MARKER_VALUE:
            raise InputError(f"{url} is not a connectivity HDF5 file (no {MARKER} = {MARKER_VALUE})")
        if "matrix" not in file or "region_labels" not in file:
            raise InputError(f"{url}: a connectivity HDF5 file needs datasets matrix and region_labels")
        matrix = common.numeric_matrix(hdf5.read(file["matrix"], url), url)
        labels = [text(label) for label in np.asarray(hdf5.read(file["region_labels"], url)).reshape(-1)]
        attrs = dict(file.attrs)
    symmetric = attrs.get("symmetric")
    if symmetric is not None and not isinstance(symmetric, bool | np.bool_):
        raise InputError(f"{url}: attribute symmetric must be a boolean")
    metadata = attrs.get("metadata_json")
    return common.build(
        matrix,
        labels,
        symmetric=None if symmetric is None else bool(symmetric),
        metadata=None if metadata is None else metadata_from_json(text(metadata), url),
        **{name: None if attrs.get(name) is None else text(attrs[name]) for name in TEXT_FIELDS},
    )


def sniff(probe: Probe) -> bool:
    root = probe.hdf5_root
    return root is not None and root[0].get(MARKER) == MARKER_VALUE


register_format(
    FormatSpec(
        name="hdf5",
        kind=common.KIND,
        description="HDF5: matrix and region_labels datasets (gzip), fields as attributes, a format marker",
        extensions=(".h5", ".hdf5"),
        read=read,
        write=write,
        sniff=sniff,
        write_options=Hdf5Compression,
        claims_extension=False,  # spike HDF5 owns .h5; this layout is known by its marker attribute
    )
)
