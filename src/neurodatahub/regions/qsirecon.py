"""Finding dsegs, lookup tables and scalar maps in a QSIRecon derivatives tree, on any storage URL.

Layout (docs/kinds/regions.md): dsegs `sub-*/ses-*/dwi/*_seg-<atlas>_dseg.nii.gz` (a dseg without a seg
entity is skipped), tables `atlases/atlas-<atlas>/*_dseg.tsv`, scalar maps
`derivatives/qsirecon-<software>/sub-*/ses-*/dwi/*_dwimap.nii.gz`. Entity values are kept whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from neurodatahub.core import storage
from neurodatahub.regions.entities import parse_entities, with_prefix


@dataclass(frozen=True)
class AtlasDsegFile:
    """A subject-space dseg and the lookup table found for its atlas (None: labels from the image)."""

    path: str
    entities: dict[str, str]
    atlas_name: str
    lut_path: str | None

    @property
    def subject(self) -> str:
        return self.entities.get("sub", "")

    @property
    def session(self) -> str:
        return self.entities.get("ses", "")


@dataclass(frozen=True)
class ScalarMap:
    """A scalar map with its entities; `software` is the qsirecon-<name> workflow it comes from."""

    path: str
    entities: dict[str, str] = field(default_factory=dict)

    @property
    def software(self) -> str:
        for part in PurePosixPath(self.path).parts:
            if part.startswith("qsirecon-"):
                return part[len("qsirecon-") :].replace("_", "").replace("-", "")
        return ""

    @property
    def scalar_name(self) -> str:
        """qsiparc's rule: the param entity, else desc, else the last part of the name."""
        stem = PurePosixPath(self.path).name.split(".")[0]
        return self.entities.get("param") or self.entities.get("desc") or stem.split("_")[-1]


def _glob(root: str, pattern: str, storage_options: Mapping[str, Any] | None) -> list[str]:
    if storage.is_local(root):
        base = storage.local_path(root)
        return sorted(str(path) for path in base.glob(pattern))
    fs, path = storage.filesystem(root, storage_options)
    protocol = storage.protocol_of(root)
    return sorted(f"{protocol}://{found}" for found in fs.glob(f"{path.rstrip('/')}/{pattern}"))


def find_atlas_lut(
    qsirecon_dir: str, atlas_name: str, storage_options: Mapping[str, Any] | None = None
) -> str | None:
    """The first `*_dseg.tsv` under atlases/atlas-<name>/, or None."""
    found = _glob(str(qsirecon_dir), f"atlases/atlas-{atlas_name}/*_dseg.tsv", storage_options)
    return found[0] if found else None


def discover_dseg_files(
    qsirecon_dir: str,
    participant_label: str | None = None,
    session_label: str | None = None,
    atlas: str | Sequence[str] | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> list[AtlasDsegFile]:
    """Every dseg with a seg entity, optionally for one subject, one session and some atlases."""
    root = str(qsirecon_dir)
    subject = with_prefix(participant_label, "sub") if participant_label else "sub-*"
    session = with_prefix(session_label, "ses") if session_label else "ses-*"
    wanted = [atlas] if isinstance(atlas, str) else list(atlas or [])
    found, tables = [], {}
    for path in _glob(root, f"{subject}/{session}/dwi/*_dseg.nii.gz", storage_options):
        entities = parse_entities(path)
        name = entities.get("seg", "")
        if not name or (wanted and name not in wanted):
            continue
        if name not in tables:
            tables[name] = find_atlas_lut(root, name, storage_options)
        found.append(AtlasDsegFile(path=path, entities=entities, atlas_name=name, lut_path=tables[name]))
    return found


def load_lut_for_dseg(dseg_file: AtlasDsegFile, storage_options: Mapping[str, Any] | None = None) -> Any:
    """The atlas table found beside the tree, else the dseg's own labels (qsiparc's fall-back)."""
    from neurodatahub.regions.lut import load_lut

    return load_lut(
        dseg_file.lut_path, dseg_file.atlas_name, dseg=dseg_file.path, storage_options=storage_options
    )


def discover_scalar_maps(
    qsirecon_dir: str,
    subject: str,
    session: str,
    scalars: Sequence[str] | None = None,
    *,
    space: str | None = "ACPC",
    storage_options: Mapping[str, Any] | None = None,
) -> list[ScalarMap]:
    """Scalar maps of one subject and session from every qsirecon-* workflow (space ACPC, like qsiparc).

    `scalars` keeps maps whose param (or desc) entity or name contains one of them, ignoring case.
    """
    folder = f"{with_prefix(subject, 'sub')}/{with_prefix(session, 'ses')}/dwi"
    pattern = f"derivatives/qsirecon-*/{folder}/*_dwimap.nii.gz"
    maps = []
    for path in _glob(str(qsirecon_dir), pattern, storage_options):
        name = PurePosixPath(path).name
        entities = parse_entities(name)
        if "_dseg" in name or (space is not None and entities.get("space") != space):
            continue
        if scalars:
            param = (entities.get("param") or entities.get("desc") or "").lower()
            if not any(s.lower() in param or s.lower() in name.lower() for s in scalars):
                continue
        maps.append(ScalarMap(path=path, entities=entities))
    return maps
