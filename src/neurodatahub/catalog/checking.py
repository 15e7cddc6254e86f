"""Is a local file what a catalog entry says it is? Checked before `hub catalog register` records it.

Files of a kind the hub reads (tractograms, connectivity matrices, functional chunks, masks) are read in
full through the format registry and must be of that kind; parcellation images are checked with their
NIfTI header and labels (integer labels, the declared template grid, the declared region count), since
no kind of the hub reads them as a model yet. Published hashes of a catalog entry must match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodatahub.core import kinds
from neurodatahub.core.errors import HubError, InputError, InvalidDataError, UsageError

IMAGE_SUFFIXES = ("dseg", "probseg", "mask", "T1w", "T2w")


def suffix_kind(suffix: str | None) -> str | None:
    return kinds.enum_annotation("FileSuffix", "kind").get(suffix or "")


def allowed_suffixes(entry_kind: str) -> list[str]:
    return kinds.enum_annotation("CatalogKind", "suffixes").get(entry_kind, "").split()


def detected(path: Path) -> Any | None:
    """The registry's format of a file, or None when no format recognises it."""
    from neurodatahub.core.registry import input_format

    try:
        return input_format(str(path))
    except HubError:
        return None


def infer_suffix(path: Path, entry_kind: str, file_format: str | None) -> str:
    """The suffix a file gets when the user names none: from the kind the registry reads it as, else from
    its format within the entry's kind (a NIfTI of an atlas is its parcellation, a table its lookup table)."""
    allowed = allowed_suffixes(entry_kind)
    spec = detected(path) if file_format != "nifti" else None
    if spec is not None:
        for suffix in allowed:
            if suffix_kind(suffix) == spec.kind:
                return suffix
    if file_format in ("nifti", "cifti", "gifti", "freesurfer-annot") and "dseg" in allowed:
        return "dseg"
    if file_format in ("nifti",) and "T1w" in allowed:
        return "T1w"
    if file_format in ("tsv", "txt", "csv", "json") and "lut" in allowed:
        return "lut"
    raise UsageError(
        f"{path}: cannot tell what this file is for a {entry_kind} entry; name it with --suffix"
        f" ({', '.join(allowed)})"
    )


def check_file(path: Path, entry: dict[str, Any], file: dict[str, Any]) -> dict[str, Any]:
    """Check one file against its entry; returns the facts found (n_regions, resolution...) to record."""
    suffix = file.get("suffix")
    allowed = allowed_suffixes(entry["kind"])
    if suffix not in allowed:
        raise InvalidDataError(
            f"{path}: a {entry['kind']} entry holds {', '.join(allowed)} files, not {suffix}"
        )
    expected_kind = suffix_kind(suffix)
    if suffix in ("dseg",) and file.get("format") == "nifti":
        return _check_parcellation(path, entry, file)
    if expected_kind is not None:
        return _check_through_registry(path, expected_kind)
    if suffix in IMAGE_SUFFIXES and file.get("format") == "nifti":
        return _check_grid(path, entry, file, _nifti(path))
    return {}


def _check_through_registry(path: Path, expected_kind: str) -> dict[str, Any]:
    from neurodatahub.core import conversion

    spec = detected(path)
    if spec is None:
        raise InvalidDataError(f"{path}: no format of the hub reads this file; expected {expected_kind} data")
    if spec.kind != expected_kind:
        raise InvalidDataError(f"{path}: reads as {spec.kind} ({spec.name}), not as {expected_kind} data")
    summary = conversion.summarize_file(spec, str(path))
    found = {}
    labels = summary.get("n_regions") or summary.get("n_labels")
    if isinstance(labels, int):
        found["n_regions"] = labels
    return found


def _nifti(path: Path) -> Any:
    import nibabel as nib

    try:
        return nib.load(str(path))
    except Exception as error:  # nibabel raises several types for files that are not NIfTI
        raise InvalidDataError(
            f"{path}: not a readable NIfTI image ({' '.join(str(error).split())})"
        ) from error


def _check_grid(path: Path, entry: dict[str, Any], file: dict[str, Any], image: Any) -> dict[str, Any]:
    """The image's grid against the declared space and resolution (template grids from core.imaging)."""
    import numpy as np

    from neurodatahub.core.imaging import spaces

    affine = np.asarray(image.affine)
    found: dict[str, Any] = {}
    resolution = spaces.detect_resolution(affine)
    declared = file.get("resolution")
    if declared is not None:
        spaces.resolve_resolution(str(path), {"the entry": float(declared)}, affine)
    elif resolution is not None:
        found["resolution"] = resolution
    space = file.get("space")
    on = spaces.detect_space(image.shape, affine)
    grids = [grid for grid in spaces.TEMPLATE_GRIDS if grid.space == space]
    if space is not None and on is not None and on != space:
        raise InvalidDataError(f"{path}: the entry says {space}, but the image is on the {on} grid")
    if space is not None and on is None and grids:
        known = ", ".join(f"{'x'.join(map(str, g.shape))} at {abs(g.zooms[0]):g} mm" for g in grids)
        raise InvalidDataError(
            f"{path}: the entry says {space}, but the image ({'x'.join(map(str, image.shape[:3]))},"
            f" {np.round(spaces.voxel_sizes(affine), 3).tolist()} mm) is on none of its grids ({known})"
        )
    if space is None and on is not None:
        found["space"] = on
    return found


def _check_parcellation(path: Path, entry: dict[str, Any], file: dict[str, Any]) -> dict[str, Any]:
    """A parcellation: a 3D image of integer labels on the declared grid, with the declared region count."""
    import numpy as np

    image = _nifti(path)
    if len(image.shape) != 3 and not (len(image.shape) == 4 and image.shape[3] == 1):
        raise InvalidDataError(
            f"{path}: a parcellation is one 3D image of labels; this one has shape {image.shape}"
        )
    found = _check_grid(path, entry, file, image)
    data = np.asanyarray(image.dataobj)
    if not np.issubdtype(data.dtype, np.integer) and not np.array_equal(data, np.round(data)):
        raise InvalidDataError(f"{path}: a parcellation holds integer labels; this image holds fractions")
    labels = np.unique(data[data != 0])
    if labels.size == 0:
        raise InvalidDataError(f"{path}: the parcellation has no labelled voxel")
    declared = file.get("n_regions")
    if declared is not None and int(declared) != labels.size:
        raise InvalidDataError(
            f"{path}: the entry says {declared} regions, the image has {labels.size} labels"
        )
    found["n_regions"] = int(labels.size)
    return found


def check_catalog_location(entry: dict[str, Any], location: Path) -> None:
    """A registration of a catalog entry's data (`hub catalog register gsp1000 /data/...`): the path must
    hold what the entry is, and any of its published files found there must match their hashes."""
    from neurodatahub.core.storage import checksum_of

    listed = {file["name"]: file for file in entry.get("files") or []}
    candidates = [location] if location.is_file() else sorted(p for p in location.rglob("*") if p.is_file())
    present = [path for path in candidates if path.name in listed]
    for path in present:
        checksum = listed[path.name].get("checksum") or {}
        published = checksum.get("algorithm", "unknown") != "unknown"
        if published and checksum_of(str(path), checksum["algorithm"]) != checksum["value"]:
            raise InvalidDataError(
                f"{path}: its {checksum['algorithm']} differs from the one {entry['name']} publishes"
            )
    if present:
        return
    wanted = [suffix_kind(suffix) for suffix in allowed_suffixes(entry["kind"])]
    readable = [
        spec for spec in (detected(path) for path in [location, *candidates][:50]) if spec is not None
    ]
    if any(spec.kind in wanted for spec in readable):
        return
    what = ", ".join(sorted({kind for kind in wanted if kind})) or "its published files"
    raise InvalidDataError(
        f"{location} is not {entry['name']}: none of its published files is there and nothing in it reads as"
        f" {what} data"
    )


def ensure_exists(paths: list[Path]) -> list[Path]:
    """Files to register (folders give their files), each existing."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"cannot register {path}: it does not exist")
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            files.append(path)
    return files
