"""Imaging helpers several kinds share: NIfTI headers and images, template spaces and grids."""
