"""Functional connectome chunks (lacuna's GSP1000 HDF5 layout): build them from runs, read and check them.

`gsp1000_to_hdf5` is lacuna's converter under its name and parameters; `open_chunk`, `iter_subjects`
and `load_chunk` read chunk files subject by subject or whole, validated against the schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodatahub.core.lazy import lazy_exports

if TYPE_CHECKING:
    from neurodatahub.functional.chunks import (
        CHUNK_NAME as CHUNK_NAME,
        iter_subjects as iter_subjects,
        load_chunk as load_chunk,
        mask_indices_rows as mask_indices_rows,
        open_chunk as open_chunk,
        write_chunk as write_chunk,
    )
    from neurodatahub.functional.errors import (
        ArgumentError as ArgumentError,
        ChunkExistsError as ChunkExistsError,
        GridMismatchError as GridMismatchError,
        MissingInputError as MissingInputError,
        NoRunsError as NoRunsError,
    )
    from neurodatahub.functional.gsp import (
        gsp1000_to_hdf5 as gsp1000_to_hdf5,
        open_folder as open_folder,
    )

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "ArgumentError": "errors",
        "CHUNK_NAME": "chunks",
        "ChunkExistsError": "errors",
        "GridMismatchError": "errors",
        "MissingInputError": "errors",
        "NoRunsError": "errors",
        "gsp1000_to_hdf5": "gsp",
        "iter_subjects": "chunks",
        "load_chunk": "chunks",
        "mask_indices_rows": "chunks",
        "open_chunk": "chunks",
        "open_folder": "gsp",
        "write_chunk": "chunks",
    },
)
