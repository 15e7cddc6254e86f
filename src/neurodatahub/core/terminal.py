"""What every `hub` command shares: option annotations, KEY=VALUE parsing, tables and JSON on the terminal.

In the core so that the command groups of the kinds (`neurodatahub.<kind>.commands`) and the main commands
(`neurodatahub.cli`) use the same helpers; typer and rich are imported only by commands.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from neurodatahub.core.errors import UsageError

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


def pairs(given: list[str] | None, what: str) -> dict[str, Any]:
    """KEY=VALUE options, values read as YAML scalars (true, 3, 0.5, text); what YAML cannot read (a
    printf format such as %.6f starts like a YAML directive) is kept as the text given."""
    import yaml

    parsed: dict[str, Any] = {}
    for pair in given or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} must look like KEY=VALUE, got {pair!r}")
        try:
            parsed[key.strip()] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            parsed[key.strip()] = value
    return parsed


def storage_options(given: list[str] | None, endpoint: str | None) -> dict[str, Any] | None:
    """fsspec options from -S KEY=VALUE and --endpoint-url (None when there are none)."""
    options = pairs(given, "--storage-option")
    if endpoint:
        options["endpoint_url"] = endpoint
    return options or None


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console().print(table)
