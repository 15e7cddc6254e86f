"""What the checks across files need to know of each file, taken from its validated model in the worker.

Facts are small (a grid, labels, a space), so they travel back from workers and sit in the cache instead
of the data: the checks across files never read a file again. They are found by the fields a class has
(an affine and voxel data make an image; a `lut` a parcellation; a matrix with region labels a
connectome), so a new class with those fields is covered without naming it here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

AFFINE_DECIMALS = 4  # grids that agree to 0.1 micrometre are one grid


def of_model(model: Any) -> dict[str, Any]:
    fields = type(model).model_fields
    facts: dict[str, Any] = {}
    data = getattr(model, "data", None)
    if "affine" in fields and data is not None and np.ndim(data) >= 3:
        facts["grid"] = {
            "shape": [int(size) for size in np.shape(data)[:3]],
            "affine": np.round(np.asarray(model.affine, dtype=float), AFFINE_DECIMALS).tolist(),
        }
        facts["space"] = _text(getattr(model, "space", None))
        facts["resolution"] = getattr(model, "resolution", None)
    if "lut" in fields and data is not None:  # a parcellation: its labels, and its table when it has one
        labels = np.unique(np.asarray(data))
        facts["labels"] = [int(label) for label in labels if label != 0]
        if model.lut is not None:
            facts["lut"] = sorted(int(region.index) for region in model.lut.regions)
    if "region_labels" in fields and "matrix" in fields:
        facts["region_labels"] = [str(label) for label in model.region_labels]
        facts["atlas"] = getattr(model, "atlas", None)
    if "regions" in fields and "atlas_name" in fields:  # a lookup table
        facts["lut"] = sorted(int(region.index) for region in model.regions)
        facts["region_names"] = [str(region.name) for region in model.regions]
    if "warnings" in fields and model.warnings:
        facts["warnings"] = [str(warning) for warning in model.warnings]
    return facts


def _text(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))
