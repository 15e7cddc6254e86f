"""The processing step of GSP1000 downloads: tarballs of functional runs become lacuna's HDF5 chunks
(`gsp1000_to_hdf5`, which needs the brain mask of the runs' grid). Existing chunks are kept unless forced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodatahub.core import scratch
from neurodatahub.core.processing import Outcome, processor
from neurodatahub.functional.gsp import gsp1000_to_hdf5

CHUNK_FOLDER = "hdf5"
LACUNA_SUBJECTS = 1000  # lacuna sizes chunks as max(1, 1000 // batches)


@processor("gsp1000_to_hdf5")
def _functional_chunks(
    folder: Path,
    entry: dict[str, Any],
    *,
    force: bool,
    batches: int | None,
    mask_path: str | Path | None,
) -> Outcome:
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
    with scratch.folder("neurodatahub-runs") as staging:
        # archives extract into folders named after them: gather every sub-*/func folder under one root
        for subject in sorted({run.parent.parent for run in folder.rglob("sub-*/func/*.nii.gz")}):
            link = Path(staging) / subject.name
            if not link.exists():
                link.symlink_to(subject, target_is_directory=True)
        made = gsp1000_to_hdf5(staging, mask_path, output, per_chunk, overwrite=force)
    return Outcome([Path(path) for path in made])
