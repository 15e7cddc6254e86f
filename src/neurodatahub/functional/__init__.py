"""Functional connectome chunks (lacuna's GSP1000 HDF5 layout): build them from runs, read and check them.

`gsp1000_to_hdf5` is lacuna's converter under its name and parameters; `open_chunk`, `iter_subjects`
and `load_chunk` read chunk files subject by subject or whole, validated against the schema.
"""

from __future__ import annotations

from neurodatahub.functional.chunks import (
    CHUNK_NAME,
    iter_subjects,
    load_chunk,
    mask_indices_rows,
    open_chunk,
    write_chunk,
)
from neurodatahub.functional.errors import (
    ArgumentError,
    ChunkExistsError,
    GridMismatchError,
    MissingInputError,
    NoRunsError,
)
from neurodatahub.functional.gsp import gsp1000_to_hdf5, open_folder

__all__ = [
    "CHUNK_NAME",
    "ArgumentError",
    "ChunkExistsError",
    "GridMismatchError",
    "MissingInputError",
    "NoRunsError",
    "gsp1000_to_hdf5",
    "iter_subjects",
    "load_chunk",
    "mask_indices_rows",
    "open_chunk",
    "open_folder",
    "write_chunk",
]
