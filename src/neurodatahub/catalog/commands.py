"""`hub catalog list|search|show|status|register|unregister` and `hub fetch`: thin calls into the catalog."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from neurodatahub.core.terminal import JsonFlag

catalog_app = typer.Typer(
    name="catalog",
    help="Query the catalog of connectomes and atlases and the local registry.",
    no_args_is_help=True,
)

COLUMNS = ("name", "kind", "space", "resolution", "n_subjects", "n_regions", "license", "local")


def _cell(value: Any) -> str:
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _print_entries(documents: list[dict[str, Any]], as_json: bool, title: str) -> None:
    from neurodatahub.core.terminal import print_json, print_table

    if as_json:
        print_json(documents)
        return
    rows = [
        [
            _cell(doc.get(column)) if column != "local" else (doc.get("local_path") or "-")
            for column in COLUMNS
        ]
        for doc in documents
    ]
    print_table(title, list(COLUMNS), rows)


@catalog_app.command("list")
def list_entries(as_json: JsonFlag = False) -> None:
    """List every entry, and where it is on this machine if it is registered."""
    from neurodatahub.catalog.query import find

    _print_entries(find({}), as_json, "catalog")


@catalog_app.command()
def search(
    terms: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="KEY=VALUE...",
            help="Filters: key=a,b (any of), n_subjects>=900, key= (absent), available=true, or free text.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Entries matching every filter (lists mean any-of, numbers compare as numbers)."""
    from neurodatahub.catalog.query import find, parse_filters

    _print_entries(find(parse_filters(terms or [])), as_json, "catalog search")


@catalog_app.command()
def show(name: Annotated[str, typer.Argument(help="Entry name.")], as_json: JsonFlag = False) -> None:
    """Every field of one entry, its files with sizes and hashes, and its local status."""
    from neurodatahub.catalog.query import lookup
    from neurodatahub.core.terminal import print_json, print_table

    document = lookup(name)
    if as_json:
        print_json(document)
        return
    rows = [[key, _cell(value)] for key, value in document.items() if key not in ("files", "class")]
    print_table(document["name"], ["field", "value"], rows)
    files = [
        [
            file["name"],
            _cell(file.get("size_bytes")),
            file["checksum"]["algorithm"],
            file["checksum"].get("value", "-"),
        ]
        for file in document.get("files") or []
    ]
    if files:
        print_table("files", ["file", "bytes", "hash", "digest"], files)


@catalog_app.command()
def status(
    name: Annotated[str, typer.Argument(help="Entry or registered name.")], as_json: JsonFlag = False
) -> None:
    """Whether an entry is downloaded, processed and registered, where, and how large."""
    from neurodatahub.catalog.registry import get_fetch_status
    from neurodatahub.core.terminal import print_json, print_table

    found = get_fetch_status(name)
    if as_json:
        print_json(found)
    else:
        print_table(name, ["field", "value"], [[key, _cell(value)] for key, value in found.items()])


@catalog_app.command("register")
def register_entry(
    name: Annotated[str, typer.Argument(help="Name to register (a catalog name links to its entry).")],
    path: Annotated[str, typer.Argument(help="Existing file or folder.")],
    force: Annotated[bool, typer.Option(help="Replace a registration of the same name.")] = False,
    processed: Annotated[
        bool, typer.Option(help="The data are already processed (HDF5 chunks, .tck).")
    ] = False,
) -> None:
    """Register a local connectome or atlas by name and path (kept across runs in the data directory)."""
    from neurodatahub.catalog.registry import register, registry_path

    record = register(name, path, processed=processed, downloaded=True, force=force)
    typer.echo(f"registered {record['name']} -> {record['path']} in {registry_path()}")


@catalog_app.command("unregister")
def unregister_entry(name: Annotated[str, typer.Argument(help="Registered name.")]) -> None:
    """Forget a registration (the files are left where they are)."""
    from neurodatahub.catalog.registry import unregister

    record = unregister(name)
    typer.echo(f"unregistered {record['name']} (files kept at {record['path']})")


def fetch(
    name: Annotated[str, typer.Argument(help="Catalog entry to fetch (see `hub catalog list`).")],
    output_dir: Annotated[
        str | None, typer.Option("--output-dir", "-o", help="Target folder (default: the data directory).")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="Dataverse (or Figshare) API key; else DATAVERSE_API_KEY or the config file. Never printed.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the files, sizes and steps; fetch nothing.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Download again and replace a registration.")] = False,
    keep_original: Annotated[bool, typer.Option(help="Keep archives after extracting them.")] = True,
    register: Annotated[bool, typer.Option(help="Register the result in the local registry.")] = True,
    register_name: Annotated[str | None, typer.Option(help="Name to register under.")] = None,
    test_mode: Annotated[bool, typer.Option("--test-mode", help="Fetch only the first file.")] = False,
    mask: Annotated[
        str | None, typer.Option(metavar="NIFTI", help="Brain mask of a functional connectome's runs.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Download, verify, extract, process and register a catalog entry (resumes interrupted downloads)."""
    from neurodatahub.catalog.fetching import fetch as run, human, plan_fetch
    from neurodatahub.core.terminal import print_json

    options = {
        "api_key": api_key,
        "test_mode": test_mode,
        "keep_original": keep_original,
        "register": register,
        "register_name": register_name,
    }
    if dry_run:
        plan = plan_fetch(name, output_dir, **options)
        if as_json:
            print_json(plan.as_dict())
            return
        typer.echo(f"{plan.name} -> {plan.output_dir}")
        typer.echo(
            f"download {human(plan.download_bytes)} in {len(plan.files)} file(s);"
            f" needs {human(plan.needed_bytes)},"
            f" {human(plan.free_bytes)} free"
        )
        for step in plan.steps:
            typer.echo(f"  {step}")
        return
    with _progress_bar() as callback:
        result = run(name, output_dir, force=force, progress_callback=callback, mask_path=mask, **options)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        typer.echo(result.summary())


def _progress_bar() -> Any:
    """A rich progress bar on stderr (bytes of the current file, files done); silent when not a terminal."""
    import contextlib
    import sys

    @contextlib.contextmanager
    def bar() -> Any:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        console = Console(stderr=True)
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, console=console, transient=True, disable=not sys.stderr.isatty()) as progress:
            tasks: dict[str, Any] = {}

            def update(state: Any) -> None:
                if state.phase != "downloading":
                    return
                label = f"[{state.files_completed + 1}/{state.files_total}] {state.current_file}"
                if state.current_file not in tasks:
                    tasks[state.current_file] = progress.add_task(label, total=state.bytes_total or None)
                progress.update(tasks[state.current_file], completed=state.bytes_transferred)

            yield update

    return bar()


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app)
    app.command("fetch")(fetch)
