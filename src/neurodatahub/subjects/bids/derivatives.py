"""SubjectData to a BIDS 1.11 derivatives dataset that the official validator passes with zero errors.

Layout, under `sub-<label>[/ses-<label>]/anat/`, entities in BIDS order:

- the mask: `sub-X[_ses-Y]_space-S_res-R_label-L_mask.nii.gz` + JSON (Type, Resolution, Description);
- voxel maps: `..._space-S_res-R[_atlas-A]_desc-D_map.nii.gz` + JSON (Space, Resolution, Description,
  Namespace, Key);
- parcel tables: `..._space-S[_atlas-A]_desc-D_parcelstats.tsv` (columns region, value) + JSON
  (Description, Parcellation, AggregationMethod);
- connectivity: `..._space-S[_atlas-A]_desc-D_connectivity.tsv` (labelled rows and columns) + JSON
  (MatrixType, RegionLabels, Shape);
- scalars and plain values: `sub-X[_ses-Y]_stats.json`; provenance: `sub-X[_ses-Y]_desc-provenance.json`.

`desc` joins the namespace and the result key into one label; the sidecar keeps both verbatim.
BIDS 1.11 has no name for voxel-wise result maps, region tables, matrices, scalar results or provenance,
so those patterns are listed in `.bidsignore` (the README written with the dataset says so). Surfaces
and tractograms have no BIDS derivative form and are reported as skipped, never dropped silently.

The tree is built in a temporary folder. A new dataset is then placed in one move (or one upload); into
an existing one each file is placed atomically after checking, before anything is written, that no file
would be replaced unless `overwrite` is given. The shared files (dataset_description.json, README.md)
of an existing dataset are kept; `.bidsignore` gains the lines it lacks.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from neurodatahub import __version__
from neurodatahub.core import scratch, storage, words
from neurodatahub.core.errors import OutputError, UsageError
from neurodatahub.subjects import parcel_tables
from neurodatahub.subjects.bids.entities import build_name, label, resolution_label
from neurodatahub.subjects.bids.tree import walk

BIDS_VERSION = "1.11.1"
DATATYPE = "anat"
GENERATED_BY = "neurodatahub"
IGNORED_PATTERNS = (
    "*_map.nii.gz",
    "*_map.json",
    "*_parcelstats.tsv",
    "*_parcelstats.json",
    "*_connectivity.tsv",
    "*_connectivity.json",
    "*_stats.json",
    "*_desc-provenance.json",
)
SHARED_FILES = ("dataset_description.json", "README.md")
README = """# {name}

Derivatives written by neurodatahub {version}: lesion masks and analysis results per subject, under
`sub-<label>[/ses-<label>]/anat/`.

BIDS 1.11 names the lesion masks (`_mask.nii.gz`). It has no name yet for voxel-wise result maps
(`_map.nii.gz`), per-region tables (`_parcelstats.tsv`), connectivity matrices (`_connectivity.tsv`),
scalar results (`_stats.json`) or provenance (`_desc-provenance.json`): those are listed in `.bidsignore`,
so that the BIDS validator skips them. Each has a JSON sidecar (or is JSON) saying what it holds.
"""


@dataclass
class DerivativesExport:
    """What an export wrote: the dataset root, each subject's folder, every file, and what it skipped."""

    root: str
    subject_dirs: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # relative to the root
    skipped: list[str] = field(default_factory=list)


def _json(path: Path, content: Any) -> None:
    path.write_text(json.dumps(_finite(content), indent=2) + "\n", encoding="utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def result_entities(namespace: str, key: str) -> dict[str, str]:
    """atlas from an `atlas-` part of the key; desc from the namespace and every other part."""
    entities: dict[str, str] = {}
    words = [namespace]
    for part in key.split("_"):
        name, sep, value = part.partition("-")
        if sep and name == "atlas" and value:
            entities["atlas"] = label(value)
        else:
            words.append(value if sep else part)
    return {"desc": label(" ".join(words)), **entities}


class _Subject:
    """Writes one subject's files into the staging tree."""

    def __init__(self, subject: Any, staging: Path) -> None:
        meta = subject.subject_metadata
        self.subject, self.meta = subject, meta
        self.base = {"sub": meta.subject_id.removeprefix("sub-")}
        folder = meta.subject_id
        if meta.session_id:
            self.base["ses"] = meta.session_id.removeprefix("ses-")
            folder += f"/{meta.session_id}"
        self.folder = f"{folder}/{DATATYPE}"
        self.dir = staging / self.folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.written: list[str] = []

    def path(self, entities: Mapping[str, str | None], suffix: str | None, extension: str) -> Path:
        name = build_name({**self.base, **entities}, suffix, extension)
        if f"{self.folder}/{name}" in self.written:
            raise UsageError(f"two results of {self.meta.subject_id} map to the same BIDS name {name}")
        self.written.append(f"{self.folder}/{name}")
        return self.dir / name

    def mask(self) -> None:
        from neurodatahub.core.imaging.nifti import write_image

        mask, meta = self.subject.mask, self.meta
        entities = dict(meta.entities or {})
        names = {
            "space": meta.space,
            "res": resolution_label(meta.resolution) if meta.resolution is not None else None,
            "label": label(str(entities.get("label") or "lesion")),
        }
        write_image(np.asarray(mask.data).astype(np.uint8), mask.affine, self.path(names, "mask", ".nii.gz"))
        sidecar = {
            "Type": "Lesion",
            "Description": "Binary lesion mask",
            "Resolution": _resolution_text(meta.resolution, mask.affine),
            "Space": meta.space,
        }
        _json(self.path(names, "mask", ".json"), sidecar)

    def voxel_map(self, result: Any) -> None:
        from neurodatahub.core.imaging.nifti import write_image
        from neurodatahub.core.imaging.spaces import detect_resolution

        image = result.voxel_map
        space = image.space or self.meta.space
        resolution = image.resolution or detect_resolution(image.affine)
        names = {
            "space": space,
            "res": resolution_label(resolution) if resolution else None,
            **result_entities(result.namespace, result.key),
        }
        write_image(np.asarray(image.data), image.affine, self.path(names, "map", ".nii.gz"))
        sidecar = {
            "Description": image.description or f"{result.namespace} {result.key}",
            "Space": space,
            "Resolution": resolution,
            "Name": image.name,
            "Namespace": result.namespace,
            "Key": result.key,
            "Metadata": image.metadata,
        }
        _json(self.path(names, "map", ".json"), _compact(sidecar))

    def parcels(self, result: Any) -> None:
        """The parcel table and its sidecar as the `parcels` format writes them (and reads them back)."""
        parcels = result.parcel_data
        names = {"space": self.meta.space, **result_entities(result.namespace, result.key)}
        if parcels.atlas:
            names["atlas"] = label(parcels.atlas)
        self.path(names, "parcelstats", ".tsv").write_text(
            parcel_tables.table_text(parcels), encoding="utf-8"
        )
        described = parcel_tables.sidecar(parcels)
        sidecar = {
            "Description": parcels.description or f"{result.namespace} {result.key}",
            "Parcellation": parcels.atlas or names.get("atlas"),
            "AggregationMethod": parcels.aggregation_method,
            "Name": parcels.name,
            "Namespace": result.namespace,
            "Key": result.key,
            "Metadata": described.get("Metadata"),
        }
        _json(self.path(names, "parcelstats", ".json"), _compact(sidecar))

    def connectivity(self, result: Any) -> None:
        import pandas as pd

        conn = result.connectivity
        names = {"space": self.meta.space, **result_entities(result.namespace, result.key)}
        if conn.atlas:
            names["atlas"] = label(conn.atlas)
        labels = [str(region) for region in conn.region_labels]
        table = pd.DataFrame(np.asarray(conn.matrix), index=labels, columns=labels)
        table.to_csv(self.path(names, "connectivity", ".tsv"), sep="\t", index_label="region", na_rep="n/a")
        sidecar = {
            "Description": conn.description or f"{result.namespace} {result.key}",
            "MatrixType": conn.measure,
            "RegionLabels": labels,
            "Shape": list(np.asarray(conn.matrix).shape),
            "Symmetric": conn.symmetric,
            "Atlas": conn.atlas or names.get("atlas"),
            "Namespace": result.namespace,
            "Key": result.key,
            "Metadata": conn.metadata,
        }
        _json(self.path(names, "connectivity", ".json"), _compact(sidecar))

    def scalars(self, results: Sequence[Any]) -> None:
        from neurodatahub.subjects.export import result_json

        if not results:
            return
        content: dict[str, dict[str, Any]] = {}
        for result in results:
            content.setdefault(result.namespace, {})[result.key] = result_json(result)
        _json(self.path({}, "stats", ".json"), content)

    def provenance(self, options: Mapping[str, Any]) -> None:
        from neurodatahub.core.models import ActivityRecord
        from neurodatahub.subjects.export import provenance_records

        record = ActivityRecord(
            function="neurodatahub.bids.export_bids_derivatives",
            software="neurodatahub",
            version=__version__,
            parameters=dict(options),
            timestamp=datetime.now(UTC),
        )
        records = provenance_records([*(self.subject.provenance or ()), record])
        _json(self.path({"desc": "provenance"}, None, ".json"), records)


def _resolution_text(resolution: float | None, affine: Any) -> str:
    """BIDS's free-text Resolution; an anisotropic grid starts with a word, so that no reader takes its
    first size for an isotropic resolution."""
    from neurodatahub.core.imaging.spaces import voxel_sizes

    if resolution is not None:
        return f"{resolution:g} mm isotropic voxels"
    return "anisotropic voxels, " + " x ".join(f"{size:.4g}" for size in voxel_sizes(affine)) + " mm"


def _compact(sidecar: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in sidecar.items() if value is not None}


def _description(name: str) -> dict[str, Any]:
    return {
        "Name": name,
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [
            {
                "Name": GENERATED_BY,
                "Version": __version__,
                "Description": "Lesion masks and analysis results exported from SubjectData",
            }
        ],
    }


def _write_subject(subject: Any, staging: Path, parts: Mapping[str, bool], report: DerivativesExport) -> str:
    writer = _Subject(subject, staging)
    if parts["export_lesion_mask"]:
        writer.mask()
    scalars = []
    for result in subject.results or ():
        if result.voxel_map is not None and parts["export_voxelmaps"]:
            writer.voxel_map(result)
        elif result.parcel_data is not None and parts["export_parcel_data"]:
            writer.parcels(result)
        elif result.connectivity is not None and parts["export_connectivity"]:
            writer.connectivity(result)
        elif (result.scalar_metric is not None or result.value is not None) and parts["export_scalars"]:
            scalars.append(result)
        elif result.surface_mesh is not None or result.tractogram is not None:
            kind = "SurfaceMesh" if result.surface_mesh is not None else "Tractogram"
            report.skipped.append(
                f"{subject.subject_metadata.subject_id} {result.namespace}/{result.key} ({kind}):"
                " BIDS 1.11 has no derivative form for it"
            )
    writer.scalars(scalars)
    if parts["export_provenance"]:
        writer.provenance(parts)
    return writer.folder


def export_bids_derivatives(
    subjects: Any,
    url: str,
    *,
    export_lesion_mask: bool = True,
    export_voxelmaps: bool = True,
    export_parcel_data: bool = True,
    export_connectivity: bool = True,
    export_scalars: bool = True,
    export_provenance: bool = True,
    overwrite: bool = False,
    name: str = "neurodatahub derivatives",
    storage_options: Mapping[str, Any] | None = None,
) -> DerivativesExport:
    """Write one SubjectData (or several) into the derivatives dataset at `url` (created if missing)."""
    group = list(subjects) if isinstance(subjects, Sequence) else [subjects]
    if not group:
        raise UsageError("no subjects to export")
    parts = {
        "export_lesion_mask": export_lesion_mask,
        "export_voxelmaps": export_voxelmaps,
        "export_parcel_data": export_parcel_data,
        "export_connectivity": export_connectivity,
        "export_scalars": export_scalars,
        "export_provenance": export_provenance,
    }
    report = DerivativesExport(root=url)
    with scratch.folder("neurodatahub-bids") as tmp:
        staging = Path(tmp) / "dataset"
        staging.mkdir()
        _json(staging / "dataset_description.json", _description(name))
        (staging / "README.md").write_text(README.format(name=name, version=__version__), encoding="utf-8")
        (staging / ".bidsignore").write_text("\n".join(IGNORED_PATTERNS) + "\n", encoding="utf-8")
        folders = [_write_subject(subject, staging, parts, report) for subject in group]
        if len(set(folders)) != len(folders):
            raise UsageError("two of the subjects have the same subject and session labels")
        report.files = walk(str(staging)).files
        _place(staging, url, overwrite, storage_options)
    report.subject_dirs = [storage.join(url, folder) for folder in folders]
    return report


def _place(staging: Path, url: str, overwrite: bool, storage_options: Mapping[str, Any] | None) -> None:
    if not storage.exists(url, storage_options):
        storage.make_parents(url)  # a new dataset goes where it is asked, derivatives/ included
        with storage.atomic_write(url, directory=True, storage_options=storage_options) as target:
            shutil.copytree(staging, target, dirs_exist_ok=True)
        return
    if not storage.is_dir(url, storage_options):
        raise OutputError(f"{url} exists and is not a folder")
    existing = set(walk(url, storage_options=storage_options).files)
    new = [path for path in walk(str(staging)).files if path not in SHARED_FILES]
    clashes = [path for path in new if path in existing]
    if clashes and not overwrite:
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise OutputError(f"{storage.join(url, clashes[0])} exists{more}; pass {words.option('overwrite')}")
    keep = [path for path in SHARED_FILES if path not in existing]
    for relative in [*new, *keep]:
        _put(staging / relative, storage.join(url, relative), storage_options)
    _merge_bidsignore(staging / ".bidsignore", storage.join(url, ".bidsignore"), storage_options)


def _put(source: Path, url: str, storage_options: Mapping[str, Any] | None) -> None:
    if storage.is_local(url):
        storage.local_path(url).parent.mkdir(parents=True, exist_ok=True)
    with storage.atomic_write(url, overwrite=True, storage_options=storage_options) as tmp:
        shutil.copyfile(source, tmp)


def _merge_bidsignore(source: Path, url: str, storage_options: Mapping[str, Any] | None) -> None:
    lines = []
    if storage.exists(url, storage_options):
        with storage.open_read(url, storage_options) as handle:
            lines = handle.read().decode("utf-8").splitlines()
    missing = [line for line in source.read_text(encoding="utf-8").splitlines() if line not in lines]
    if missing:
        source.write_text("\n".join([*lines, *missing]) + "\n", encoding="utf-8")
        _put(source, url, storage_options)
