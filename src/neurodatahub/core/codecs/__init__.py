"""Codecs several kinds share: HDF5, Parquet/Arrow, NPZ, gzip heads, JSON metadata."""
