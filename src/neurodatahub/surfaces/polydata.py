"""What a VTK PolyData file holds, as plain arrays: the common result of the VTP and legacy VTK readers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CELL_KINDS = ("verts", "lines", "polys", "strips")


class VtkFormatError(ValueError):
    """The bytes do not follow the VTK file format (the format modules turn it into an InputError)."""


@dataclass
class PolyData:
    """Points, cells as (end offsets, connectivity) per kind, and the names or values of the data arrays."""

    points: np.ndarray
    cells: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    point_data: dict[str, np.ndarray] = field(default_factory=dict)
    cell_data: list[str] = field(default_factory=list)
    field_data: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        ends, _ = self.cells.get(kind, (np.empty(0), None))
        return len(ends)
