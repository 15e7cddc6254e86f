"""SubjectData from lesion masks on any URL: one file (`from_nifti`), a BIDS dataset, or a mixed list.

The space and the resolution come from, in order: the argument, the metadata, the BIDS entities of the
file name, its JSON sidecar, the affine. Every source that says something must agree (the resolution
within 0.1 mm of the affine's voxel sizes), so a mislabelled mask fails here, not in an analysis.
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from neurodatahub import __version__
from neurodatahub.core import storage
from neurodatahub.core.errors import InputError, InvalidDataError
from neurodatahub.core.imaging.bids import read_sidecar
from neurodatahub.core.imaging.nifti import NIFTI_EXTENSIONS, Image, is_nifti_name, read_image
from neurodatahub.core.imaging.spaces import SpaceUnknownError, grid_voxel_sizes, settle_grid
from neurodatahub.subjects.bids import BidsError
from neurodatahub.subjects.bids.entities import split_name
from neurodatahub.subjects.bids.tree import walk

DEFAULT_SUBJECT = "sub-unknown"
MASK_SUFFIX = "_mask.nii.gz"
Metadata = Mapping[str, Any]


def _invalid(url: str, error: ValidationError) -> InvalidDataError:
    from neurodatahub.core.conversion import problems_of

    problems = problems_of(error)
    first = problems[0]
    where = "" if first["location"] == "(document)" else f"{first['location']}: "
    return InvalidDataError(f"{url}: {where}{first['message']}", problems)


def _path_entity(url: str, key: str) -> str | None:
    """A sub-/ses- label from the file name, else from the folders above it."""
    for part in reversed(url.rstrip("/").split("/")):
        value = split_name(part)[0].get(key)
        if value:
            return value
    return None


def _identity(url: str, metadata: Metadata) -> tuple[str, str | None, dict[str, str]]:
    entities = dict(split_name(url.rstrip("/").rsplit("/", 1)[-1])[0])
    subject = metadata.get("subject_id") or (
        f"sub-{label}" if (label := _path_entity(url, "sub")) else DEFAULT_SUBJECT
    )
    session = metadata.get("session_id") or (f"ses-{label}" if (label := _path_entity(url, "ses")) else None)
    others = {key: value for key, value in entities.items() if key not in ("sub", "ses")}
    others.update(metadata.get("entities") or {})
    return subject, session, others


def lesion_mask(
    url: str,
    image: Image,
    *,
    space: str | None = None,
    resolution: float | None = None,
    metadata: Metadata | None = None,
    sidecar: Mapping[str, Any] | None = None,
    require_space: bool = True,
) -> Any:
    """A validated LesionMask with its space and resolution settled from every source."""
    from neurodatahub.core.models import LesionMask

    metadata, sidecar = metadata or {}, sidecar or {}
    data = image.data
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InvalidDataError(f"{url}: a lesion mask must be 3D, got shape {list(data.shape)}")
    settled_space, settled_resolution = settle_grid(
        url,
        data.shape,
        image.affine,
        space=space,
        resolution=resolution,
        metadata=metadata,
        sidecar=sidecar,
        require_space=require_space,
    )
    try:
        return LesionMask(
            data=data.astype("float32", copy=False),
            affine=image.affine,
            space=settled_space,
            resolution=settled_resolution,
            voxel_sizes=grid_voxel_sizes(image.affine),
        )
    except ValidationError as error:
        raise _invalid(url, error) from error


def from_nifti(
    url: str,
    *,
    space: str | None = None,
    resolution: float | None = None,
    metadata: Metadata | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """SubjectData from a binary, non-empty lesion mask NIfTI on any URL (lacuna's `from_nifti`)."""
    from neurodatahub.core.models import ActivityRecord, FileRecord, SubjectData, SubjectMetadata

    metadata = dict(metadata or {})
    image = read_image(url, storage_options)
    mask = lesion_mask(
        url,
        image,
        space=space,
        resolution=resolution,
        metadata=metadata,
        sidecar=read_sidecar(url, storage_options),
    )
    subject, session, entities = _identity(url, metadata)
    record = ActivityRecord(
        function="neurodatahub.subjects.from_nifti",
        software="neurodatahub",
        version=__version__,
        parameters={"space": space, "resolution": resolution},
        inputs=[
            FileRecord(
                url=url,
                format="nifti",
                size_bytes=image.size_bytes,
                checksum=image.checksum,
                checksum_algorithm="xxh3_128",
            )
        ],
        timestamp=datetime.now(UTC),
    )
    try:
        return SubjectData(
            mask=mask,
            subject_metadata=SubjectMetadata(
                subject_id=subject,
                session_id=session,
                space=mask.space,
                resolution=mask.resolution,
                voxel_sizes=mask.voxel_sizes,
                entities=entities or None,
                source=url,
            ),
            provenance=[record],
        )
    except ValidationError as error:
        raise _invalid(url, error) from error


def find_masks(
    root: str,
    *,
    pattern: str = "*",
    suffix: str = MASK_SUFFIX,
    recursive: bool = True,
    subjects: Sequence[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """URLs of the files under `root` whose name ends with `suffix` and matches `pattern`, sorted."""
    if not storage.exists(root, storage_options):
        raise InputError(f"{root}: no such file or directory")
    wanted = {subject.removeprefix("sub-") for subject in subjects} if subjects is not None else None
    found = []
    for relative in walk(root, recursive=recursive, storage_options=storage_options).files:
        name = relative.rsplit("/", 1)[-1]
        if not (name.endswith(suffix) and fnmatch.fnmatchcase(name, pattern)):
            continue
        if wanted is not None and split_name(name)[0].get("sub") not in wanted:
            continue
        found.append(storage.join(root, relative))
    return found


def load_bids_dataset(
    bids_root: str,
    pattern: str = "*",
    suffix: str = MASK_SUFFIX,
    recursive: bool = True,
    space: str | None = None,
    resolution: float | None = None,
    subjects: Sequence[str] | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
    on_file: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every matching mask as SubjectData, keyed by file name without the suffix (lacuna's parameters).

    Like lacuna, a file whose space cannot be told is skipped with a warning; any other problem stops
    the load, since a half-loaded group analysis is worse than none.
    """
    urls = find_masks(
        bids_root,
        pattern=pattern,
        suffix=suffix,
        recursive=recursive,
        subjects=subjects,
        storage_options=storage_options,
    )
    if not urls:
        raise BidsError(f"{bids_root}: no file matches {pattern!r} with suffix {suffix!r}")
    loaded: dict[str, Any] = {}
    for url in urls:
        if on_file is not None:
            on_file(url)
        try:
            subject = from_nifti(url, space=space, resolution=resolution, storage_options=storage_options)
        except SpaceUnknownError as error:
            warnings.warn(f"skipped: {error}", stacklevel=2)
            continue
        loaded[url.rsplit("/", 1)[-1].removesuffix(suffix)] = subject
    return loaded


def load_subjects(
    sources: Sequence[str],
    *,
    space: str | None = None,
    resolution: float | None = None,
    pattern: str = "*",
    suffix: str = MASK_SUFFIX,
    storage_options: Mapping[str, Any] | None = None,
    on_file: Callable[[str], None] | None = None,
) -> list[Any]:
    """SubjectData from masks, SubjectData documents (JSON/YAML) and BIDS folders, in the order given."""
    from neurodatahub.core.conversion import read

    subjects: list[Any] = []
    for source in sources:
        if storage.is_dir(source, storage_options):
            found = load_bids_dataset(
                source,
                pattern,
                suffix,
                space=space,
                resolution=resolution,
                storage_options=storage_options,
                on_file=on_file,
            )
            subjects.extend(found.values())
            continue
        if on_file is not None:
            on_file(source)
        if is_nifti_name(source):
            subjects.append(
                from_nifti(source, space=space, resolution=resolution, storage_options=storage_options)
            )
            continue
        model = read(source, storage_options=storage_options)
        if type(model).__name__ != "SubjectData":
            raise InputError(
                f"{source} holds {type(model).__name__}, not SubjectData (or a mask: "
                f"{' or '.join(NIFTI_EXTENSIONS)})"
            )
        subjects.append(model)
    return subjects
