"""GSP1000 folders to lacuna's chunk files, one subject in memory at a time, all chunks or none.

Every run's header is checked before anything is written (grid against the mask, 4D, timepoints like
the first subject's), so the usual failures leave no output at all. Chunks are then written one after
the other into temporary files beside their targets (or locally, for object stores) and all are moved
into place only when the last one is complete: a run that turns out truncated or holding NaN halfway
through also leaves the output folder exactly as it was. A subject off the mask grid aborts the whole
conversion, as in lacuna, rather than being skipped: a normative connectome silently missing subjects
(and whose chunk numbering no longer matches the folder) is worse than an error naming the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurodatahub.core import storage, words
from neurodatahub.core.errors import UsageError
from neurodatahub.functional import chunks, runs
from neurodatahub.functional.errors import ArgumentError, ChunkExistsError

SPACE = "MNI152NLin6Asym"  # GSP1000's space (FORMATS.md 2.1), the attribute lacuna writes
SOURCE = "Harvard Dataverse doi:10.7910/DVN/ILXIKS"  # lacuna's `source` attribute
DESCRIPTION = "GSP1000 functional connectome chunk {idx}"  # lacuna's `description` attribute

Options = Mapping[str, Any] | None


@dataclass(frozen=True)
class GspFolder:
    """A GSP1000-style folder whose runs all lie on the mask's grid and share their length."""

    url: str
    mask: runs.Mask
    runs: list[runs.Run]
    storage_options: Options = None

    @property
    def n_timepoints(self) -> int:
        return self.runs[0].n_timepoints

    def header(
        self, *, space: str | None = SPACE, description: str | None = None, source: str | None = SOURCE
    ) -> Any:
        """The chunk model without subjects: the mask, its grid and what the data is."""
        from neurodatahub.core.models import FunctionalConnectomeChunk

        return FunctionalConnectomeChunk(
            timeseries=np.zeros((0, self.n_timepoints, len(self.mask.indices)), dtype=np.float32),
            mask_indices=self.mask.indices,
            mask_affine=self.mask.grid.affine,
            mask_shape=np.asarray(self.mask.grid.shape, dtype=np.int64),
            space=space,
            subject_ids=[],
            description=description,
            source=source,
        )

    def subjects(self, header: Any, selected: list[runs.Run] | None = None) -> Iterator[Any]:
        """One validated one-subject chunk per run, read only when asked for."""
        for run in self.runs if selected is None else selected:
            series = runs.masked_timeseries(run, self.mask, self.storage_options)[np.newaxis]
            yield chunks.with_subjects(header, series, [run.subject_id])
            del series  # not kept alive while the next subject is read


def open_folder(
    gsp_dir: str, mask_path: str, *, max_subjects: int | None = None, storage_options: Options = None
) -> GspFolder:
    """Find the runs, read the mask, and check every run's header against it (no voxel is read)."""
    gsp_dir, mask_path = str(gsp_dir), str(mask_path)
    if not storage.exists(gsp_dir, storage_options):
        raise runs.MissingInputError(f"GSP directory not found: {gsp_dir}")
    mask = runs.read_mask(mask_path, storage_options)
    found = [
        runs.read_run(url, storage_options) for url in runs.find_runs(gsp_dir, storage_options, max_subjects)
    ]
    for run in found:
        runs.check_run(run, mask, found[0].n_timepoints)
    return GspFolder(gsp_dir, mask, found, storage_options)


def _count(value: Any, name: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ArgumentError(f"{name} must be a whole number of at least 1, got {value!r}")
    return int(value)


def gsp1000_to_hdf5(
    gsp_dir: str | Path,
    mask_path: str | Path,
    output_dir: str | Path,
    subjects_per_chunk: int = 10,
    *,
    max_subjects: int | None = None,
    overwrite: bool = False,
    storage_options: Options = None,
    on_subject: Callable[[str], None] | None = None,
) -> list[Path] | list[str]:
    """Convert GSP1000 runs to lacuna's HDF5 chunks `gsp1000_chunk_{idx:03d}.h5`; returns their paths.

    lacuna's parameters and file layout (see `chunks`); every path may be any fsspec URL (remote results
    are returned as URL strings). Differences, on purpose: existing chunk files are an error unless
    `overwrite` (lacuna skips them and returns them as if made from this input); a subject with two
    matching runs, NaN inside the mask, or a mask holding NaN is an error; nothing is written unless
    every chunk is complete. Raises FileNotFoundError (a MissingInputError) for a missing folder or mask,
    ValueError (NoRunsError, GridMismatchError) for a folder without runs or a run off the mask's grid.
    `on_subject` hears each subject id as it is done.
    """
    per_chunk = _count(subjects_per_chunk, "subjects_per_chunk")
    limit = _count(max_subjects, "max_subjects", optional=True)
    output = str(output_dir)
    folder = open_folder(str(gsp_dir), str(mask_path), max_subjects=limit, storage_options=storage_options)
    groups = [folder.runs[start : start + per_chunk] for start in range(0, len(folder.runs), per_chunk)]
    targets = [storage.join(output, chunks.CHUNK_NAME.format(idx=idx)) for idx in range(len(groups))]
    if not overwrite:
        for target in targets:
            if storage.exists(target, storage_options):
                raise ChunkExistsError(f"{target} exists; pass {words.option('overwrite')} to replace it")
    # on success every chunk moves into place, else none does
    with _output_folder(output), contextlib.ExitStack() as staged:
        for idx, (group, target) in enumerate(zip(groups, targets, strict=True)):
            path = staged.enter_context(
                storage.atomic_write(target, overwrite=overwrite, storage_options=storage_options)
            )
            header = folder.header(description=DESCRIPTION.format(idx=idx))
            subjects = _announced(folder.subjects(header, group), on_subject)
            chunks.write_chunk(path, header, subjects, n_subjects=len(group))
    return [storage.returned(target) for target in targets]


def _announced(subjects: Iterator[Any], on_subject: Callable[[str], None] | None) -> Iterator[Any]:
    for subject in subjects:
        name = subject.subject_ids[0]
        yield subject
        del subject  # not kept alive while the next subject is read
        if on_subject is not None:
            on_subject(name)


@contextlib.contextmanager
def _output_folder(url: str) -> Iterator[None]:
    """A local output folder is created (with its parents, as lacuna does) and removed again on failure
    when it was made here and is still empty; object stores have no folders to make."""
    if not storage.is_local(url):
        yield
        return
    folder = storage.local_path(url)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{url} is a file, not a folder for chunk files")
    made = [parent for parent in (folder, *folder.parents) if not parent.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for created in made:  # innermost first
            with contextlib.suppress(OSError):
                created.rmdir()
        raise
