"""Spectral decompositions (SpectralDecomposition): spectralbrain's HDF5 cache and its NPZ archives."""
