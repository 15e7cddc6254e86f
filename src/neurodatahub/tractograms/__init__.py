"""Tractogram operations beyond format conversion: lacuna's TRK to TCK functions, reference grids.

`trk_to_tck` and `merge_trk_to_tck` keep lacuna's names, parameters, defaults and error types, and
stream in bounded memory on any storage URL (see `conversion`).
"""

from neurodatahub.tractograms.conversion import (
    DEFAULT_EXCLUDE_PATTERNS,
    NoTractogramsError,
    OutputExistsError,
    TractogramConversionError,
    TractogramNotFoundError,
    TractogramRequestError,
    find_trk_files,
    merge_trk_to_tck,
    trk_to_tck,
)

__all__ = [
    "DEFAULT_EXCLUDE_PATTERNS",
    "NoTractogramsError",
    "OutputExistsError",
    "TractogramConversionError",
    "TractogramNotFoundError",
    "TractogramRequestError",
    "find_trk_files",
    "merge_trk_to_tck",
    "trk_to_tck",
]
