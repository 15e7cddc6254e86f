"""Functional chunks: the mean time series (over voxels) of a few subjects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.preview import paints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import FunctionalConnectomeChunk

SUBJECTS = 5


@paints("FunctionalConnectomeChunk")
def paint(chunk: FunctionalConnectomeChunk, figure: Figure) -> None:
    axes = figure.subplots()
    series = np.asarray(chunk.timeseries)
    for row in range(min(SUBJECTS, len(series))):
        axes.plot(series[row].mean(axis=1), linewidth=0.8, label=str(chunk.subject_ids[row]))
    axes.set_xlabel("timepoint")
    axes.set_ylabel("mean over voxels")
    axes.legend(fontsize=7, loc="upper right")
