"""lacuna's names, on the hub's models and on any storage URL: each kind's part gathered in one place.

Subjects, their exports and BIDS derivatives come from `neurodatahub.subjects.lacuna`; the GSP1000
converter from `functional`, the tractogram converters from `tractograms`, the fetchers from `catalog`.
"""

from neurodatahub.catalog.fetching import (
    FetchConfig,
    FetchProgress,
    FetchResult,
    fetch_connectome,
    fetch_dtor985,
    fetch_gsp1000,
    fetch_hcp1065,
    list_fetchable_connectomes,
)
from neurodatahub.catalog.registry import get_connectome_path, get_data_dir, get_fetch_status
from neurodatahub.functional import gsp1000_to_hdf5
from neurodatahub.subjects.lacuna import (
    BidsError,
    SubjectData,
    batch_export_to_csv,
    batch_export_to_json,
    batch_export_to_parquet,
    batch_export_to_tsv,
    export_bids_derivatives,
    export_provenance_to_json,
    export_results_to_csv,
    export_results_to_json,
    export_results_to_parquet,
    export_results_to_tsv,
    from_nifti,
    load_bids_dataset,
    save_nifti,
    validate_bids_derivatives,
)
from neurodatahub.tractograms import merge_trk_to_tck, trk_to_tck

__all__ = [
    "BidsError",
    "FetchConfig",
    "FetchProgress",
    "FetchResult",
    "SubjectData",
    "batch_export_to_csv",
    "batch_export_to_json",
    "batch_export_to_parquet",
    "batch_export_to_tsv",
    "export_bids_derivatives",
    "export_provenance_to_json",
    "export_results_to_csv",
    "export_results_to_json",
    "export_results_to_parquet",
    "export_results_to_tsv",
    "fetch_connectome",
    "fetch_dtor985",
    "fetch_gsp1000",
    "fetch_hcp1065",
    "from_nifti",
    "get_connectome_path",
    "get_data_dir",
    "get_fetch_status",
    "gsp1000_to_hdf5",
    "list_fetchable_connectomes",
    "load_bids_dataset",
    "merge_trk_to_tck",
    "save_nifti",
    "trk_to_tck",
    "validate_bids_derivatives",
]
