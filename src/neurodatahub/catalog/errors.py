"""Fetch failures, placed in the hub's hierarchy so the CLI maps them to its documented exit codes."""

from __future__ import annotations

from neurodatahub.core.errors import ExitCode, HubError, InputError, OutputError, StorageError


class FetchError(StorageError):
    """A download could not be completed: network, server or source problem (exit 5)."""


class AuthenticationError(FetchError):
    """The source refused access: a key is missing or wrong. Messages never contain the key."""


class IntegrityError(FetchError):
    """A downloaded file does not match its published size or hash; the file was deleted."""


class UnsafeArchiveError(InputError):
    """An archive holds a member that would land outside its folder (absolute path, `..`, link)."""


class DiskSpaceError(OutputError):
    """Not enough free space in the target folder for the download and its extraction (exit 4)."""


class NotRegisteredError(InputError, FileNotFoundError):
    """No registered entry and no existing path of that name (a FileNotFoundError, as in lacuna)."""


class NoMatchError(HubError):
    """A query found nothing (exit 1, like a check that fails); the message names the nearest values."""

    exit_code = ExitCode.INVALID
