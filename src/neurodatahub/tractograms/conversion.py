"""lacuna's `trk_to_tck` and `merge_trk_to_tck`, streamed in bounded memory, on any storage URL.

Same parameters, defaults, return values and error types as lacuna (FileNotFoundError, ValueError,
RuntimeError), raised as hub errors that are also those built-in types, so code written for lacuna
catches them and the CLI reports them in one line with the hub's exit codes. Differences, on purpose:
the TRK is never loaded whole (lacuna's nibabel load holds a 2 GB dTOR985 in memory); outputs are written
atomically and read back to check streamline and point counts and coordinate sums; `.trk.gz` inputs are
accepted by `trk_to_tck` too; an existing output is refused unless `overwrite=True`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurodatahub.core import storage, words
from neurodatahub.core.errors import HubError, InputError, OutputError, UsageError

TRK_SUFFIXES = (".trk", ".trk.gz")
# HCP1065 names its cranial-nerve tracts CNII_L ... CNVIII_R (HCP842 adds CNX); anchored at the file name,
# so a folder or tract that merely contains "cn" is not excluded
CRANIAL_NERVES = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
DEFAULT_EXCLUDE_PATTERNS = (
    "cranial_nerve",
    *(f"/CN{numeral}_" for numeral in CRANIAL_NERVES),
    *(f"/CN{numeral}." for numeral in CRANIAL_NERVES),
)


class TractogramNotFoundError(InputError, FileNotFoundError):
    """The input file or folder does not exist (lacuna raises FileNotFoundError)."""


class TractogramRequestError(UsageError, ValueError):
    """The input or output is not of the kind the function converts (lacuna raises ValueError)."""


class NoTractogramsError(InputError, ValueError):
    """The folder holds no .trk/.trk.gz file left after exclusions (lacuna raises ValueError)."""


class OutputExistsError(OutputError, FileExistsError):
    """The output exists and overwrite is False."""


class TractogramConversionError(HubError, RuntimeError):
    """Reading, writing or checking failed (lacuna raises RuntimeError); the exit code is the cause's."""

    def __init__(self, message: str, cause: HubError) -> None:
        super().__init__(message)
        self.exit_code = cause.exit_code


def _is_trk(url: str) -> bool:
    return url.lower().endswith(TRK_SUFFIXES)


def _check_output(url: str, overwrite: bool, storage_options: Mapping[str, Any] | None) -> None:
    if not url.lower().endswith(".tck"):
        raise TractogramRequestError(f"the output must be a .tck file, got {url}")
    if not overwrite and storage.exists(url, storage_options):
        raise OutputExistsError(f"{url} exists; pass {words.option('overwrite')} to replace it")


def trk_to_tck(
    trk_path: str | Path,
    output_path: str | Path,
    *,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> Path | str:
    """Convert a TrackVis .trk (or .trk.gz) tractogram to an MRtrix3 .tck file; returns the output path.

    Streamlines are streamed chunk by chunk (memory does not grow with the file); per-point scalars and
    per-streamline properties are dropped, since TCK has no place for them; the TRK grid is kept in
    header keys of the TCK.
    """
    from neurodatahub.core.conversion import convert

    source, target = str(trk_path), str(output_path)
    if not _is_trk(source):
        raise TractogramRequestError(f"the input must be a .trk or .trk.gz file, got {source}")
    if not storage.exists(source, storage_options):
        raise TractogramNotFoundError(f"{source}: no such file")
    _check_output(target, overwrite, storage_options)
    try:
        convert(
            source,
            target,
            from_format="trk",
            to_format="tck",
            overwrite=overwrite,
            storage_options=storage_options,
            checksum=False,
        )
    except HubError as error:
        raise TractogramConversionError(f"converting {source} to {target} failed: {error}", error) from error
    return storage.returned(target)


def find_trk_files(
    source_dir: str,
    exclude_patterns: Sequence[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Every .trk/.trk.gz below a folder (recursive, sorted), without paths that contain a pattern
    (case-insensitive; None means DEFAULT_EXCLUDE_PATTERNS, the cranial nerves)."""
    patterns = DEFAULT_EXCLUDE_PATTERNS if exclude_patterns is None else tuple(exclude_patterns)
    lowered = [str(pattern).lower() for pattern in patterns if str(pattern)]
    if storage.is_local(source_dir):
        root = storage.local_path(source_dir)
        found = [path.as_posix() for path in root.rglob("*") if path.is_file()]
    else:
        fs, path = storage.filesystem(source_dir, storage_options)
        protocol = storage.protocol_of(source_dir)
        found = [f"{protocol}://{name}" for name in fs.find(path)]
    kept = [url for url in found if _is_trk(url) and not any(p in "/" + url.lower() for p in lowered)]
    return sorted(kept)


def merge_trk_to_tck(
    source_dir: str | Path,
    output_path: str | Path,
    *,
    exclude_patterns: list[str] | None = None,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    jobs: int | None = 1,
    scheduler: str | None = None,
) -> Path | str:
    """Merge every .trk/.trk.gz below a folder (recursively) into one .tck; returns the output path.

    Files whose path contains one of `exclude_patterns` (case-insensitive) are skipped; None means the
    cranial-nerve tracts of HCP1065 (DEFAULT_EXCLUDE_PATTERNS), an empty list keeps every file. Files are
    merged in sorted path order, one chunk at a time. Every header is read before anything is written, so
    a damaged file fails the merge without output. The TCK keeps the grid when all files share one.
    With `jobs` > 1 (or a Dask `scheduler`) bundles are read in parallel on the execution layer and
    written in order as they arrive, a few bundles ahead: the same bytes as the one-job run, which
    streams them here chunk by chunk.
    """
    source, target = str(source_dir), str(output_path)
    if not storage.exists(source, storage_options):
        raise TractogramNotFoundError(f"{source}: no such folder")
    if not storage.is_dir(source, storage_options):
        raise TractogramRequestError(f"{source} is a file; merge_trk_to_tck takes a folder of .trk files")
    _check_output(target, overwrite, storage_options)
    files = find_trk_files(source, exclude_patterns, storage_options)
    if not files:
        raise NoTractogramsError(f"{source}: no .trk or .trk.gz file (after exclusions) to merge")
    try:
        _merge(files, target, overwrite, storage_options, jobs, scheduler)
    except HubError as error:
        raise TractogramConversionError(
            f"merging {len(files)} files into {target} failed: {error}", error
        ) from error
    return storage.returned(target)


def _merge(
    files: list[str],
    target: str,
    overwrite: bool,
    storage_options: Mapping[str, Any] | None,
    jobs: int | None,
    scheduler: str | None,
) -> None:
    from neurodatahub.core import execution, streaming
    from neurodatahub.core.conversion import write_stream_checked
    from neurodatahub.core.registry import get_format
    from neurodatahub.tractograms import common

    tck = get_format("tck", kind=common.KIND)
    shared = {"storage_options": storage_options}
    with execution.session(jobs, scheduler, tasks=len(files)) as runner:
        headers = runner.map(bundle_grid, files, shared=shared, group=True)
        execution.raise_first_failure(headers)  # a damaged file stops the merge before any output
        grids = [outcome.value for outcome in headers]
        shared_grid = grids[0] if all(_same_grid(grids[0], other) for other in grids[1:]) else None
        header = common.header(reference=shared_grid)

        def chunks() -> Iterator[Any]:
            if runner.where.inline:  # one bundle streamed at a time: memory stays at a chunk
                for url in files:
                    yield from _bundle_chunks(url, storage_options)
                return
            for outcome in runner.imap(bundle_chunks, files, shared=shared):
                outcome.raise_failure()
                yield from outcome.value

        write_stream_checked(
            tck, streaming.Stream(header, chunks()), target, overwrite, False, storage_options, {}
        )


def bundle_grid(url: str, *, storage_options: Mapping[str, Any] | None = None) -> Any:
    """A bundle's grid from its header (a task of the execution layer)."""
    from neurodatahub.core.conversion import open_stream

    with open_stream(_trk(), url, storage_options) as stream:
        return stream.header.reference


def bundle_chunks(url: str, *, storage_options: Mapping[str, Any] | None = None) -> list[Any]:
    """A whole bundle's chunks, ready for TCK (a task of the execution layer)."""
    return list(_bundle_chunks(url, storage_options))


def _bundle_chunks(url: str, storage_options: Mapping[str, Any] | None) -> Iterator[Any]:
    from neurodatahub.core.conversion import open_stream

    with open_stream(_trk(), url, storage_options) as stream:
        for piece in stream.chunks:  # TCK keeps no scalars or properties: none to carry
            yield piece.model_copy(update={"data_per_point": None, "data_per_streamline": None})


def _trk() -> Any:
    from neurodatahub.core.registry import get_format
    from neurodatahub.tractograms import common

    return get_format("trk", kind=common.KIND)


def _same_grid(one: Any, other: Any) -> bool:
    if one is None or other is None:
        return one is other
    return bool(np.array_equal(one.shape, other.shape) and np.allclose(one.affine, other.affine, atol=1e-4))
