"""`hub catalog list|search|show|status|register|unregister` and `hub fetch`: thin calls into the catalog."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from neurodatahub.core.terminal import JsonFlag

catalog_app = typer.Typer(
    name="catalog",
    help="Query the catalog of connectomes, atlases and templates down to files; the stack of catalogs.",
    no_args_is_help=True,
)
source_app = typer.Typer(name="source", help="The catalogs stacked on the shipped one.", no_args_is_help=True)
catalog_app.add_typer(source_app)

COLUMNS = ("name", "kind", "space", "resolution", "n_subjects", "n_regions", "license", "source", "local")
IDENTIFIERS = ("name", "entry", "file")  # never wrapped or cut: users type them next
TermsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="KEY=VALUE...",
        help="Filters: key=a,b (any of), name=schaefer* (glob), n_subjects>=900, key= (absent), aliases"
        " (modality=dwi), available=true, or free text.",
    ),
]
FormatOption = Annotated[str, typer.Option("--format", help="table or csv.", metavar="table|csv")]


def _cell(value: Any) -> str:
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def print_rows(title: str, columns: list[str], rows: list[list[Any]], output: str = "table") -> None:
    """A table that fits the terminal without ever wrapping or cutting an identifier column (less useful
    columns, rightmost first, are left out when it cannot), or CSV for scripts."""
    import shutil
    import sys

    if output == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if cell is None else str(cell) for cell in row] for row in rows])
        return
    if output != "table":
        from neurodatahub.core.errors import UsageError

        raise UsageError(f"--format must be table or csv, not {output!r}")
    from rich.console import Console
    from rich.table import Table

    width = shutil.get_terminal_size((10_000, 24)).columns if sys.stdout.isatty() else 10_000
    cells = [[_cell(cell) if cell is not None else "-" for cell in row] for row in rows]
    keep = list(range(len(columns)))

    def needed(kept: list[int], cap: int | None = 14) -> int:
        total = 1
        for index in kept:
            longest = max([len(columns[index]), *(len(row[index]) for row in cells)])
            total += 3 + (longest if columns[index] in IDENTIFIERS or cap is None else min(longest, cap))
        return total

    while len(keep) > 1 and needed(keep) > width:
        droppable = [index for index in keep if columns[index] not in IDENTIFIERS]
        if not droppable:
            break
        keep.remove(droppable[-1])
    table = Table(title=title)
    for index in keep:
        identifier = columns[index] in IDENTIFIERS
        table.add_column(columns[index], no_wrap=identifier, overflow="fold", min_width=None)
    for row in cells:
        table.add_row(*(row[index] for index in keep))
    Console(width=width if sys.stdout.isatty() else max(needed(keep, None), 80)).print(table)


def _print_entries(documents: list[dict[str, Any]], as_json: bool, title: str, output: str = "table") -> None:
    from neurodatahub.core.terminal import print_json

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
    print_rows(title, list(COLUMNS), rows, output)


@catalog_app.command("list")
def list_entries(as_json: JsonFlag = False, output: FormatOption = "table") -> None:
    """List every entry of the stacked catalogs, and where it is on this machine if it is registered."""
    from neurodatahub.catalog.query import find

    _print_entries(find({}), as_json, "catalog", output)


@catalog_app.command()
def search(terms: TermsArgument = None, as_json: JsonFlag = False, output: FormatOption = "table") -> None:
    """Entries matching every filter; none is exit 1 with the nearest values of the fields asked about."""
    from neurodatahub.catalog.query import find, parse_filters

    _print_entries(find(parse_filters(terms or []), required=True), as_json, "catalog search", output)


def _entry_and_filters(terms: list[str] | None) -> tuple[str | None, dict[str, Any]]:
    """`ENTRY key=value...`: a first term without an operator names the entry (a glob is fine)."""
    from neurodatahub.catalog.query import CLI_FILTER, parse_filters

    terms = list(terms or [])
    entry = terms.pop(0) if terms and not CLI_FILTER.match(terms[0]) else None
    return entry, parse_filters(terms)


@catalog_app.command("ls")
def list_files(
    terms: TermsArgument = None, as_json: JsonFlag = False, output: FormatOption = "table"
) -> None:
    """Files matching the query (`ls schaefer2018 n_regions=400 resolution=2`), downloading nothing."""
    from neurodatahub.catalog.files import FILE_COLUMNS, ls
    from neurodatahub.core.terminal import print_json

    entry, filters = _entry_and_filters(terms)
    rows = ls(entry, **filters)
    if as_json:
        print_json(rows)
        return
    columns = [*FILE_COLUMNS, "hash", "local_path"]
    print_rows("catalog files", columns, [[row.get(c) for c in columns] for row in rows], output)


@catalog_app.command("get")
def get_files(
    terms: TermsArgument = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Source API key.", show_default=False)
    ] = None,
    force: Annotated[bool, typer.Option(help="Download again even when present.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Local paths of the matching files (one per line), downloading and verifying only missing ones."""
    from neurodatahub.catalog.files import get
    from neurodatahub.core.terminal import print_json

    entry, filters = _entry_and_filters(terms)
    paths = get(entry, api_key=api_key, force=force, **filters)
    if as_json:
        print_json([str(path) for path in paths])
    else:
        for path in paths:
            typer.echo(str(path))


@catalog_app.command()
def verify(
    entry: Annotated[str | None, typer.Argument(help="Entry (default: every entry).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-hash the local files against their published or first-use digest; a changed file is exit 1."""
    from neurodatahub.catalog.errors import IntegrityError
    from neurodatahub.catalog.files import verify as run
    from neurodatahub.core.terminal import print_json

    rows = run(entry)
    if as_json:
        print_json(rows)
    elif rows:
        columns = ["entry", "file", "status", "reference"]
        print_rows("verify", columns, [[row[c] for c in columns] for row in rows])
    else:
        typer.echo("no local file to verify")
    changed = [row for row in rows if row["status"] == "changed"]
    if changed:
        names = ", ".join(f"{row['entry']}/{row['file']}" for row in changed)
        raise IntegrityError(f"{len(changed)} file(s) differ from their reference: {names}")


@catalog_app.command()
def show(name: Annotated[str, typer.Argument(help="Entry name.")], as_json: JsonFlag = False) -> None:
    """Every field of one entry, its files with sizes and hashes (published, first use, or none)."""
    from neurodatahub.catalog.files import hash_reference
    from neurodatahub.catalog.query import lookup
    from neurodatahub.core.terminal import print_json

    document = lookup(name)
    references = {file["name"]: hash_reference(document, file) for file in document.get("files") or []}
    if as_json:
        print_json({**document, "hash_references": references})
        return
    rows = [[key, _cell(value)] for key, value in document.items() if key not in ("files", "class")]
    print_rows(document["name"], ["field", "value"], rows)
    files = [
        [file["name"], _cell(file.get("size_bytes")), references[file["name"]]["algorithm"],
         references[file["name"]]["origin"], references[file["name"]]["digest"] or "-"]
        for file in document.get("files") or []
    ]  # fmt: skip
    if files:
        print_rows("files", ["file", "bytes", "hash", "origin", "digest"], files)


@catalog_app.command()
def status(
    name: Annotated[str, typer.Argument(help="Entry or registered name.")], as_json: JsonFlag = False
) -> None:
    """Whether an entry is downloaded, processed and registered, where, and how large."""
    from neurodatahub.catalog.registry import get_fetch_status
    from neurodatahub.core.terminal import print_json

    found = get_fetch_status(name)
    if as_json:
        print_json(found)
    else:
        print_rows(name, ["field", "value"], [[key, _cell(value)] for key, value in found.items()])


@catalog_app.command("register")
def register_entry(
    name: Annotated[str, typer.Argument(help="A catalog entry's name, or your own entry's.")],
    paths: Annotated[list[str], typer.Argument(help="Files or folders.", metavar="PATH...")],
    kind: Annotated[
        str | None, typer.Option(help="Your entry's kind (atlas, template, *_connectome).")
    ] = None,
    space: Annotated[str | None, typer.Option(help="Template space of the files.")] = None,
    resolution: Annotated[float | None, typer.Option(help="Voxel size in mm.")] = None,
    n_regions: Annotated[int | None, typer.Option(help="Regions of the parcellation.")] = None,
    networks: Annotated[int | None, typer.Option(help="Network solution (Schaefer/Yeo).")] = None,
    suffix: Annotated[str | None, typer.Option(help="What the files are (dseg, lut, tractogram...).")] = None,
    modality: Annotated[str | None, typer.Option(help="Imaging modality (rs-fMRI, dMRI, T1w...).")] = None,
    license: Annotated[
        str | None, typer.Option("--license", help="SPDX licence (default NOASSERTION).")
    ] = None,
    citation: Annotated[str | None, typer.Option(help="How to cite it.")] = None,
    description: Annotated[str | None, typer.Option(help="What it is.")] = None,
    entry: Annotated[
        str | None, typer.Option("--entry", metavar="YAML", help="An entry file with the facts.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a registration of the same name.")] = False,
    processed: Annotated[
        bool, typer.Option(help="The data are already processed (HDF5 chunks, .tck).")
    ] = False,
) -> None:
    """Register local data: a catalog entry's (checked against it), or your own entry with its facts (the
    files are read through the format registry and must be what the facts say); it then shows in list,
    search, show, ls and get."""
    from neurodatahub.catalog.lab import register_entry
    from neurodatahub.catalog.query import canonical
    from neurodatahub.catalog.registry import registry_path

    facts = {
        "kind": kind, "space": space, "resolution": resolution, "n_regions": n_regions, "networks": networks,
        "suffix": canonical("suffix", suffix), "modality": canonical("modality", modality),
        "license": license, "citation": citation, "description": description,
    }  # fmt: skip
    record = register_entry(name, paths, facts=facts, entry_file=entry, force=force, processed=processed)
    files = len((record.get("entry") or {}).get("files") or [])
    what = f"entry {record['name']} ({files} file(s))" if record.get("entry") else record["name"]
    typer.echo(f"registered {what} -> {record['path']} in {registry_path()}")


@catalog_app.command("unregister")
def unregister_entry(name: Annotated[str, typer.Argument(help="Registered name.")]) -> None:
    """Forget a registration (the files are left where they are)."""
    from neurodatahub.catalog.registry import unregister

    record = unregister(name)
    typer.echo(f"unregistered {record['name']} (files kept at {record['path']})")


@catalog_app.command("new")
def new_entry(
    name: Annotated[str, typer.Argument(help="Entry name.")],
    kind: Annotated[str, typer.Option(help="atlas, template, functional_connectome...")] = "atlas",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write a schema-valid entry skeleton for a lab catalog (fill it in, then `hub catalog index`)."""
    from neurodatahub.catalog.lab import skeleton

    text = skeleton(name, kind)
    if output is None:
        typer.echo(text, nl=False)
        return
    from neurodatahub.core.storage import atomic_write, make_parents

    make_parents(output)  # `-o catalog/our_atlas.yaml` starts a lab catalog's folder
    with atomic_write(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")


@catalog_app.command("index")
def index_folder(folder: Annotated[str, typer.Argument(help="A catalog folder of YAML entries.")]) -> None:
    """Validate a catalog folder and write its index.json (what a remote catalog must publish)."""
    from pathlib import Path

    from neurodatahub.catalog.index import write_index

    typer.echo(f"wrote {write_index(Path(folder))}")


@source_app.command("list")
def source_list(as_json: JsonFlag = False) -> None:
    """The catalogs of the stack, in order (later ones may override earlier ones when they say so)."""
    from neurodatahub.catalog.stack import configured
    from neurodatahub.core.terminal import print_json

    sources = [source.as_dict() for source in configured()]
    if as_json:
        print_json(sources)
        return
    columns = ["name", "url", "overrides", "origin"]
    print_rows("catalog sources", columns, [[s[c] for c in columns] for s in sources])


@source_app.command("add")
def source_add(
    url: Annotated[str, typer.Argument(help="Folder, https:// or s3:// URL of a catalog (with index.json).")],
    name: Annotated[str | None, typer.Option(help="Short name (default: from the URL).")] = None,
    override: Annotated[
        bool, typer.Option("--override", help="Its entries replace same-named ones.")
    ] = False,
) -> None:
    """Stack a catalog on the others (checked by loading it once)."""
    from neurodatahub.catalog.stack import add_source

    source = add_source(url, name, override)
    typer.echo(f"added catalog {source.name} ({source.url})")


@source_app.command("remove")
def source_remove(name: Annotated[str, typer.Argument(help="Name or URL of an added catalog.")]) -> None:
    """Unstack a catalog added with `source add`."""
    from neurodatahub.catalog.stack import remove_source

    source = remove_source(name)
    typer.echo(f"removed catalog {source.name} ({source.url})")


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
