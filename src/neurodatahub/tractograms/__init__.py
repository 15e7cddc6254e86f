"""Tractogram operations beyond format conversion: lacuna's TRK to TCK functions, reference grids.

`trk_to_tck` and `merge_trk_to_tck` keep lacuna's names, parameters, defaults and error types, and
stream in bounded memory on any storage URL (see `conversion`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodatahub.core.lazy import lazy_exports

if TYPE_CHECKING:
    from neurodatahub.tractograms.bridges import from_nibabel as from_nibabel, to_nibabel as to_nibabel
    from neurodatahub.tractograms.connectome import connectome as connectome
    from neurodatahub.tractograms.conversion import (
        DEFAULT_EXCLUDE_PATTERNS as DEFAULT_EXCLUDE_PATTERNS,
        NoTractogramsError as NoTractogramsError,
        OutputExistsError as OutputExistsError,
        TractogramConversionError as TractogramConversionError,
        TractogramNotFoundError as TractogramNotFoundError,
        TractogramRequestError as TractogramRequestError,
        find_trk_files as find_trk_files,
        merge_trk_to_tck as merge_trk_to_tck,
        trk_to_tck as trk_to_tck,
    )

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "DEFAULT_EXCLUDE_PATTERNS": "conversion",
        "NoTractogramsError": "conversion",
        "OutputExistsError": "conversion",
        "TractogramConversionError": "conversion",
        "TractogramNotFoundError": "conversion",
        "TractogramRequestError": "conversion",
        "connectome": "connectome",
        "find_trk_files": "conversion",
        "from_nibabel": "bridges",
        "merge_trk_to_tck": "conversion",
        "to_nibabel": "bridges",
        "trk_to_tck": "conversion",
    },
)
