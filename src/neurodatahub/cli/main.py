"""The `hub` app: the main commands, the command groups of the kinds, and one line per error."""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer

from neurodatahub import __version__
from neurodatahub.cli import preview
from neurodatahub.core import words
from neurodatahub.core.errors import ExitCode, HubError, OutputError, UsageError
from neurodatahub.core.terminal import (
    EndpointOption,
    JobsOption,
    JsonFlag,
    ReadOption,
    SchedulerOption,
    StorageOption,
    cleanup_on_signals,
    interrupting_signal,
    one_line_warnings,
    pairs,
    print_json,
    print_table,
    printable_line,
    storage_options,
    with_shortcuts,
)

app = typer.Typer(
    name="hub",
    help="Schema-first catalog and converter hub for neuroscience data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FromOption = Annotated[
    str | None, typer.Option("--from", metavar="FORMAT", help="Input format (default: detected).")
]
KindOption = Annotated[
    str | None,
    typer.Option(
        "--kind",
        metavar="KIND",
        help="Kind of data of the input, for a table two kinds could read (hub formats).",
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hub (neurodatahub) {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    allow_external: Annotated[
        bool,
        typer.Option(
            "--allow-external",
            help="Read data that a file keeps in other files (HDF5 external storage, links, virtual"
            " datasets; GIfTI external binaries), only inside the input's own folder.",
        ),
    ] = False,
    max_memory: Annotated[
        str | None,
        typer.Option(
            "--max-memory",
            metavar="SIZE",
            help="Memory a file may declare (4G, 512MiB...; default NEURODATAHUB_MAX_MEMORY, else a quarter"
            " of the machine's).",
        ),
    ] = None,
) -> None:
    """Schema-first catalog and converter hub for neuroscience data."""
    from neurodatahub.core import budget, references

    references.set_allowed(allow_external)
    budget.set_max_memory(max_memory)


@app.command()
def formats(
    name: Annotated[
        str | None, typer.Argument(metavar="[FORMAT]", help="One format: its options, types and defaults.")
    ] = None,
    as_json: JsonFlag = False,
    kind: Annotated[str | None, typer.Option(help="Only formats of this kind of data.")] = None,
) -> None:
    """List every format with what it reads, writes and cannot store; or one format's options."""
    from neurodatahub.core import kinds
    from neurodatahub.core.registry import all_formats, format_listings, formats_named

    if name is not None:
        _print_format_options(formats_named(name, kind), as_json)
        return
    if kind is not None:
        kinds.require_kind(kind)
    if as_json:  # the options of every format: every format module is imported
        print_json([spec.as_row() for spec in all_formats() if kind is None or spec.kind == kind])
        return
    rows = [
        [
            listing.kind,
            listing.name,
            " ".join(listing.extensions) + (" (folder)" if listing.directory else ""),
            "yes" if listing.readable else "-",
            "yes" if listing.writable else "-",
            "; ".join(listing.cannot_store) or "-",
        ]
        for listing in format_listings()
        if kind is None or listing.kind == kind
    ]
    if not rows:
        typer.echo(f"no format reads or writes {kind} data")
        return
    print_table(
        "formats",
        ["kind", "format", "extensions", "read", "write", "cannot store"],
        rows,
        identifiers=("kind", "format"),
        optional=("cannot store",),
    )


def _print_format_options(specs: list[Any], as_json: bool) -> None:
    if as_json:
        print_json([spec.as_row() for spec in specs])
        return
    for spec in specs:
        typer.echo(f"{spec.name} ({spec.kind}, {spec.model}): {spec.description}")
        for role, described in (
            ("reader", spec.as_row()["read_options"]),
            ("writer", spec.as_row()["write_options"]),
        ):
            if not described:
                continue
            rows = [
                [
                    option,
                    facts["type"] + (f" {facts['bounds']}" if facts["bounds"] else ""),
                    "required"
                    if facts["required"]
                    else ("-" if facts["default"] is None else str(facts["default"])),
                    facts["help"],
                ]
                for option, facts in described.items()
            ]
            print_table(
                f"{spec.name} {role} options",
                ["option", "type", "default", "help"],
                rows,
                identifiers=("option",),
            )


@app.command()
def schema(
    class_name: Annotated[
        str | None, typer.Argument(metavar="[CLASS]", help="Class to print (default: all).")
    ] = None,
    list_classes: Annotated[bool, typer.Option("--list", help="List the class names.")] = False,
    form: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORM",
            help="json-schema (standalone), linkml (YAML), owl or shacl (Turtle), jsonld (context).",
        ),
    ] = "json-schema",
) -> None:
    """Print the schema of every class, or of one class, in one of its forms (JSON Schema by default)."""
    from neurodatahub.core.schema import listing, schema_text

    if list_classes:
        for group, names in listing().items():
            typer.echo(f"{group} ({len(names)}):")
            typer.echo("\n".join(f"  {name}" for name in names))
    else:
        typer.echo(schema_text(class_name, form), nl=False)


@app.command()
@with_shortcuts
def info(
    source: Annotated[str, typer.Argument(metavar="SRC", help="File, folder or URL.")],
    from_format: FromOption = None,
    kind: KindOption = None,
    class_name: Annotated[
        str | None, typer.Option("--class", help="Data class (of a document, or of an image: VoxelMap...).")
    ] = None,
    as_json: JsonFlag = False,
    read_option: ReadOption = None,
    storage_option: StorageOption = None,
    endpoint_url: EndpointOption = None,
    shortcuts: dict[str, Any] | None = None,
) -> None:
    """Show the kind, format and a summary of a file (units, spikes, duration, rates, attributes...)."""
    from neurodatahub.core import storage
    from neurodatahub.core.conversion import describe_file
    from neurodatahub.core.registry import input_format

    options = storage_options(storage_option, endpoint_url)
    with storage.reading():  # detection and the summary share what they fetch of a remote file
        spec = input_format(source, from_format, options, kind, class_name=class_name)
        hint = {"class_name": class_name} if class_name and spec.reads_option("class_name") else {}
        hint.update(shortcuts or {})
        hint.update(pairs(read_option, "--read-option"))
        summary = {
            "path": source,
            "kind": spec.kind,
            "format": spec.name,
            **describe_file(spec, source, options, **hint),
        }
    if as_json:
        print_json(summary)
    else:
        print_table(source, ["field", "value"], [[key, value] for key, value in summary.items()])


@app.command()
@with_shortcuts
def validate(
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="PATH...", help="Files, folders, globs or URL prefixes (s3://bucket/lab/)."),
    ] = None,
    from_format: FromOption = None,
    class_name: Annotated[
        str | None, typer.Option("--class", help="Data class (of documents, or of images: VoxelMap...).")
    ] = None,
    lab_schema: Annotated[
        str | None,
        typer.Option(
            "--schema",
            metavar="FILE",
            help="A LinkML schema that imports the hub's: documents of its classes validate too.",
        ),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Kind of data of the files (see `hub formats`).")] = None,
    report_format: Annotated[
        str,
        typer.Option(
            "--format", "-f", metavar="NAME", help="Report: text, json, junit, sarif, github, html."
        ),
    ] = "text",
    output: Annotated[
        str | None, typer.Option("--output", "-o", metavar="FILE", help="Write the report there.")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Only the files of the JSON report, as a list (as before --format)."),
    ] = False,
    config_file: Annotated[
        str | None, typer.Option("--config", metavar="FILE", help="pyproject.toml or .neurodatahub.yaml.")
    ] = None,
    include: Annotated[list[str] | None, typer.Option(metavar="GLOB", help="Only these files.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(metavar="GLOB", help="Not these files.")] = None,
    select: Annotated[
        list[str] | None, typer.Option(metavar="CODE", help="Report only these codes or prefixes.")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option(metavar="CODE", help="Do not report these.")] = None,
    fail_on: Annotated[
        str | None, typer.Option(metavar="SEVERITY", help="Lowest severity that fails: error, warning, info.")
    ] = None,
    require_known: Annotated[
        bool, typer.Option("--require-known", help="Files of no known format are errors, not skipped.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Local Dask workers (default: NEURODATAHUB_JOBS, else the cores)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="An existing Dask scheduler (tcp://host:8786).")
    ] = None,
    cache: Annotated[
        str | None, typer.Option(metavar="DIR", help="Results cache (default: the user's cache folder).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Validate every file again.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List skipped files too.")] = False,
    list_checks: Annotated[
        bool, typer.Option("--list-checks", help="Print the table of check codes.")
    ] = False,
    read_option: ReadOption = None,
    storage_option: StorageOption = None,
    endpoint_url: EndpointOption = None,
    shortcuts: dict[str, Any] | None = None,
) -> None:
    """Check files and whole datasets against the schema (or a lab schema that extends it), with codes and
    severities, for people and CI.

    Exit 0 when nothing fails, 1 when data is invalid, 2 when a file is unreadable (README, exit codes).
    """
    from neurodatahub.datasets import checks, config, writers
    from neurodatahub.datasets.validation import validate_dataset

    if list_checks:
        typer.echo(checks.table(), nl=False)
        return
    if not paths:
        raise UsageError("give at least one PATH to validate")
    if report_format not in writers.names():
        raise UsageError(f"no report format {report_format!r}; formats: {', '.join(writers.names())}")
    store = storage_options(storage_option, endpoint_url)
    settings = config.load(config_file) if config_file else config.discover(paths, store)
    settings = settings.overridden(
        include=include,
        exclude=exclude,
        select=_codes(select),
        ignore=_codes(ignore),
        fail_on=fail_on,
        require_known=require_known or None,
    )
    report = validate_dataset(
        paths,
        config=settings,
        format=from_format,
        kind=kind,
        class_name=class_name,
        # the lab schema is the documents' reader option (other formats hold the hub's classes); the cache
        # is left out with it, as its key knows the hub's schema, not the lab's file
        read_options={
            **(shortcuts or {}),
            **pairs(read_option, "--read-option"),
            **({"lab_schema": lab_schema} if lab_schema else {}),
        },
        storage_options=store,
        jobs=jobs,
        scheduler=scheduler,
        cache=False if no_cache or lab_schema else (cache or True),
        thumbnails=report_format == "html" and not as_json,
    )
    if as_json:
        print_json([report.file_entry(result) for result in report.files])
    else:
        text = writers.render(report, report_format, verbose=verbose)
        if output is None:
            typer.echo(text, nl=False)
        else:
            _write_report(text, output, store)
            if report_format != "text":
                typer.echo(writers.render(report, "text", verbose=verbose), nl=False)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _codes(given: list[str] | None) -> list[str] | None:
    """--select NDH1,NDH2 and --select NDH1 --select NDH2 alike."""
    return [code.strip() for each in given for code in each.split(",") if code.strip()] if given else None


def _write_report(text: str, url: str, storage_options: dict[str, Any] | None) -> None:
    from neurodatahub.core import storage

    with storage.atomic_write(url, overwrite=True, storage_options=storage_options) as tmp:
        tmp.write_text(text, encoding="utf-8")


@app.command()
@with_shortcuts
def convert(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SRC... DST",
            help="Inputs (files, folders, globs, URLs or prefixes), then the output file, folder or template"
            " (out/{relpath}/{stem}.h5).",
        ),
    ] = None,
    from_format: FromOption = None,
    to_format: Annotated[
        str | None, typer.Option("--to", metavar="FORMAT", help="Output format (default: by extension).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    strict: Annotated[
        bool, typer.Option(help="Fail instead of dropping what the output cannot store.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            help="Write an output the writer refuses as oversized (a raster 10x its spikes). [option force]"
        ),
    ] = False,
    checksum: Annotated[
        bool, typer.Option(help="Record the input's and output's XXH3 digests in the provenance and report.")
    ] = True,
    report: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write a JSON report of the conversion (or batch).")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-O", metavar="KEY=VALUE", help="Writer option (repeatable)."),
    ] = None,
    class_name: Annotated[
        str | None, typer.Option("--class", help="Data class of the input (an image: VoxelMap...).")
    ] = None,
    read_option: ReadOption = None,
    storage_option: StorageOption = None,
    endpoint_url: EndpointOption = None,
    manifest: Annotated[
        str | None,
        typer.Option(metavar="FILE", help="Batch: a CSV, TSV or YAML of source, target and per-row options."),
    ] = None,
    include: Annotated[
        list[str] | None, typer.Option(metavar="GLOB", help="Batch: only sources matching (repeatable).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(metavar="GLOB", help="Batch: skip sources matching (repeatable).")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            metavar="KIND",
            help="Kind of data of the input, for a table two kinds could read; in a batch, only sources of"
            " this kind.",
        ),
    ] = None,
    jobs: JobsOption = None,
    scheduler: SchedulerOption = None,
    resume: Annotated[
        bool | None,
        typer.Option(
            help="Batch: skip what the --report of an earlier run says is complete (default with it)."
        ),
    ] = None,
    fail_fast: Annotated[bool, typer.Option(help="Batch: stop at the first failure.")] = False,
    shortcuts: dict[str, Any] | None = None,
) -> None:
    """Convert between formats of the same kind of data, on local disk or any fsspec URL.

    Many inputs at once: `hub convert raw/ out/{relpath}/{stem}.h5 --style ragged` converts every file
    under raw/ on a local Dask cluster (--jobs N) or on a cluster (--scheduler ADDRESS), goes on past
    failures and ends with a summary; with --report a rerun converts only what is missing.
    """
    from neurodatahub.core.conversion import convert as run

    given = list(paths or [])
    store = storage_options(storage_option, endpoint_url)
    routed = {**(shortcuts or {}), **({"force": True} if force else {})}  # --force goes where --fs goes
    if manifest is not None or len(given) != 2 or _is_batch(given[0], given[1], store):
        _convert_batch(
            given, manifest, store, from_format=from_format, to_format=to_format, overwrite=overwrite,
            strict=strict, checksum=checksum, report=report, option=option, read_option=read_option,
            include=include, exclude=exclude, kind=kind, jobs=jobs, scheduler=scheduler, resume=resume,
            fail_fast=fail_fast, shortcuts=routed, class_name=class_name,
        )  # fmt: skip
        return
    source, target = given
    if report is not None:
        _check_writable(report)
    with _progress(source, store) as step:
        result = run(
            source,
            target,
            from_format=from_format,
            to_format=to_format,
            overwrite=overwrite,
            strict=strict,
            storage_options=store,
            read_options={
                **pairs(read_option, "--read-option"),
                **({"class_name": class_name} if class_name else {}),
            },
            write_options=pairs(option, "--option"),
            options=routed,
            checksum=checksum,
            on_step=step,
            kind=kind,
        )
    for loss in result.losses or ():
        count = f" ({loss.count})" if loss.count is not None else ""
        typer.echo(f"lost: {loss.field}{count}: {loss.reason}", err=True)
    typer.echo(
        f"wrote {target} ({result.target.format}) from {source} ({result.source.format})"
        f" in {result.duration_seconds:.2f} s"
    )
    if report is not None:
        from neurodatahub.core import storage

        with storage.atomic_write(str(report), overwrite=True) as tmp:
            tmp.write_text(result.model_dump_json(indent=2, exclude_none=True) + "\n", encoding="utf-8")


def _check_writable(path: Path) -> None:
    """Fail before converting when the report could not be written afterwards: it is written as the
    output is (a temporary beside it, then a rename), so the same is tried now with an empty file."""
    from neurodatahub.core import scratch, storage

    if path.is_dir():
        raise OutputError(f"cannot write the report {path}: it is a folder")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write the report {path}: folder {folder} does not exist")
    probe = scratch.partial_name(path)
    try:
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as error:
        raise storage.output_failure(f"the report {path}", error) from error


@app.command()
def clean(
    paths: Annotated[
        list[Path] | None, typer.Argument(metavar="PATH...", help="Folders to clean (recursively).")
    ] = None,
    temp: Annotated[
        bool, typer.Option("--temp", help="Also clean the system's temporary folder (downloads, uploads).")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be done.")] = False,
) -> None:
    """Remove the temporary files and folders that killed hub runs left behind.

    Only the hub's own temporaries whose process is gone are touched (their names carry the host and
    process that made them); a folder target left moved aside by a crash is put back in place.
    """
    import tempfile

    from neurodatahub.core import scratch

    paths = paths or []
    if not paths and not temp:
        raise UsageError("name the folders to clean (or --temp for the system's temporary folder)")
    for folder in paths:
        if not folder.is_dir():
            raise UsageError(f"{folder}: not a folder")
    done = [item for folder in paths for item in scratch.sweep(folder, recursive=True, dry_run=dry_run)]
    if temp:  # the hub's scratch folders sit at the top of the temporary folder: no need to walk it
        done += scratch.sweep(tempfile.gettempdir(), dry_run=dry_run)
    for action, path in done:
        typer.echo(f"{'would be ' if dry_run else ''}{action}  {path}")
    typer.echo(f"{len(done)} stale temporar{'y' if len(done) == 1 else 'ies'}{' found' if dry_run else ''}")


def _is_batch(source: str, target: str, store: dict[str, Any] | None) -> bool:
    """Many inputs: a glob, a template, or a folder that is not itself one format (a Phy folder is one)."""
    from neurodatahub.core import storage
    from neurodatahub.core.registry import directory_format
    from neurodatahub.datasets.plan import is_template

    if storage.is_glob(source) or is_template(target):
        return True
    try:
        return storage.is_dir(source, store) and directory_format(source, store) is None
    except HubError:
        return False  # the conversion itself reports an input it cannot reach


def _convert_batch(
    given: list[str], manifest: str | None, store: dict[str, Any] | None, **settings: Any
) -> None:
    """`hub convert` of many inputs: plan, convert on the execution layer, summary, exit code."""
    from neurodatahub.core.errors import Interrupted, UsageError
    from neurodatahub.core.terminal import BatchProgress, announce
    from neurodatahub.datasets.batch import convert_many, exit_code, summary

    if manifest is None and len(given) < 2:
        raise UsageError("give SRC and DST, several SRC and a DST, or --manifest FILE")
    sources, destination = (given[:-1], given[-1]) if given else ([], None)
    shortcuts = settings.pop("shortcuts") or {}
    class_name = settings.pop("class_name")
    on_cluster = bool(settings["scheduler"] or os.environ.get("DASK_SCHEDULER_ADDRESS"))
    with BatchProgress() as progress:
        try:
            done = convert_many(
                sources,
                destination,
                manifest=manifest,
                include=settings.pop("include") or (),
                exclude=settings.pop("exclude") or (),
                read_options={
                    **pairs(settings.pop("read_option"), "--read-option"),
                    **({"class_name": class_name} if class_name else {}),
                },
                write_options=pairs(settings.pop("option"), "--option"),
                options=shortcuts,
                storage_options=store,
                on_plan=progress.start,
                on_entry=lambda entry: progress.advance(entry.source_size_bytes or 0),
                announce=announce if on_cluster or progress.enabled else None,
                **settings,
            )
        except Interrupted as stop:
            _echo_failures(getattr(stop, "report", None))
            raise
    _echo_failures(done)
    typer.echo(f"{summary(done)} in {done.duration_seconds:.2f} s")
    code = exit_code(done)
    if code:
        raise typer.Exit(code)


def _echo_failures(done: Any) -> None:
    """One line per failed entry, naming its source once (most reasons already start with it)."""
    for entry in (done and done.entries) or ():
        if entry.status == "failed":
            reason = entry.reason or ""
            named = reason if reason.startswith(f"{entry.source}:") else f"{entry.source}: {reason}"
            typer.echo(f"failed: {named}", err=True)


LARGE_INPUT_BYTES = 64 * 2**20


@contextlib.contextmanager
def _progress(source: str, storage_options: dict[str, Any] | None) -> Any:
    """A progress bar over the conversion's steps, for large inputs on a terminal; else nothing."""
    from neurodatahub.core import storage
    from neurodatahub.core.conversion import STEPS

    quiet = not sys.stderr.isatty()
    if not quiet:
        try:
            quiet = storage.size_of(source, storage_options) < LARGE_INPUT_BYTES
        except HubError:
            quiet = True  # the conversion itself will report the problem
    if quiet:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("converting", total=len(STEPS))

        def step(name: str) -> None:
            bar.update(task, description=name, completed=STEPS.index(name))

        yield step


def _register_command_groups() -> None:
    """Add the command group of every kind that has one: `neurodatahub.<package>.commands` defines
    `register(app)` and imports only typer at the top (start-up time), the library inside its commands."""
    import importlib
    from pathlib import Path

    from neurodatahub.core import kinds

    root = Path(__file__).resolve().parent.parent
    for package in kinds.kind_packages():
        if (root / package / "commands.py").is_file():
            importlib.import_module(f"neurodatahub.{package}.commands").register(app)


_register_command_groups()
preview.register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one clear line per error, exit codes by kind, tracebacks only with --debug.

    Typer runs outside its standalone mode so that its usage errors (unknown option or command,
    missing argument) come back here and are printed like every other error: one line, exit 2,
    instead of a framed box. Messages raised while the command runs name options as `hub` spells
    them (core.words).
    """
    args = sys.argv[1:] if argv is None else argv
    # a fresh context per call: --max-memory and --allow-external hold for this command only
    try:
        return contextvars.copy_context().run(_run_command, args, "--debug" in args)
    except KeyboardInterrupt as stop:  # a signal while the handlers were being put in place or restored
        return _interrupted(interrupting_signal(), "--debug" in args, stop)


def _run_command(args: list[str], debug: bool) -> int:
    import click

    with one_line_warnings(debug), cleanup_on_signals():
        try:
            with words.cli_words():
                # outside standalone mode, typer.Exit(code) comes back as the return value, and so does
                # the KeyboardInterrupt typer turns into 130
                returned = _app_for(args)(args=args, prog_name="hub", standalone_mode=False)
        except click.exceptions.NoArgsIsHelpError as usage:
            help_text = usage.format_message()  # empty when typer's rich help was printed already
            if help_text.strip():
                typer.echo(help_text)
            return ExitCode.USAGE
        except click.UsageError as usage:
            typer.echo(f"hub: error: {printable_line(_usage_line(usage))}", err=True)
            return ExitCode.USAGE
        except click.ClickException as problem:  # a bad parameter value, a file typer could not open
            typer.echo(f"hub: error: {printable_line(problem.format_message())}", err=True)
            return problem.exit_code
        except click.exceptions.Abort as stop:
            if interrupting_signal() is not None or isinstance(stop.__cause__, KeyboardInterrupt):
                return _interrupted(interrupting_signal(), debug, stop)
            typer.echo("hub: error: aborted", err=True)
            return ExitCode.USAGE
        except SystemExit as stop:
            if interrupting_signal() is not None:  # a KeyboardInterrupt made an exit on its way out
                return _interrupted(interrupting_signal(), debug, None)
            return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else ExitCode.USAGE)
        except HubError as error:
            if debug:
                traceback.print_exc()
            typer.echo(f"hub: error: {printable_line(error)}", err=True)
            return error.exit_code
        except KeyboardInterrupt as stop:  # Ctrl-C, SIGTERM, SIGHUP: temporary files are gone by now
            return _interrupted(interrupting_signal(), debug, stop)
        except MemoryError:  # what a file declares is checked first; this is what the checks missed
            if debug:
                traceback.print_exc()
            typer.echo(
                "hub: error: out of memory; lower --max-memory so that large declarations are refused first,"
                " or run on a larger machine",
                err=True,
            )
            return ExitCode.USAGE
        except Exception as error:  # a bug: say so in one line, keep the traceback for --debug
            if debug:
                traceback.print_exc()
            what = f"{type(error).__name__}: {printable_line(error)}"
            typer.echo(f"hub: internal error: {what} (rerun with --debug for details)", err=True)
            return ExitCode.INTERNAL
    if returned == ExitCode.INTERRUPTED and interrupting_signal() is not None:
        return _interrupted(interrupting_signal(), debug, None)  # typer's 130 for the KeyboardInterrupt
    return returned if isinstance(returned, int) else ExitCode.OK


def _app_for(args: list[str]) -> typer.Typer:
    """The app with only the command or group that `args` name: typer turns every command into click's
    at each run (~30 ms for the hub's commands and groups), and a run needs one. The whole app for the
    root's help, or a name it does not know (click's message lists the commands). The root takes flags
    only, so the first argument that is no option names the command."""
    import copy

    from typer.main import get_command_name

    name = next((arg for arg in args if not arg.startswith("-")), None)
    commands = [
        command
        for command in app.registered_commands
        if (command.name or get_command_name(command.callback.__name__)) == name
    ]
    groups = [
        group
        for group in app.registered_groups  # added without a name: the group's Typer has it
        if (group.name if isinstance(group.name, str) else group.typer_instance.info.name) == name
    ]
    if not commands and not groups:
        return app
    lean = copy.copy(app)
    lean.registered_commands, lean.registered_groups = commands, groups
    return lean


def _usage_line(usage: Any) -> str:
    """Click's message on one line, with the command whose --help lists what it takes."""
    message = " ".join(usage.format_message().split()).rstrip(".")
    command = usage.ctx.command_path if usage.ctx is not None else "hub"
    return f"{message} (see {command} --help)"


def _interrupted(signum: int | None, debug: bool, stop: BaseException | None) -> int:
    import signal

    signum = signum or signal.SIGINT
    if debug and stop is not None:
        traceback.print_exception(stop)
    name = signal.Signals(signum).name
    typer.echo(f"hub: interrupted ({name}); temporary files removed, no output half written", err=True)
    return ExitCode.INTERRUPTED


def run() -> None:
    """Console-script entry point."""
    code = main()
    if code == ExitCode.INTERRUPTED:
        _interrupt_handled()
    sys.exit(code)


def _interrupt_handled() -> None:
    """Tell Python the KeyboardInterrupt was handled. CPython 3.11 notes one that crossed an inner
    evaluation (`_Py_UnhandledKeyboardInterrupt`, set even when the hub caught it further out) and then
    ends a `python -m` process by SIGINT at exit whatever code it was given: exit -2, not 130 (2 of 15
    SIGTERMs sent while `hub convert` read). Later versions keep the flag elsewhere: nothing to do."""
    import ctypes

    with contextlib.suppress(ValueError, AttributeError):
        ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt").value = 0


if __name__ == "__main__":
    run()
