"""`hub preview`: a quick-look picture of any file the hub reads (see neurodatahub.core.preview)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from neurodatahub.core.terminal import (
    EndpointOption,
    ReadOption,
    StorageOption,
    pairs,
    storage_options,
    with_shortcuts,
)


def default_output(source: str) -> str:
    """`<name>.png` in the current folder, the name without its data extensions (x.nii.gz -> x.png)."""
    name = Path(source.rstrip("/")).name or "preview"
    for _ in range(2):
        stem, dot, suffix = name.rpartition(".")
        if dot and stem and len(suffix) <= 6:
            name = stem
    return f"{name}.png"


def register(app: typer.Typer) -> None:
    @app.command()
    @with_shortcuts
    def preview(
        source: Annotated[str, typer.Argument(metavar="SRC", help="File, folder or URL.")],
        output: Annotated[
            str | None,
            typer.Option("--output", "-o", metavar="OUT", help="png, svg or pdf (default: ./NAME.png)."),
        ] = None,
        from_format: Annotated[
            str | None, typer.Option("--from", metavar="FORMAT", help="Input format (default: detected).")
        ] = None,
        overwrite: Annotated[bool, typer.Option(help="Replace an existing picture.")] = False,
        class_name: Annotated[
            str | None, typer.Option("--class", help="Data class of the input (an image: VoxelMap...).")
        ] = None,
        read_option: ReadOption = None,
        storage_option: StorageOption = None,
        endpoint_url: EndpointOption = None,
        shortcuts: dict[str, Any] | None = None,
    ) -> None:
        """Draw a quick-look picture: raster, heatmap, slices, surface views, streamlines... (headless)."""
        from neurodatahub.core.preview import preview as draw

        target = output or default_output(source)
        written = draw(
            source,
            target,
            format=from_format,
            overwrite=overwrite,
            storage_options=storage_options(storage_option, endpoint_url),
            **{
                **(shortcuts or {}),
                **pairs(read_option, "--read-option"),
                **({"class_name": class_name} if class_name else {}),
            },
        )
        typer.echo(f"wrote {written}")
