"""Surface meshes (SurfaceMesh): GIfTI, FreeSurfer, PLY, OBJ, STL, legacy VTK and VTP."""
