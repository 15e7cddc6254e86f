"""Formats of lesion masks and subject results: BIDS mask NIfTI files and BIDS derivatives folders."""
