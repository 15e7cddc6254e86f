"""The processing steps of tractogram downloads: dTOR985's one .trk becomes a .tck, HCP1065's tracts are
merged (cranial nerves excluded) into one .tck. Outputs are written atomically beside the download; one
that exists is kept unless forced, so a second fetch verifies instead of converting again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodatahub.core.processing import Outcome, SourceContentError, processor
from neurodatahub.tractograms.conversion import merge_trk_to_tck, trk_to_tck

TRACT_SUFFIXES = (".trk", ".trk.gz")


def _tracts(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.rglob("*") if path.is_file() and path.name.lower().endswith(TRACT_SUFFIXES)
    )


@processor("trk_to_tck")
def _trk_to_tck(folder: Path, entry: dict[str, Any], *, force: bool, **_: Any) -> Outcome:
    tracts = _tracts(folder)
    if len(tracts) != 1:
        raise SourceContentError(
            f"{entry['name']}: expected one .trk file in {folder} to convert, found {len(tracts)}"
        )
    source = tracts[0]
    target = source.with_name(source.name.removesuffix(".gz").removesuffix(".trk") + ".tck")
    if not target.exists() or force:
        trk_to_tck(source, target, overwrite=force)
    return Outcome([target])


@processor("merge_trk_to_tck")
def _merge_tracts(folder: Path, entry: dict[str, Any], *, force: bool, **_: Any) -> Outcome:
    target = folder / f"{entry['name']}.tck"
    if not target.exists() or force:
        merge_trk_to_tck(folder, target, overwrite=force)
    return Outcome([target])
