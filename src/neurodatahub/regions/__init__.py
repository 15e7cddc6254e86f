"""Per-region statistics of scalar maps (qsiparc's ExtractionResult): lookup tables, extraction in one
pass over the voxels, QSIRecon discovery, merging and qsiparc's diffmap output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodatahub.core.lazy import lazy_exports

if TYPE_CHECKING:
    from neurodatahub.regions.bridges import (
        from_dataframe as from_dataframe,
        to_dataframe as to_dataframe,
    )
    from neurodatahub.regions.diffmap import (
        diffmap_tsv_path as diffmap_tsv_path,
        write_diffmap as write_diffmap,
    )
    from neurodatahub.regions.entities import (
        parse_entities as parse_entities,
    )
    from neurodatahub.regions.extract import (
        extract_scalar_map as extract_scalar_map,
        merge_extraction_results as merge_extraction_results,
    )
    from neurodatahub.regions.lut import (
        infer_hemisphere as infer_hemisphere,
        load_lut as load_lut,
        lut_from_dseg as lut_from_dseg,
    )
    from neurodatahub.regions.qsirecon import (
        AtlasDsegFile as AtlasDsegFile,
        ScalarMap as ScalarMap,
        discover_dseg_files as discover_dseg_files,
        discover_scalar_maps as discover_scalar_maps,
        find_atlas_lut as find_atlas_lut,
        load_lut_for_dseg as load_lut_for_dseg,
    )
    from neurodatahub.regions.tables import (
        result_frame as result_frame,
    )

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "AtlasDsegFile": "qsirecon",
        "ScalarMap": "qsirecon",
        "diffmap_tsv_path": "diffmap",
        "from_dataframe": "bridges",
        "to_dataframe": "bridges",
        "discover_dseg_files": "qsirecon",
        "discover_scalar_maps": "qsirecon",
        "extract_scalar_map": "extract",
        "find_atlas_lut": "qsirecon",
        "infer_hemisphere": "lut",
        "load_lut": "lut",
        "load_lut_for_dseg": "qsirecon",
        "lut_from_dseg": "lut",
        "merge_extraction_results": "extract",
        "parse_entities": "entities",
        "result_frame": "tables",
        "write_diffmap": "diffmap",
    },
)
