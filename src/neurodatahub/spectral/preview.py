"""A spectral decomposition's eigenvalue spectrum."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.preview import paints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import SpectralDecomposition


@paints("SpectralDecomposition")
def paint(spec: SpectralDecomposition, figure: Figure) -> None:
    axes = figure.subplots()
    if spec.eigenvalues is None:
        axes.text(0.5, 0.5, "no eigenvalues", ha="center", va="center", transform=axes.transAxes)
        return
    values = np.asarray(spec.eigenvalues, dtype=np.float64)
    axes.plot(np.arange(len(values)), values, marker="o", markersize=3, color="darkred")
    axes.set_xlabel("index")
    axes.set_ylabel("eigenvalue")
    axes.grid(alpha=0.3)
