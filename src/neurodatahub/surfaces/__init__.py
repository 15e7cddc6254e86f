"""Surface meshes: SurfaceMesh's checks, its formats (GIfTI, FreeSurfer, PLY, OBJ, STL, VTK, VTP), the VTK
codecs the hub writes itself, spectralbrain's mesh functions (`neurodatahub.surfaces.spectralbrain`), the
FreeSurfer overlays and label files, surface parcellations (SurfaceLabels) and the meshio bridge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodatahub.core.lazy import lazy_exports

if TYPE_CHECKING:
    from neurodatahub.surfaces.bridges import from_meshio as from_meshio, to_meshio as to_meshio
    from neurodatahub.surfaces.spectralbrain import (
        load_gifti_func as load_gifti_func,
        load_mesh as load_mesh,
        save_gifti_func as save_gifti_func,
        save_mesh as save_mesh,
    )

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "from_meshio": "bridges",
        "load_gifti_func": "spectralbrain",
        "load_mesh": "spectralbrain",
        "save_gifti_func": "spectralbrain",
        "save_mesh": "spectralbrain",
        "to_meshio": "bridges",
    },
)
