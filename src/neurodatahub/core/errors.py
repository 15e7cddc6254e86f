"""One exception hierarchy, so the CLI can turn any failure into one line and a documented exit code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class ExitCode:
    """Process exit codes of `hub` (the documentation's table is made from EXIT_CODE_MEANINGS)."""

    OK = 0
    INVALID = 1  # the data or document does not satisfy the schema
    USAGE = 2  # bad arguments, unreadable or unrecognised input
    LOSS = 3  # --strict and the target cannot store everything
    OUTPUT = 4  # the output exists (without --overwrite) or could not be written
    STORAGE = 5  # the storage backend (S3, HTTP...) failed or refused access
    INTERNAL = 70  # a bug: please report it with the --debug traceback
    INTERRUPTED = 130  # stopped by Ctrl-C, SIGTERM or SIGHUP (128 + SIGINT, as shells report Ctrl-C)


# what each exit code means, for the documentation (its table is generated from this)
EXIT_CODE_MEANINGS: dict[int, tuple[str, str]] = {
    ExitCode.OK: ("OK", "success; every validated path is valid"),
    ExitCode.INVALID: ("INVALID", "invalid: the data or document breaks the schema or an invariant"),
    ExitCode.USAGE: (
        "USAGE",
        "usage error, or an input that cannot be read (missing, truncated, unknown format)",
    ),
    ExitCode.LOSS: ("LOSS", "`--strict` and the target format cannot store everything"),
    ExitCode.OUTPUT: ("OUTPUT", "output problem: it exists (pass `--overwrite`) or could not be written"),
    ExitCode.STORAGE: ("STORAGE", "storage backend failure (network, credentials, permissions)"),
    ExitCode.INTERNAL: (
        "INTERNAL",
        "internal error (a bug): rerun with `--debug` for the traceback and report it",
    ),
    ExitCode.INTERRUPTED: (
        "INTERRUPTED",
        "stopped by Ctrl-C or SIGTERM; a batch leaves whole outputs only and its report says what was done",
    ),
}


class HubError(Exception):
    """Base of every error the hub raises on purpose."""

    exit_code = ExitCode.INTERNAL


class UsageError(HubError):
    """The request itself is wrong: unknown option, format or class."""

    exit_code = ExitCode.USAGE


class InputError(HubError):
    """An input cannot be read: missing, truncated, or of an unknown format."""

    exit_code = ExitCode.USAGE


class UnrecognisedInputError(InputError):
    """Not data the hub reads: a file of no known format, or a known container that holds none of the
    hub's data (an NWB file without a Units table, a JSON file of no data class). Dataset validation
    lists such files as skipped instead of failing on them."""


class InvalidDataError(HubError):
    """Data was read but breaks the schema or one of its invariants."""

    exit_code = ExitCode.INVALID

    def __init__(self, message: str, problems: list[dict] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class LossError(HubError):
    """Under --strict, the target format cannot store part of the data."""

    exit_code = ExitCode.LOSS


class OutputError(HubError):
    """The output cannot be written (exists without overwrite, or the write failed)."""

    exit_code = ExitCode.OUTPUT


class StorageError(HubError):
    """The storage backend failed: network, credentials, permissions."""

    exit_code = ExitCode.STORAGE


class Interrupted(HubError):
    """Ctrl-C or SIGTERM stopped a batch; what was finished is whole, the rest was not started or undone."""

    exit_code = ExitCode.INTERRUPTED


def _malformed_types() -> tuple[type[BaseException], ...]:
    import struct
    import zlib

    return (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        OverflowError,
        ArithmeticError,
        UnicodeError,
        EOFError,
        OSError,
        struct.error,
        zlib.error,
    )


@contextlib.contextmanager
def unreadable_input(url: str, what: str) -> Iterator[None]:
    """What a parser raises on content it did not expect, as InputError (exit 2) naming the file.

    The boundary of every read (core.conversion): readers raise InputError with a precise message for
    what they check; a file crafted past those checks makes numpy, h5py, json or zipfile raise instead,
    and that is still bad input, not a bug of the hub (the traceback stays available with --debug).
    Pydantic's ValidationError (a ValueError) is left to the caller, which reports it as invalid data.
    """
    try:
        yield
    except HubError:
        raise
    except RecursionError as error:
        raise InputError(f"{url}: nested too deeply to be read as {what}") from error
    except MemoryError as error:
        raise InputError(
            f"{url}: ran out of memory reading it as {what}; lower --max-memory so that large"
            " declarations are refused before they are read"
        ) from error
    except _malformed_types() as error:
        if type(error).__name__ == "ValidationError":
            raise
        detail = " ".join(str(error).split())[:300] or "no details"
        raise InputError(f"{url}: cannot be read as {what} ({type(error).__name__}: {detail})") from error
