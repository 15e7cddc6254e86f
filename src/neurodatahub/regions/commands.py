"""`hub extract`: per-region statistics of scalar maps, for files or a whole QSIRecon tree."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer

from neurodatahub.core.terminal import JobsOption, SchedulerOption

Paths = list[str] | None


def register(app: typer.Typer) -> None:
    app.command(name="extract")(extract)


def extract(
    inputs: Annotated[
        Paths,
        typer.Argument(
            metavar="SCALAR DSEG | QSIRECON_DIR", help="A scalar map and a dseg, or a QSIRecon folder."
        ),
    ] = None,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="OUT", help="Output file (one scalar x one atlas) or folder (a batch)."
        ),
    ] = ...,
    scalar: Annotated[Paths, typer.Option("--scalar", metavar="SCALAR", help="Another scalar map.")] = None,
    dseg: Annotated[Paths, typer.Option("--dseg", metavar="DSEG", help="Another parcellation.")] = None,
    lut: Annotated[
        Paths,
        typer.Option("--lut", metavar="LUT", help="Lookup table, one per dseg in order (default: labels)."),
    ] = None,
    scalar_name: Annotated[
        Paths,
        typer.Option("--scalar-name", metavar="NAME", help="Name per scalar (default: its param entity)."),
    ] = None,
    tier: Annotated[
        str, typer.Option("--tier", help="Statistics: extended (qsiparc 0.1.2) or basic.")
    ] = "extended",
    zero_is_missing: Annotated[
        bool, typer.Option("--zero-is-missing", help="Treat voxels of exactly 0 as missing (NaN).")
    ] = False,
    folder_format: Annotated[
        str | None,
        typer.Option("--format", help="Batch output: diffmap (TSV + JSON sidecar, default) or parquet."),
    ] = None,
    participant_label: Annotated[
        str | None, typer.Option("--participant-label", help="QSIRecon: only this subject.")
    ] = None,
    session_label: Annotated[
        str | None, typer.Option("--session-label", help="QSIRecon: only this session.")
    ] = None,
    atlas: Annotated[
        Paths, typer.Option("--atlas", help="QSIRecon: only these atlases (seg entity).")
    ] = None,
    param: Annotated[
        Paths, typer.Option("--param", help="QSIRecon: only scalar maps matching these.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
    workers: JobsOption = None,
    scheduler: SchedulerOption = None,
    storage_option: Annotated[
        Paths, typer.Option("--storage-option", "-S", metavar="KEY=VALUE", help="fsspec storage option.")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", metavar="URL", help="S3-compatible endpoint.")
    ] = None,
) -> None:
    """Statistics of scalar maps in every region of parcellations (several scalars and atlases at once).

    Examples: `hub extract FA.nii.gz aal_dseg.nii.gz --lut aal.tsv --scalar-name FA -o fa_aal.tsv`;
    `hub extract /data/qsirecon -o /data/qsiparc` for every subject, atlas and scalar of a QSIRecon tree,
    in parallel on a local Dask cluster (--jobs N) or on a cluster (--scheduler ADDRESS).
    """
    from neurodatahub.core import storage
    from neurodatahub.core.errors import UsageError
    from neurodatahub.core.terminal import storage_options
    from neurodatahub.regions import batch

    options = storage_options(storage_option, endpoint_url)
    given = list(inputs or [])
    tree = len(given) == 1 and storage.is_dir(given[0], options)
    if tree:
        jobs = batch.jobs_from_qsirecon(
            given[0],
            participant_label=participant_label,
            session_label=session_label,
            atlases=atlas or (),
            scalars=param or (),
            storage_options=options,
        )
    elif len(given) in (0, 2):
        scalars = given[:1] + list(scalar or [])
        dsegs = given[1:] + list(dseg or [])
        jobs = batch.jobs_from_files(scalars, dsegs, lut or (), scalar_name or ())
    else:
        raise UsageError("give SCALAR DSEG, a QSIRecon folder, or --scalar/--dseg options")
    with _progress(len(jobs)) as done:
        written = batch.run_jobs(
            jobs,
            output,
            stat_tier=tier,
            zero_is_missing=zero_is_missing,
            folder_format=folder_format,
            as_folder=tree,
            overwrite=overwrite,
            storage_options=options,
            on_done=done,
            workers=workers,
            scheduler=scheduler,
        )
    where = f"under {output}" if len(written) > 1 else written[0]
    typer.echo(f"wrote {len(written)} region table{'s' if len(written) > 1 else ''}: {where}")


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[Any, str], None]]:
    """A progress bar over the jobs of a batch on a terminal; silent for one job or when piped."""
    import sys

    if total < 2 or not sys.stderr.isatty():
        yield lambda job, url: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("extracting", total=total)
        yield lambda job, url: bar.update(
            task, advance=1, description=f"{job.scalar_name} x {job.atlas_name}"
        )
