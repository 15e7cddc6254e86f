"""Connectivity matrices (ConnectivityMatrix): labelled TSV, MRtrix CSV + sidecar, NPZ, HDF5, edge lists.

Every module here reads into and writes from the one pivot model; `common` holds what they share.
"""
