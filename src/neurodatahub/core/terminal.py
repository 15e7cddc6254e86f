"""What every `hub` command shares: option annotations, KEY=VALUE parsing, tables and JSON on the terminal.

In the core so that the command groups of the kinds (`neurodatahub.<kind>.commands`) and the main commands
(`neurodatahub.cli`) use the same helpers; typer and rich are imported only by commands.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import logging
import signal
import typing
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from neurodatahub.core import words
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
JobsOption = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        metavar="N",
        min=1,
        help="Local worker processes (default: NEURODATAHUB_JOBS, else every CPU).",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Run on the Dask cluster at this address (tcp://host:8786; else DASK_SCHEDULER_ADDRESS).",
    ),
]


def pairs(given: list[str] | None, what: str) -> dict[str, Any]:
    """KEY=VALUE options, values read as YAML scalars (true, 3, 0.5, text); what YAML cannot read (a
    printf format such as %.6f starts like a YAML directive) is kept as the text given."""
    if not given:
        return {}
    import yaml

    parsed: dict[str, Any] = {}
    for pair in given:
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


def print_table(
    title: str,
    columns: list[str],
    rows: list[list[Any]],
    *,
    identifiers: Sequence[str] = (),
    optional: Sequence[str] = (),
) -> None:
    """A table that fits the terminal without cutting what users type next.

    `identifiers` (names `show` or `--from` take) are never wrapped nor cut; when the table is wider
    than the terminal, `optional` columns are left out, the last named first, and a note says which
    (`--json` has them all); what still does not fit wraps at spaces inside the other columns.
    """
    from rich.console import Console
    from rich.table import Table

    console = Console()
    texts = [["" if cell is None else str(cell) for cell in row] for row in rows]
    shown = list(columns)
    for dropped in reversed(optional):
        if _least_width(shown, columns, texts, identifiers) <= console.width:
            break
        shown.remove(dropped)
    hidden = [column for column in columns if column not in shown]
    caption = f"not shown at this width: {', '.join(hidden)} (see --json)" if hidden else None
    table = Table(title=title, caption=caption)
    for column in shown:
        if column in identifiers:
            table.add_column(column, no_wrap=True, min_width=_widest(column, columns, texts))
        else:  # wrapped at spaces; no word shorter than LONG_WORD is split, longer ones fold, none is cut
            table.add_column(column, overflow="fold", min_width=_longest_word(column, columns, texts))
    for row in texts:
        table.add_row(*(row[columns.index(column)] for column in shown))
    console.print(table)


def _widest(column: str, columns: list[str], texts: list[list[str]]) -> int:
    at = columns.index(column)
    return max([len(column), *(len(row[at]) for row in texts)])


WRAPPED_WIDTH = 32  # the narrowest a wrapped column is worth showing at
LONG_WORD = 24  # words up to this long stay whole in wrapped columns (freesurfer-morph, file names)


def _longest_word(column: str, columns: list[str], texts: list[list[str]]) -> int:
    at = columns.index(column)
    return min(max((len(word) for row in texts for word in row[at].split()), default=1), LONG_WORD)


def _least_width(
    shown: list[str], columns: list[str], texts: list[list[str]], identifiers: Sequence[str]
) -> int:
    """Width of the table with identifiers whole and other columns wrapped to WRAPPED_WIDTH at most,
    counting one space of padding each side of a cell and the rules between them."""
    widths = [
        _widest(column, columns, texts)
        if column in identifiers
        else min(_widest(column, columns, texts), WRAPPED_WIDTH)
        for column in shown
    ]
    return sum(width + 3 for width in widths) + 1


@dataclass(frozen=True)
class Shortcut:
    """A flag that stands for the option of the same name of whichever format declares it."""

    option: str
    type: type
    metavar: str | None
    help: str

    @property
    def flag(self) -> str:
        """Its spelling, from the one table messages use too (core.words)."""
        return words.FLAGS[self.option]


# the flags `hub info`, `validate` and `convert` take besides -R/-O; each is routed like -R/-O KEY=VALUE
SHORTCUTS = (
    Shortcut("sampling_rate", float, "HZ", "Sampling rate in Hz (times in samples, NWB, Phy)."),
    Shortcut("style", str, "NAME", "Layout of the output (HDF5 spikes: ragged, group, paired, raster)."),
    Shortcut("time_unit", str, "UNIT", "Time unit: s, ms or samples (samples need --fs)."),
    Shortcut("bin_size_ms", float, "MS", "Bin size in milliseconds (rasters)."),
    Shortcut("units_path", str, "PATH", "The table to read when a file holds several (NWB)."),
    Shortcut(
        "allow_pickle",
        bool,
        None,
        "Load pickle files. Unpickling runs code from the file: only for files you trust.",
    ),
)


def with_shortcuts(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the SHORTCUTS flags to a command; it receives the ones given as `shortcuts={option: value}`.

    One table instead of the same flags written into each command: the format that declares an option
    decides what it means (`hub formats FORMAT` lists them), and one that no format involved declares
    is a usage error, as with -R/-O.
    """
    signature = inspect.signature(command)
    own = [parameter for name, parameter in signature.parameters.items() if name != "shortcuts"]
    added = []
    for shortcut in SHORTCUTS:
        help_text = f"{shortcut.help} [option {shortcut.option}]"
        if shortcut.type is bool:
            annotation: Any = Annotated[bool, typer.Option(shortcut.flag, help=help_text)]
            default: Any = False
        else:
            annotation = Annotated[
                shortcut.type | None, typer.Option(shortcut.flag, metavar=shortcut.metavar, help=help_text)
            ]
            default = None
        added.append(
            inspect.Parameter(
                shortcut.option, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        given = {shortcut.option: kwargs.pop(shortcut.option) for shortcut in SHORTCUTS}
        # `is`, not `in`: 0 == False, and --fs 0 must reach the option's check, not vanish
        given = {name: value for name, value in given.items() if value is not None and value is not False}
        return command(shortcuts=given, **kwargs)

    hints = typing.get_type_hints(command, include_extras=True)
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[
            parameter.replace(annotation=hints.get(parameter.name, parameter.annotation)) for parameter in own
        ]
        + added
    )
    wrapper.__annotations__ = {
        parameter.name: parameter.annotation for parameter in wrapper.__signature__.parameters.values()
    }  # type: ignore[attr-defined]
    del wrapper.__wrapped__  # typer must see the new signature, not the command's
    return wrapper


class BatchProgress:
    """One progress bar for a batch on a terminal (files and bytes done, rate, ETA); silent otherwise."""

    def __init__(self, description: str = "converting") -> None:
        import sys

        self._description = description
        self._bar: Any = None
        self._task: Any = None
        self._files = (0, 0)
        self.enabled = sys.stderr.isatty()

    def __enter__(self) -> BatchProgress:
        return self

    def start(self, files: int, total_bytes: int) -> None:
        if not self.enabled or files < 2:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._files = (0, files)
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[files]} files"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(self._description, total=max(total_bytes, 1), files=f"0/{files}")

    def advance(self, done_bytes: int) -> None:
        if self._bar is None:
            return
        done, total = self._files
        self._files = (done + 1, total)
        self._bar.update(self._task, advance=done_bytes, files=f"{done + 1}/{total}")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def announce(message: str) -> None:
    """A note for the user on stderr (where a batch runs, its dashboard), kept off stdout for scripts."""
    typer.echo(message, err=True)


# ---- warnings, library log lines and signals: what every command prints and how it stops ----

WARNING_PREFIX = "hub: warning: "
# loggers of libraries that print their own lines on stderr (nibabel attaches a StreamHandler to
# nibabel.global for header problems such as "pixdim[1,2,3] should be non-zero; setting 0 dims to 1")
LIBRARY_LOGGERS = ("nibabel", "nibabel.global")
# loggers whose records are noise on the terminal without --debug: asyncio reports the tasks of a dying
# connection one traceback each (25 of them when an S3 server goes away mid-upload); the hub's own error
# line says what failed
NOISY_LOGGERS = ("asyncio", "aiobotocore", "botocore", "s3fs", "fsspec", "aiohttp")
_shown: set[str] = set()


def printable(text: object) -> str:
    """`text` with its control characters escaped (\x1b, \x1c...): messages quote names and values from
    files anyone can write, and a terminal must not be driven by them (nor a line split by them)."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(
        character if character.isprintable() or character in "\n\t" else repr(character)[1:-1]
        for character in value
    )


def printable_line(text: object) -> str:
    """`printable`, on one line: a library's message may span several (pyarrow's thrift errors end in a
    newline), and an error or a report line must stay one line."""
    return printable(" ".join(line.strip() for line in str(text).splitlines() if line.strip()))


def show_warning(message: object) -> None:
    """One `hub: warning: ...` line on stderr, whitespace collapsed; the same line is shown once.

    The one way the CLI prints a warning: Python warnings and library log records come here too
    (`one_line_warnings`), so a command group or another module can call it for its own warnings.
    """
    line = printable(" ".join(str(message).split()))
    if line and line not in _shown:
        _shown.add(line)
        typer.echo(WARNING_PREFIX + line, err=True)


class _ToWarningLine(logging.Filter):
    """Turns a library's log record into `show_warning` and keeps the library's own handler quiet."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            show_warning(record.getMessage())
        return False


@contextlib.contextmanager
def one_line_warnings(debug: bool = False) -> Iterator[None]:
    """Python warnings (nibabel's UserWarning, numpy's RuntimeWarning...) and library log lines as
    `show_warning` lines while a command runs; with `debug`, warnings keep Python's own format."""
    previous = warnings.showwarning
    to_line = _ToWarningLine()
    library_loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    noisy = {name: logging.getLogger(name) for name in NOISY_LOGGERS}
    levels = {name: logger.level for name, logger in noisy.items()}
    if not debug:
        warnings.showwarning = lambda message, *_, **__: show_warning(message)
        for logger in noisy.values():
            logger.setLevel(logging.CRITICAL + 1)
    for logger in library_loggers:
        logger.addFilter(to_line)
    try:
        yield
    finally:
        warnings.showwarning = previous
        for logger in library_loggers:
            logger.removeFilter(to_line)
        for name, logger in noisy.items():
            logger.setLevel(levels[name])
        _shown.clear()


TERMINATING_SIGNALS = ("SIGTERM", "SIGHUP")


_received: list[int] = []


def interrupting_signal() -> int | None:
    """The signal that stopped the command, if one did (typer turns the KeyboardInterrupt into exit
    130 on its way out, whichever signal raised it)."""
    return _received[-1] if _received else None


def _interrupt(signum: int, frame: Any) -> None:
    """Raise KeyboardInterrupt once, whichever signal came (noted for the message); further signals are
    ignored so that cleanup is not cut short."""
    _received.append(signum)
    for name in ("SIGINT", *TERMINATING_SIGNALS):
        with contextlib.suppress(AttributeError, ValueError):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the command as Ctrl-C does: a KeyboardInterrupt is raised where the main
    thread is, every `finally` on the way removes its temporary files, and the caller exits with
    ExitCode.INTERRUPTED (130) naming the signal (`interrupting_signal`). Only in the main thread
    (signals are delivered there). Batches put their own handlers in place while they run
    (core.execution), and these come back after."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    names = [name for name in ("SIGINT", *TERMINATING_SIGNALS) if hasattr(signal, name)]
    previous = {name: signal.getsignal(getattr(signal, name)) for name in names}
    for name in names:
        signal.signal(getattr(signal, name), _interrupt)
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)
