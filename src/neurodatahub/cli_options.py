"""Options several `hub` commands share (the main ones in cli.py and the groups in commands/)."""

from __future__ import annotations

from typing import Annotated

import typer

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
StorageOption = Annotated[
    list[str] | None,
    typer.Option("--storage-option", "-S", metavar="KEY=VALUE", help="fsspec storage option (repeatable)."),
]
ReadOption = Annotated[
    list[str] | None,
    typer.Option("--read-option", "-R", metavar="KEY=VALUE", help="Reader option (repeatable)."),
]
EndpointOption = Annotated[
    str | None,
    typer.Option("--endpoint-url", metavar="URL", help="S3-compatible endpoint (else AWS_ENDPOINT_URL)."),
]
