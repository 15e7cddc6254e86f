"""Surface meshes from Python: spectralbrain 0.1.0's `save_mesh` and `save_gifti_func` (same parameters,
defaults and behaviour, without pyvista or VTK), plus loaders that return the hub's SurfaceMesh.

Differences from spectralbrain, on purpose: any storage URL works (s3://...); files are written
atomically (a failure leaves no half file and keeps an existing one); PLY keeps float64 coordinates
(spectralbrain's VTK writer rounds them to float32); legacy .vtk is version 4.2 POLYDATA rather than
VTK 9's 5.1 (same content, readable by older VTK too); faces indexing past the vertices are refused
instead of written. Like spectralbrain, existing files are replaced and missing
local folders created. The VTK codecs of this package (vtk_xml, vtk_legacy) need numpy only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from neurodatahub.core import storage
from neurodatahub.core.errors import UsageError
from neurodatahub.core.peers import prepared

__all__ = ["load_gifti_func", "load_mesh", "save_gifti_func", "save_mesh"]

logger = logging.getLogger(__name__)
MESH_FORMATS = {".ply": "ply", ".obj": "obj", ".stl": "stl", ".vtk": "vtk", ".vtp": "vtp"}


class VertexOrderError(UsageError, ValueError):
    """STL refused with allow_vertex_reorder=False: a hub error, and the ValueError spectralbrain raises."""


class MeshFormatError(UsageError, ValueError):
    """An extension save_mesh does not write (spectralbrain's pyvista raises ValueError there too)."""


def save_mesh(path: Any, vertices: Any, faces: Any, *, allow_vertex_reorder: bool | None = None) -> Any:
    """Save a mesh to .ply, .obj, .stl, .vtk or .vtp (format from the extension).

    allow_vertex_reorder: STL stores an unindexed triangle soup, so reading it back merges and reorders
    vertices. None (default) writes STL with a warning; False refuses (ValueError); True writes silently.
    """
    import numpy as np

    from neurodatahub.core.conversion import write
    from neurodatahub.surfaces.common import build

    url = str(path)
    suffix = Path(url.split("?", 1)[0]).suffix.lower()
    if suffix not in MESH_FORMATS:
        raise MeshFormatError(
            f"save_mesh writes .ply, .obj, .stl, .vtk or .vtp, not {suffix or 'no extension'!r}"
        )
    if suffix == ".stl":
        if allow_vertex_reorder is False:
            raise VertexOrderError(
                "STL does not preserve vertex order/indexing; per-vertex data would be misaligned on reload."
                " Use .vtp/.vtk/.obj, or pass allow_vertex_reorder=True."
            )
        if allow_vertex_reorder is None:
            logger.warning(
                "Writing %s as STL: vertex order is NOT preserved on reload, so per-vertex data will not"
                " align. Use .vtp/.vtk/.obj for indexed meshes.",
                Path(url).name,
            )
    from pydantic import ValidationError

    from neurodatahub.core.conversion import problems_of
    from neurodatahub.core.errors import InvalidDataError

    try:
        mesh = build(
            vertices=np.asarray(vertices, dtype=np.float64), faces=np.asarray(faces, dtype=np.int64), url=url
        )
    except ValidationError as error:
        problems = problems_of(error)
        raise InvalidDataError(f"{url}: not a valid mesh: {problems[0]['message']}", problems) from error
    options = {"allow_vertex_reorder": True} if suffix == ".stl" else {}
    prepared(url)
    write(mesh, url, format=MESH_FORMATS[suffix], overwrite=True, **options)
    return storage.returned(path)


def save_gifti_func(path: Any, scalars: Any) -> Any:
    """Save a scalar map (N,) or a descriptor matrix (N, T) as .func.gii: one float32 array per column,
    intent NIFTI_INTENT_SHAPE, no other metadata, exactly as spectralbrain writes it."""
    import numpy as np

    from neurodatahub.surfaces.formats.gifti import SHAPE, func_image

    values = np.asarray(scalars, dtype=np.float32)
    if values.ndim == 1:
        values = values[:, np.newaxis]
    if values.ndim != 2:
        raise UsageError(f"scalars must have shape (N,) or (N, T), got {values.shape}")
    arrays = [(np.ascontiguousarray(values[:, column]), {}, SHAPE) for column in range(values.shape[1])]
    url = str(path)
    prepared(url)
    with storage.atomic_write(url, overwrite=True) as tmp:
        tmp.write_bytes(func_image(arrays, None).to_bytes())
    return storage.returned(path)


def load_mesh(path: Any, **options: Any) -> Any:
    """A validated SurfaceMesh from any surface file the hub reads (detected; options go to the reader)."""
    from neurodatahub.core.conversion import read
    from neurodatahub.core.models import SurfaceMesh

    mesh = read(str(path), **options)
    if not isinstance(mesh, SurfaceMesh):
        raise UsageError(f"{path} holds {type(mesh).__name__}, not a surface mesh")
    return mesh


def load_gifti_func(path: Any) -> Any:
    """The data of a .func.gii as spectralbrain loads it: float64, (N,) for one array, else (N, T)."""
    import numpy as np

    from neurodatahub.surfaces.formats.gifti import load_image

    arrays = [np.asarray(array.data, dtype=np.float64) for array in load_image(str(path)).darrays]
    if not arrays:
        raise UsageError(f"{path} holds no data arrays")
    return arrays[0] if len(arrays) == 1 else np.column_stack(arrays)
