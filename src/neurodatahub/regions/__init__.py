"""Per-region statistics of scalar maps (qsiparc's ExtractionResult): lookup tables, extraction in one
pass over the voxels, QSIRecon discovery, merging and qsiparc's diffmap output."""

from __future__ import annotations

from neurodatahub.regions.diffmap import diffmap_tsv_path, write_diffmap
from neurodatahub.regions.entities import parse_entities
from neurodatahub.regions.extract import extract_scalar_map, merge_extraction_results
from neurodatahub.regions.lut import infer_hemisphere, load_lut, lut_from_dseg
from neurodatahub.regions.qsirecon import (
    AtlasDsegFile,
    ScalarMap,
    discover_dseg_files,
    discover_scalar_maps,
    find_atlas_lut,
    load_lut_for_dseg,
)
from neurodatahub.regions.tables import result_frame

__all__ = [
    "AtlasDsegFile",
    "ScalarMap",
    "diffmap_tsv_path",
    "discover_dseg_files",
    "discover_scalar_maps",
    "extract_scalar_map",
    "find_atlas_lut",
    "infer_hemisphere",
    "load_lut",
    "load_lut_for_dseg",
    "lut_from_dseg",
    "merge_extraction_results",
    "parse_entities",
    "result_frame",
    "write_diffmap",
]
