"""After a verified download: the conversion lacuna's fetchers run, chosen by the entry's `processing`.

dTOR985 arrives as one .trk and is used as .tck (`trk_to_tck`); HCP1065 arrives as a zip of tracts that are
merged, cranial nerves excluded, into one .tck (`merge_trk_to_tck`); GSP1000 arrives as tarballs of
functional runs that become HDF5 chunks (`gsp1000_to_hdf5`, which needs the brain mask of the runs'
grid). Outputs are written atomically beside the download; one that exists is kept unless forced, so a
second fetch verifies instead of converting again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FetchError

DESCRIPTIONS = {
    "gsp1000_to_hdf5": "conversion of the functional NIfTI runs to HDF5 chunks",
    "trk_to_tck": "conversion of the .trk tractogram to .tck",
    "merge_trk_to_tck": "merging the .trk tracts (without cranial nerves) into one .tck",
}
TRACT_SUFFIXES = (".trk", ".trk.gz")
CHUNK_FOLDER = "hdf5"
LACUNA_SUBJECTS = 1000  # lacuna sizes chunks as max(1, 1000 // batches)


@dataclass
class Outcome:
    """What processing made; `skipped` says why nothing was made (the download is kept as it is)."""

    outputs: list[Path] = field(default_factory=list)
    skipped: str | None = None

    @property
    def processed(self) -> bool:
        return self.skipped is None


def describe(step: str | None) -> str | None:
    return DESCRIPTIONS.get(str(step)) if step else None


def run(
    step: str,
    folder: Path,
    entry: dict[str, Any],
    *,
    force: bool = False,
    batches: int | None = None,
    mask_path: str | Path | None = None,
) -> Outcome:
    """Run the entry's processing step on its download folder."""
    steps: dict[str, Callable[..., Outcome]] = {
        "trk_to_tck": _trk_to_tck,
        "merge_trk_to_tck": _merge_tracts,
        "gsp1000_to_hdf5": _functional_chunks,
    }
    if step not in steps:
        raise FetchError(f"{entry['name']}: unknown processing step {step!r}")
    return steps[step](folder, entry, force=force, batches=batches, mask_path=mask_path)


def _tracts(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.rglob("*") if path.is_file() and path.name.lower().endswith(TRACT_SUFFIXES)
    )


def _trk_to_tck(folder: Path, entry: dict[str, Any], *, force: bool, **_: Any) -> Outcome:
    from ..tractograms import trk_to_tck

    tracts = _tracts(folder)
    if len(tracts) != 1:
        raise FetchError(
            f"{entry['name']}: expected one .trk file in {folder} to convert, found {len(tracts)}"
        )
    source = tracts[0]
    target = source.with_name(source.name.removesuffix(".gz").removesuffix(".trk") + ".tck")
    if not target.exists() or force:
        trk_to_tck(source, target, overwrite=force)
    return Outcome([target])


def _merge_tracts(folder: Path, entry: dict[str, Any], *, force: bool, **_: Any) -> Outcome:
    from ..tractograms import merge_trk_to_tck

    target = folder / f"{entry['name']}.tck"
    if not target.exists() or force:
        merge_trk_to_tck(folder, target, overwrite=force)
    return Outcome([target])


def _functional_chunks(
    folder: Path,
    entry: dict[str, Any],
    *,
    force: bool,
    batches: int | None,
    mask_path: str | Path | None,
) -> Outcome:
    from ..functional import gsp1000_to_hdf5

    if mask_path is None:
        return Outcome(
            skipped=f"{entry['name']} needs the brain mask of its runs' grid to make HDF5 chunks; pass "
            f"mask_path (hub fetch --mask) or run `hub functional gsp1000-to-hdf5 {folder} MASK OUT` later"
        )
    output = folder / CHUNK_FOLDER
    existing = sorted(output.glob("*.h5")) if output.is_dir() else []
    if existing and not force:
        return Outcome(existing)
    per_chunk = max(1, LACUNA_SUBJECTS // (batches or entry.get("default_batches") or 10))
    output.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="neurodatahub-runs-") as staging:
        # archives extract into folders named after them: gather every sub-*/func folder under one root
        for subject in sorted({run.parent.parent for run in folder.rglob("sub-*/func/*.nii.gz")}):
            link = Path(staging) / subject.name
            if not link.exists():
                link.symlink_to(subject, target_is_directory=True)
        made = gsp1000_to_hdf5(staging, mask_path, output, per_chunk, overwrite=force)
    return Outcome([Path(path) for path in made])
