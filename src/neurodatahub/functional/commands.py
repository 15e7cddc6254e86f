"""`hub functional`: functional connectome chunks (lacuna's GSP1000 HDF5 layout)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Annotated

import typer

from neurodatahub.core.terminal import JobsOption, SchedulerOption

functional_app = typer.Typer(
    name="functional",
    help="Functional connectome chunks (lacuna's GSP1000 HDF5 layout): build them from resting-state runs.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(functional_app)


@functional_app.command("gsp1000-to-hdf5")
def gsp1000_to_hdf5(
    gsp_dir: Annotated[
        str, typer.Argument(metavar="GSP_DIR", help="Folder of sub-*/func/*bld001_rest_* runs.")
    ],
    mask: Annotated[
        str, typer.Argument(metavar="MASK", help="Brain mask NIfTI (2 mm MNI152NLin6Asym for GSP1000).")
    ],
    output_dir: Annotated[
        str, typer.Argument(metavar="OUT_DIR", help="Folder for gsp1000_chunk_NNN.h5 files.")
    ],
    subjects_per_chunk: Annotated[
        int, typer.Option("--subjects-per-chunk", metavar="N", help="Subjects in each chunk file.")
    ] = 10,
    max_subjects: Annotated[
        int | None, typer.Option("--max-subjects", metavar="N", help="Only the first N subjects (by path).")
    ] = None,
    subjects: Annotated[
        str | None,
        typer.Option(
            "--subjects",
            metavar="START:STOP",
            help="Only these subjects (0-based, by path; START a multiple of --subjects-per-chunk), with the"
            " chunk numbers of the whole folder: one range per array job.",
        ),
    ] = None,
    jobs: JobsOption = None,
    scheduler: SchedulerOption = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing chunk files.")] = False,
    storage_option: Annotated[
        list[str] | None,
        typer.Option(
            "--storage-option", "-S", metavar="KEY=VALUE", help="fsspec storage option (repeatable)."
        ),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", metavar="URL", help="S3-compatible endpoint (else AWS_ENDPOINT_URL)."),
    ] = None,
) -> None:
    """Convert GSP1000 runs to lacuna's HDF5 chunks, one subject in memory at a time, chunks in parallel.

    Every run is checked against the mask's grid before anything is written, and the chunk files appear
    together only when all are complete. Chunks are written on a local Dask cluster (--jobs N) or on a
    cluster (--scheduler ADDRESS). Example: `hub functional gsp1000-to-hdf5 /data/GSP1000
    MNI152_T1_2mm_Brain_Mask.nii.gz /data/gsp1000_chunks --subjects-per-chunk 10 --subjects 0:100`.
    """
    from neurodatahub.core.terminal import storage_options
    from neurodatahub.functional import gsp1000_to_hdf5 as convert
    from neurodatahub.functional.runs import find_runs

    options = storage_options(storage_option, endpoint_url)
    total = 0
    if sys.stderr.isatty():  # the count for the progress bar (a listing; the conversion lists again)
        total = len(find_runs(gsp_dir, options, max_subjects))
    with _progress(total) as done:
        written = convert(
            gsp_dir,
            mask,
            output_dir,
            subjects_per_chunk,
            max_subjects=max_subjects,
            subjects=subjects,
            overwrite=overwrite,
            storage_options=options,
            on_subject=done,
            jobs=jobs,
            scheduler=scheduler,
        )
    typer.echo(f"wrote {len(written)} chunk file{'s' if len(written) != 1 else ''} in {output_dir}")


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar over the subjects on a terminal; silent when piped."""
    if total < 2 or not sys.stderr.isatty():
        yield lambda _: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("subjects", total=total)

        def advance(subject: str) -> None:
            bar.update(task, advance=1, description=subject)

        yield advance
