"""lacuna's I/O functions under the same names, parameters and defaults, on the hub's SubjectData.

Every path may be any fsspec URL (pass `storage_options=` for credentials). Differences, on purpose:
tables expand containers into real values (one column per region, see `subjects.tables`) where lacuna
writes their repr; JSON serialises every container where lacuna raises TypeError; files are written
atomically; errors are the hub's (BidsError for BIDS layouts, UsageError where lacuna raises ValueError
for a request that cannot be met, OutputError where it raises FileExistsError). Like lacuna, the result
exporters replace an existing file and `export_bids_derivatives` refuses to unless `overwrite=True`.
Parquet and batch JSON exporters are additions with the same parameters. lacuna's converters and
fetchers live with their kinds (`functional`, `tractograms`, `catalog`); `neurodatahub.compat.lacuna`
gathers all of them under lacuna's names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from neurodatahub.core import storage
from neurodatahub.core.errors import UsageError
from neurodatahub.core.models import SubjectData as SchemaSubjectData
from neurodatahub.subjects.bids import BidsError
from neurodatahub.subjects.bids.derivatives import export_bids_derivatives as _export_derivatives
from neurodatahub.subjects.bids.validation import validate_bids_derivatives
from neurodatahub.subjects.export import export_provenance, export_results
from neurodatahub.subjects.loading import from_nifti, load_bids_dataset

__all__ = [
    "BidsError",
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
    "from_nifti",
    "load_bids_dataset",
    "save_nifti",
    "validate_bids_derivatives",
]

Options = Mapping[str, Any] | None


class SubjectData(SchemaSubjectData):
    """lacuna's SubjectData: the schema's class with the constructors lacuna documents on its class.

    The schema's class is generated (`generated/`, never edited) and knows nothing of files; lacuna's
    users write `SubjectData.from_nifti("lesion.nii.gz")`. This subclass adds that constructor and
    nothing else: same fields, same invariants (they are looked up by class name), read and written
    by every format as the schema's SubjectData, and `isinstance(x, neurodatahub.models.SubjectData)`
    holds for its instances.
    """

    @classmethod
    def from_nifti(
        cls,
        lesion_path: Any,
        *,
        metadata: Mapping[str, Any] | None = None,
        space: str | None = None,
        resolution: float | None = None,
        storage_options: Options = None,
    ) -> SubjectData:
        """A subject from a binary, non-empty lesion mask NIfTI on any URL (lacuna's constructor)."""
        subject = from_nifti(
            str(lesion_path),
            space=space,
            resolution=resolution,
            metadata=metadata,
            storage_options=storage_options,
        )
        # validated as it was built: the same fields under this class need no second validation
        return cls.model_construct(**{name: getattr(subject, name) for name in subject.model_fields_set})


def _table(
    subjects: Any,
    output_path: Any,
    format: str,
    analysis_name: str | None,
    include_metadata: bool,
    options: Options,
) -> Path | str:
    url = str(output_path)
    export_results(
        subjects,
        url,
        format=format,
        analysis_name=analysis_name,
        include_metadata=include_metadata,
        overwrite=True,
        storage_options=options,
    )
    return storage.returned(url)


def export_results_to_csv(
    mask_data: Any,
    output_path: Any,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    *,
    storage_options: Options = None,
) -> Path | str:
    return _table(mask_data, output_path, "csv", analysis_name, include_metadata, storage_options)


def export_results_to_tsv(
    mask_data: Any,
    output_path: Any,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    *,
    storage_options: Options = None,
) -> Path | str:
    return _table(mask_data, output_path, "tsv", analysis_name, include_metadata, storage_options)


def export_results_to_parquet(
    mask_data: Any,
    output_path: Any,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    *,
    storage_options: Options = None,
) -> Path | str:
    return _table(mask_data, output_path, "parquet", analysis_name, include_metadata, storage_options)


def export_results_to_json(
    mask_data: Any,
    output_path: Any,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    include_provenance: bool = False,
    indent: int = 2,
    *,
    storage_options: Options = None,
) -> Path | str:
    url = str(output_path)
    export_results(
        mask_data,
        url,
        format="json",
        analysis_name=analysis_name,
        include_metadata=include_metadata,
        include_provenance=include_provenance,
        indent=indent,
        overwrite=True,
        storage_options=storage_options,
    )
    return storage.returned(url)


def _batch(mask_data_list: Sequence[Any]) -> list[Any]:
    if not mask_data_list:
        raise UsageError("the list of subjects is empty")
    return list(mask_data_list)


def batch_export_to_csv(
    mask_data_list: Sequence[Any],
    output_path: Any,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    *,
    storage_options: Options = None,
) -> Path | str:
    return _table(
        _batch(mask_data_list), output_path, "csv", analysis_name, include_metadata, storage_options
    )


def batch_export_to_tsv(
    mask_data_list: Sequence[Any],
    output_path: Any,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    *,
    storage_options: Options = None,
) -> Path | str:
    return _table(
        _batch(mask_data_list), output_path, "tsv", analysis_name, include_metadata, storage_options
    )


def batch_export_to_parquet(
    mask_data_list: Sequence[Any],
    output_path: Any,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    *,
    storage_options: Options = None,
) -> Path | str:
    return _table(
        _batch(mask_data_list), output_path, "parquet", analysis_name, include_metadata, storage_options
    )


def batch_export_to_json(
    mask_data_list: Sequence[Any],
    output_path: Any,
    analysis_name: str | None = None,
    include_metadata: bool = True,
    include_provenance: bool = False,
    indent: int = 2,
    *,
    storage_options: Options = None,
) -> Path | str:
    """A JSON list with one lacuna document per subject."""
    return export_results_to_json(
        _batch(mask_data_list),
        output_path,
        analysis_name,
        include_metadata,
        include_provenance,
        indent,
        storage_options=storage_options,
    )


def export_provenance_to_json(
    mask_data: Any, output_path: Any, indent: int = 2, *, storage_options: Options = None
) -> Path | str:
    url = str(output_path)
    export_provenance(mask_data, url, indent=indent, overwrite=True, storage_options=storage_options)
    return storage.returned(url)


def export_bids_derivatives(
    subject_data: Any,
    output_dir: Any,
    export_lesion_mask: bool = True,
    export_voxelmaps: bool = True,
    export_parcel_data: bool = True,
    export_connectivity: bool = True,
    export_scalars: bool = True,
    export_provenance: bool = True,
    overwrite: bool = False,
    *,
    storage_options: Options = None,
) -> Path | str:
    """Returns the subject's folder in the derivatives dataset, as lacuna does."""
    report = _export_derivatives(
        subject_data,
        str(output_dir),
        export_lesion_mask=export_lesion_mask,
        export_voxelmaps=export_voxelmaps,
        export_parcel_data=export_parcel_data,
        export_connectivity=export_connectivity,
        export_scalars=export_scalars,
        export_provenance=export_provenance,
        overwrite=overwrite,
        storage_options=storage_options,
    )
    return storage.returned(report.subject_dirs[0])


def save_nifti(
    mask_data: Any, output_path: Any, save_anatomical: bool = False, *, storage_options: Options = None
) -> None:
    """The subject's mask as NIfTI; the hub's SubjectData holds no anatomical image, so there is none
    to save alongside (lacuna saves one only "if present")."""
    from neurodatahub.core.conversion import write

    url = str(output_path)
    if not url.lower().endswith((".nii", ".nii.gz")):
        raise UsageError(f"{url}: a NIfTI path ends with .nii or .nii.gz")
    write(mask_data.mask, url, format="nifti", overwrite=True, storage_options=storage_options)
