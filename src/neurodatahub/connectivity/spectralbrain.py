"""spectralbrain 0.1.0's `save_connectome`, on the hub's ConnectivityMatrix and any storage URL.

Differences on purpose: a non-square matrix or a label count that does not match is an error
(`InvalidArguments`: a hub error and the ValueError spectralbrain raises), where spectralbrain writes
whatever it is given; the file is written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurodatahub.connectivity import common
from neurodatahub.core import storage
from neurodatahub.core.conversion import write
from neurodatahub.core.peers import prepared, validated_arguments

__all__ = ["save_connectome"]


def save_connectome(
    path: Any, matrix: Any, *, labels: list[str] | None = None, float_format: str = "%.10g"
) -> Path | str:
    """Save a connectome matrix to a labelled TSV (header row with an empty first cell)."""
    url = prepared(path)
    values = np.asarray(matrix)
    names = common.default_labels(len(values)) if labels is None else [str(label) for label in labels]
    with validated_arguments(url):
        conn = common.build(values, names)
    write(conn, url, format="tsv", overwrite=True, float_format=float_format)
    return storage.returned(url)
