"""Functional connectome formats: lacuna's chunk HDF5 and GSP1000 run folders (FunctionalConnectomeChunk)."""
