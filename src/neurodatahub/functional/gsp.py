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

SPACE = "MNI152NLin6Asym"  # GSP1000's space (docs/kinds/functional.md), the attribute lacuna writes
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
    subjects: str | tuple[int, int] | None = None,
    jobs: int | None = 1,
    scheduler: str | None = None,
) -> list[Path] | list[str]:
    """Convert GSP1000 runs to lacuna's HDF5 chunks `gsp1000_chunk_{idx:03d}.h5`; returns their paths.

    lacuna's parameters and file layout (see `chunks`); every path may be any fsspec URL (remote results
    are returned as URL strings). Differences, on purpose: existing chunk files are an error unless
    `overwrite` (lacuna skips them and returns them as if made from this input); a subject with two
    matching runs, NaN inside the mask, or a mask holding NaN is an error; nothing is written unless
    every chunk is complete. Raises FileNotFoundError (a MissingInputError) for a missing folder or mask,
    ValueError (NoRunsError, GridMismatchError) for a folder without runs or a run off the mask's grid.
    `on_subject` hears each subject id once its chunk is written.

    Chunks are written in parallel on the execution layer (`core.execution`: `jobs` local workers, or
    the Dask cluster at `scheduler`); the default, one job, writes them one after the other here. The
    bytes are the same either way. `subjects="START:STOP"` converts only those subjects (0-based, in
    path order; START a multiple of `subjects_per_chunk`), keeping the chunk numbers of the whole folder:
    array jobs (`--subjects 0:100`, `--subjects 100:200`...) together make what one run makes.
    """
    from neurodatahub.core import execution

    per_chunk = _count(subjects_per_chunk, "subjects_per_chunk")
    limit = _count(max_subjects, "max_subjects", optional=True)
    output = str(output_dir)
    gsp_dir, mask_path = str(gsp_dir), str(mask_path)
    if not storage.exists(gsp_dir, storage_options):
        raise runs.MissingInputError(f"GSP directory not found: {gsp_dir}")
    mask = runs.read_mask(mask_path, storage_options)
    urls = runs.find_runs(gsp_dir, storage_options, limit)
    start, stop = _subject_range(subjects, len(urls), per_chunk)
    first_chunk = start // per_chunk
    selected = urls[start:stop]
    groups = [selected[at : at + per_chunk] for at in range(0, len(selected), per_chunk)]
    targets = [
        storage.join(output, chunks.CHUNK_NAME.format(idx=first_chunk + idx)) for idx in range(len(groups))
    ]
    if not overwrite:
        for target in targets:
            if storage.exists(target, storage_options):
                raise ChunkExistsError(f"{target} exists; pass {words.option('overwrite')} to replace it")
    jobs_of = [
        ChunkJob(first_chunk + idx, group, target, storage.staged_url(target))
        for idx, (group, target) in enumerate(zip(groups, targets, strict=True))
    ]
    shared = {"gsp_dir": gsp_dir, "mask_url": mask_path, "storage_options": storage_options}
    with execution.session(jobs, scheduler, tasks=len(jobs_of)) as runner:
        # every header first, against the mask and the first subject's length: the usual failures stop
        # the conversion before any voxel is read
        reference = [urls[0]] if start else []
        headers = runner.map(
            runs.read_run, reference + selected, shared={"storage_options": storage_options}, group=True
        )
        execution.raise_first_failure(headers)
        found = [outcome.value for outcome in headers]
        for run in found:
            runs.check_run(run, mask, found[0].n_timepoints)
        by_url = {run.url: run for run in found}
        jobs_of = [replace_runs(job, [by_url[url] for url in job.runs]) for job in jobs_of]

        def done(outcome: execution.Outcome) -> None:
            if outcome.ok and on_subject is not None:
                for run in outcome.item.runs:
                    on_subject(run.subject_id)

        with _output_folder(output), _staged(jobs_of, storage_options):
            outcomes = runner.map(write_chunk_job, jobs_of, shared=shared, on_result=done, fail_fast=True)
            execution.raise_first_failure(outcomes)
            for job in jobs_of:  # every chunk is complete: all move into place
                storage.place(job.staged, job.target, storage_options)
    return [storage.returned(target) for target in targets]


@dataclass(frozen=True)
class ChunkJob:
    """One chunk file to write: its number, its subjects' runs, where it is staged and where it goes."""

    idx: int
    runs: list[Any]  # run URLs while planning, then runs.Run records (headers read once, by the client)
    target: str
    staged: str


def replace_runs(job: ChunkJob, found: list[runs.Run]) -> ChunkJob:
    return ChunkJob(job.idx, found, job.target, job.staged)


def write_chunk_job(job: ChunkJob, *, gsp_dir: str, mask_url: str, storage_options: Options = None) -> str:
    """Write one chunk to its staging place (a task of the execution layer); one subject in memory."""
    mask = runs.read_mask(mask_url, storage_options)
    folder = GspFolder(gsp_dir, mask, job.runs, storage_options)
    header = folder.header(description=DESCRIPTION.format(idx=job.idx))
    with storage.atomic_write(job.staged, overwrite=True, storage_options=storage_options) as path:
        chunks.write_chunk(path, header, folder.subjects(header), n_subjects=len(job.runs))
    return job.staged


@contextlib.contextmanager
def _staged(jobs: list[ChunkJob], storage_options: Options) -> Iterator[None]:
    """Staged chunks (and the temporaries of a writer killed while staging) go if anything fails."""
    try:
        yield
    except BaseException:
        for job in jobs:
            with contextlib.suppress(Exception):
                storage.discard(job.staged, storage_options)
                storage.remove_leftovers([job.staged])
        raise


def _subject_range(value: str | tuple[int, int] | None, total: int, per_chunk: int) -> tuple[int, int]:
    """START:STOP of the subjects to convert (STOP past the end means the end); all of them by default."""
    if value is None:
        return 0, total
    try:
        if isinstance(value, str):
            first, _, last = value.partition(":")
            start, stop = int(first or 0), int(last) if last else total
        else:
            start, stop = (int(part) for part in value)
    except (TypeError, ValueError):
        raise ArgumentError(f"subjects must be START:STOP (such as 0:100), got {value!r}") from None
    if start < 0 or stop <= start:
        raise ArgumentError(f"subjects {start}:{stop} is an empty range")
    if start % per_chunk:
        raise ArgumentError(
            f"subjects must start at a multiple of subjects_per_chunk ({per_chunk}) so that the chunk "
            f"numbers match a whole run's; {start} is not"
        )
    if start >= total:
        raise ArgumentError(f"subjects {start}:{stop}: the folder has {total} subjects")
    return start, min(stop, total)


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
