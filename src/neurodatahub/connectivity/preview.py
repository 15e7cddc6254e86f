"""A connectivity matrix as a heatmap with its region labels, grouped by hemisphere and network when the
labels say them (Schaefer's `7Networks_LH_Vis_1`, `lh_...`, `..._L`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.preview import paints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import ConnectivityMatrix

MAX_LABELS = 40  # tick labels shown; beyond, every k-th
HEMISPHERE = re.compile(r"(?:^|[_\-. ])(lh|rh|L|R|left|right)(?:$|[_\-. ])", re.IGNORECASE)
NETWORK = re.compile(r"Networks?_(?:LH|RH)_([A-Za-z]+)")


def group_of(label: str) -> tuple[str, str]:
    """(hemisphere, network) a label names, empty where it names none."""
    found = HEMISPHERE.search(label)
    hemisphere = (
        {"l": "L", "lh": "L", "left": "L", "r": "R", "rh": "R", "right": "R"}.get(found.group(1).lower(), "")
        if found
        else ""
    )
    network = NETWORK.search(label)
    return hemisphere, network.group(1) if network else ""


def order(labels: list[str]) -> np.ndarray:
    """Rows grouped by hemisphere then network (stable within a group)."""
    groups = [group_of(label) for label in labels]
    return np.array(sorted(range(len(labels)), key=lambda row: groups[row]), dtype=np.int64)


@paints("ConnectivityMatrix")
def paint(conn: ConnectivityMatrix, figure: Figure) -> None:
    axes = figure.subplots()
    labels = [str(label) for label in conn.region_labels]
    rows = order(labels)
    matrix = np.asarray(conn.matrix, dtype=np.float64)[np.ix_(rows, rows)]
    finite = matrix[np.isfinite(matrix)]
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    diverging = finite.size and finite.min() < -0.05 * limit  # negative values that matter: a diverging map
    image = axes.imshow(
        matrix,
        cmap="RdBu_r" if diverging else "viridis",
        vmin=-limit if diverging else (float(finite.min()) if finite.size else 0),
        vmax=limit,
        interpolation="nearest",
    )
    figure.colorbar(image, ax=axes, shrink=0.8, label=conn.measure or "value")
    step = max(1, len(labels) // MAX_LABELS)
    ticks = np.arange(0, len(labels), step)
    axes.set_xticks(ticks, [labels[rows[tick]] for tick in ticks], rotation=90, fontsize=6)
    axes.set_yticks(ticks, [labels[rows[tick]] for tick in ticks], fontsize=6)
    groups = [group_of(labels[row]) for row in rows]
    for edge in range(1, len(groups)):
        if groups[edge] != groups[edge - 1] and any(groups[edge]):
            axes.axhline(edge - 0.5, color="white", linewidth=0.6)
            axes.axvline(edge - 0.5, color="white", linewidth=0.6)
