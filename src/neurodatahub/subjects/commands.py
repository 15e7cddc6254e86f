"""`hub subject`: lesion-mask subjects to result tables, provenance and BIDS derivatives.

Sources are mask NIfTI files, SubjectData documents (JSON/YAML) or BIDS folders of masks, on any URL.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer

from neurodatahub.core.terminal import EndpointOption, StorageOption

subject_app = typer.Typer(
    name="subject",
    help="Lesion-mask subjects (lacuna's SubjectData): export results, provenance, BIDS derivatives.",
    no_args_is_help=True,
)

Sources = Annotated[
    list[str],
    typer.Argument(
        metavar="SRC...", help="Mask NIfTI files, SubjectData documents or BIDS folders of masks."
    ),
]
Overwrite = Annotated[bool, typer.Option(help="Replace existing output files.")]
Space = Annotated[
    str | None, typer.Option(metavar="SPACE", help="Coordinate space of the masks (else from names, grid).")
]
Resolution = Annotated[float | None, typer.Option(metavar="MM", help="Voxel size of the masks in mm.")]
Pattern = Annotated[str, typer.Option(metavar="GLOB", help="In BIDS folders: file names to load.")]
Suffix = Annotated[str, typer.Option(metavar="SUFFIX", help="In BIDS folders: suffix of the mask files.")]


def register(app: typer.Typer) -> None:
    app.add_typer(subject_app)


@contextlib.contextmanager
def _progress(total: int, what: str) -> Iterator[Callable[[str], None]]:
    """A progress bar over a batch on a terminal; silent for one item or when piped."""
    if total < 2 or not sys.stderr.isatty():
        yield lambda _: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=total)

        def advance(name: str) -> None:
            bar.update(task, advance=1, description=f"{what} {name.rsplit('/', 1)[-1]}")

        yield advance


def _load(
    sources: list[str],
    space: str | None,
    resolution: float | None,
    pattern: str,
    suffix: str,
    options: dict[str, Any] | None,
) -> list[Any]:
    from neurodatahub.core.storage import is_dir
    from neurodatahub.subjects.loading import find_masks, load_subjects

    total = sum(
        len(find_masks(source, pattern=pattern, suffix=suffix, storage_options=options))
        if is_dir(source, options)
        else 1
        for source in sources
    )
    with _progress(total, "loading") as advance:
        return load_subjects(
            sources,
            space=space,
            resolution=resolution,
            pattern=pattern,
            suffix=suffix,
            storage_options=options,
            on_file=advance,
        )


@subject_app.command("export")
def export(
    sources: Sources,
    output: Annotated[str, typer.Option("--output", "-o", metavar="OUT", help="Output file or URL.")],
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="FORMAT", help="csv, tsv, json or parquet (default: by name)."),
    ] = None,
    analysis: Annotated[
        str | None, typer.Option(metavar="NAMESPACE", help="Only the results of this analysis.")
    ] = None,
    metadata: Annotated[bool, typer.Option(help="Include subject_id, session_id, coordinate_space.")] = True,
    long: Annotated[bool, typer.Option("--long", help="One row per value instead of per subject.")] = False,
    provenance: Annotated[bool, typer.Option("--provenance", help="JSON: include the provenance.")] = False,
    space: Space = None,
    resolution: Resolution = None,
    pattern: Pattern = "*",
    suffix: Suffix = "_mask.nii.gz",
    overwrite: Overwrite = False,
    storage_option: StorageOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Export results (containers expanded into values) as CSV, TSV, JSON or Parquet.

    One source gives one row (or one JSON document); several, or a folder, give a batch with one row
    per subject and NaN where a subject lacks a value.
    """
    from neurodatahub.core.terminal import storage_options
    from neurodatahub.subjects.export import export_results

    options = storage_options(storage_option, endpoint_url)
    subjects = _load(sources, space, resolution, pattern, suffix, options)
    batch = len(subjects) > 1 or len(sources) > 1
    export_results(
        subjects if batch else subjects[0],
        output,
        format=to,
        analysis_name=analysis,
        include_metadata=metadata,
        include_provenance=provenance,
        layout="long" if long else "wide",
        overwrite=overwrite,
        storage_options=options,
    )
    typer.echo(f"wrote {output} ({len(subjects)} subject{'s' if len(subjects) != 1 else ''})")


@subject_app.command("provenance")
def provenance(
    source: Annotated[str, typer.Argument(metavar="SRC", help="A mask NIfTI or a SubjectData document.")],
    output: Annotated[str, typer.Option("--output", "-o", metavar="OUT", help="Output JSON file or URL.")],
    space: Space = None,
    resolution: Resolution = None,
    overwrite: Overwrite = False,
    storage_option: StorageOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Export a subject's provenance as a JSON list of records (lacuna's shape)."""
    from neurodatahub.core.terminal import storage_options
    from neurodatahub.subjects.export import export_provenance
    from neurodatahub.subjects.loading import load_subjects

    options = storage_options(storage_option, endpoint_url)
    (subject,) = load_subjects([source], space=space, resolution=resolution, storage_options=options)
    export_provenance(subject, output, overwrite=overwrite, storage_options=options)
    typer.echo(f"wrote {output}")


@subject_app.command("bids")
def bids(
    sources: Sources,
    output: Annotated[str, typer.Option("--output", "-o", metavar="DIR", help="Derivatives folder or URL.")],
    name: Annotated[str, typer.Option(help="Dataset name, for a new derivatives folder.")] = (
        "neurodatahub derivatives"
    ),
    mask: Annotated[bool, typer.Option(help="Export the lesion mask.")] = True,
    voxel_maps: Annotated[bool, typer.Option(help="Export voxel maps.")] = True,
    parcels: Annotated[bool, typer.Option(help="Export parcel tables.")] = True,
    connectivity: Annotated[bool, typer.Option(help="Export connectivity matrices.")] = True,
    scalars: Annotated[bool, typer.Option(help="Export scalar and plain results.")] = True,
    provenance: Annotated[bool, typer.Option(help="Export the provenance.")] = True,
    space: Space = None,
    resolution: Resolution = None,
    pattern: Pattern = "*",
    suffix: Suffix = "_mask.nii.gz",
    overwrite: Overwrite = False,
    storage_option: StorageOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Export subjects with all their results as a BIDS 1.11 derivatives dataset (created or added to).

    Files BIDS has no name for are listed in .bidsignore. Existing files are an error without
    --overwrite; nothing is written when one would be replaced.
    """
    from neurodatahub.core.terminal import storage_options
    from neurodatahub.subjects.bids.derivatives import export_bids_derivatives

    options = storage_options(storage_option, endpoint_url)
    subjects = _load(sources, space, resolution, pattern, suffix, options)
    report = export_bids_derivatives(
        subjects,
        output,
        export_lesion_mask=mask,
        export_voxelmaps=voxel_maps,
        export_parcel_data=parcels,
        export_connectivity=connectivity,
        export_scalars=scalars,
        export_provenance=provenance,
        overwrite=overwrite,
        name=name,
        storage_options=options,
    )
    for skipped in report.skipped:
        typer.echo(f"skipped: {skipped}", err=True)
    typer.echo(f"wrote {output}: {len(report.subject_dirs)} subject folder(s), {len(report.files)} files")
