"""Region statistics as a sorted bar chart of each region's mean (the table's main value)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.preview import paints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import ExtractionResult

MAX_NAMED = 40  # regions named on the axis; beyond, the bars stay unnamed


@paints("ExtractionResult")
def paint(result: ExtractionResult, figure: Figure) -> None:
    axes = figure.subplots()
    names = [row.region_name for row in result.rows]
    means = np.array([np.nan if row.mean is None else row.mean for row in result.rows], dtype=np.float64)
    shown = np.argsort(np.where(np.isnan(means), -np.inf, means))[::-1]
    axes.bar(np.arange(len(shown)), np.nan_to_num(means[shown]), color="steelblue", width=1.0)
    axes.set_xlabel(f"region ({np.isnan(means).sum()} without a value)")
    axes.set_ylabel(f"mean {result.scalar_name}")
    axes.set_title(f"{result.atlas_name}, {len(names)} regions, sorted", fontsize=9)
    if len(names) <= MAX_NAMED:
        axes.set_xticks(np.arange(len(shown)), [names[row] for row in shown], rotation=90, fontsize=7)
