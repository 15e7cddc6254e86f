"""What `hub info` says about lesion masks and subjects: grid, lesion size, space, results."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..models import arrays
from ..models.summary import summarizes
from .spaces import voxel_sizes


@summarizes("LesionMask")
def _mask(mask: Any) -> dict[str, Any]:
    voxels = arrays.count_nonzero(mask.data)
    return {
        "shape": list(mask.data.shape),
        "space": mask.space,
        "resolution_mm": mask.resolution,
        "lesion_voxels": voxels,
        "lesion_volume_mm3": float(voxels * np.prod(voxel_sizes(mask.affine))),
    }


@summarizes("SubjectData")
def _subject(subject: Any) -> dict[str, Any]:
    meta = subject.subject_metadata
    namespaces: dict[str, int] = {}
    for result in subject.results or ():
        namespaces[result.namespace] = namespaces.get(result.namespace, 0) + 1
    return {
        "subject_id": meta.subject_id,
        "session_id": meta.session_id,
        **_mask(subject.mask),
        "space": meta.space,
        "resolution_mm": meta.resolution,
        "results": namespaces,
        "provenance_records": len(subject.provenance or ()),
    }
