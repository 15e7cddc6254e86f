"""Connectivity matrices: checks and summary, the formats (labelled TSV, MRtrix CSV with its sidecar, NPZ,
HDF5, edge lists) and spectralbrain's `save_connectome` (`neurodatahub.connectivity.spectralbrain`)."""
