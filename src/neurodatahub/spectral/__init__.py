"""Spectral decompositions of a surface: checks and summary, spectralbrain's HDF5 cache and NPZ, and its
cache functions (`neurodatahub.spectral.spectralbrain`)."""
