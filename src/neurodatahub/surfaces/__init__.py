"""Surface meshes: SurfaceMesh's checks, its formats (GIfTI, FreeSurfer, PLY, OBJ, STL, VTK, VTP), the VTK
codecs the hub writes itself, and spectralbrain's mesh functions (`neurodatahub.surfaces.spectralbrain`)."""

from neurodatahub.surfaces.spectralbrain import load_gifti_func, load_mesh, save_gifti_func, save_mesh

__all__ = ["load_gifti_func", "load_mesh", "save_gifti_func", "save_mesh"]
