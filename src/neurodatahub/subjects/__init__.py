"""Lesion masks and subject results (lacuna's SubjectData): loading, result tables and provenance export.

`loading` builds validated SubjectData from NIfTI masks and BIDS datasets on any URL; `tables` turns
results into rows with containers expanded into values; `export` writes those rows, JSON documents and
provenance through the storage layer. BIDS derivatives live in `neurodatahub.subjects.bids`.
"""
