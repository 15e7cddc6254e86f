"""`hub tract`: lacuna's TRK to TCK conversions (one file, or a folder of tracts merged into one).

Other tractogram conversions (TCK to TRK with a reference, TRX) go through `hub convert`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from neurodatahub.core.terminal import EndpointOption, JobsOption, SchedulerOption, StorageOption

tract_app = typer.Typer(
    name="tract",
    help="Tractograms: TRK to TCK for MRtrix (lacuna's trk_to_tck and merge_trk_to_tck), streamed.",
    no_args_is_help=True,
)

Overwrite = Annotated[bool, typer.Option(help="Replace an existing output.")]


def register(app: typer.Typer) -> None:
    app.add_typer(tract_app)
    app.command("connectome")(connectome)


def connectome(
    tractogram: Annotated[
        str, typer.Argument(metavar="TRACTOGRAM", help="A .trk, .tck or .trx file or URL.")
    ],
    parcellation: Annotated[
        str, typer.Argument(metavar="PARCELLATION", help="A NIfTI label volume (0 = background).")
    ],
    output: Annotated[
        str,
        typer.Option("--output", "-o", metavar="FILE", help="Streamline counts (any connectivity format)."),
    ],
    lengths: Annotated[
        str | None,
        typer.Option("--lengths", metavar="FILE", help="Also write the mean streamline length per pair."),
    ] = None,
    from_format: Annotated[
        str | None, typer.Option("--from", metavar="FORMAT", help="Tractogram format (default: detected).")
    ] = None,
    overwrite: Overwrite = False,
    storage_option: StorageOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Structural connectome: streamlines counted between the parcels at their two end points (dipy's rule).

    Example: `hub connectome sub-01.trk atlas_dseg.nii.gz -o conn.tsv --lengths conn_length.tsv`.
    """
    from neurodatahub.core import conversion, storage
    from neurodatahub.core.errors import OutputError
    from neurodatahub.core.terminal import storage_options
    from neurodatahub.tractograms.connectome import connectome as build

    options = storage_options(storage_option, endpoint_url)
    for target in (output, lengths):  # refused before the tractogram is read, not after the first write
        if target is not None and not overwrite and storage.exists(target, options):
            raise OutputError(f"{target} exists; pass --overwrite to replace it")
    counts, mean_lengths = build(
        tractogram, parcellation, tractogram_format=from_format, storage_options=options
    )
    for model, target in ((counts, output), (mean_lengths, lengths)):
        if target is not None:
            conversion.write(model, target, overwrite=overwrite, storage_options=options)
    unassigned = counts.metadata["unassigned_streamlines"]
    typer.echo(
        f"wrote {output}: {len(counts.region_labels)} regions, {counts.metadata['streamlines']} streamlines"
        f" ({unassigned} with an end outside the parcels)"
        + (f"; mean lengths in {lengths}" if lengths else "")
    )


@tract_app.command("trk-to-tck")
def trk_to_tck(
    source: Annotated[str, typer.Argument(metavar="TRK", help="Input .trk or .trk.gz file or URL.")],
    target: Annotated[str, typer.Argument(metavar="TCK", help="Output .tck file or URL.")],
    overwrite: Overwrite = False,
    storage_option: StorageOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Convert a TrackVis .trk to an MRtrix .tck (scalars and properties are dropped: TCK has no place)."""
    from neurodatahub.core.terminal import storage_options
    from neurodatahub.tractograms import trk_to_tck as run

    written = run(
        source, target, overwrite=overwrite, storage_options=storage_options(storage_option, endpoint_url)
    )
    typer.echo(f"wrote {written} from {source}")


@tract_app.command("merge")
def merge(
    source: Annotated[str, typer.Argument(metavar="DIR", help="Folder of .trk/.trk.gz files (recursive).")],
    target: Annotated[str, typer.Argument(metavar="TCK", help="Output .tck file or URL.")],
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="TEXT",
            help="Skip files whose path contains TEXT (case-insensitive; repeatable; replaces the default"
            " cranial-nerve list).",
        ),
    ] = None,
    keep_all: Annotated[
        bool, typer.Option("--keep-all", help="Merge every file: no default exclusion of cranial nerves.")
    ] = False,
    list_only: Annotated[
        bool, typer.Option("--list", help="Print the files that would be merged, only.")
    ] = False,
    jobs: JobsOption = None,
    scheduler: SchedulerOption = None,
    overwrite: Overwrite = False,
    storage_option: StorageOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Merge every tract of a folder into one .tck, without the cranial nerves unless told otherwise.

    Bundles are read in parallel on a local Dask cluster (--jobs N) or a cluster (--scheduler ADDRESS) and
    written in order. Example: `hub tract merge hcp1065_avg_tracts_trk hcp1065.tck`.
    """
    from neurodatahub.core.errors import UsageError
    from neurodatahub.core.terminal import storage_options
    from neurodatahub.tractograms import find_trk_files, merge_trk_to_tck

    if keep_all and exclude:
        raise UsageError("--keep-all and --exclude contradict each other")
    patterns = [] if keep_all else exclude
    options = storage_options(storage_option, endpoint_url)
    if list_only:
        for url in find_trk_files(source, patterns, options):
            typer.echo(url)
        return
    written = merge_trk_to_tck(
        source,
        target,
        exclude_patterns=patterns,
        overwrite=overwrite,
        storage_options=options,
        jobs=jobs,
        scheduler=scheduler,
    )
    typer.echo(f"wrote {written} from the tracts under {source}")
