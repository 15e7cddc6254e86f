"""References from a file to other files: refused unless allowed, and then only inside the input's folder.

HDF5 can keep a dataset's bytes in another file (external storage), link to objects of other files
(external links) and map datasets onto other files (virtual datasets); GIfTI can keep a data array in an
external binary file. Followed blindly, a file anyone can push would make `hub convert` copy
`/etc/passwd` into its output. Every reader of a format with references calls `check` for each one it
finds before anything is read; a future format with references calls it the same way.

The rule: refused (exit 2, one line) unless `--allow-external` (CLI) or `allow_external=True` (Python
API); allowed, a reference must resolve to a file inside the folder of a local input (symbolic links
resolved), never above it, never elsewhere, and never from a remote input (the libraries would read the
local disk).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError

_allowed: ContextVar[bool] = ContextVar("neurodatahub_allow_external", default=False)


class ExternalReferenceError(InputError):
    """A file points at data outside itself that the hub may not read."""


def external_allowed() -> bool:
    return _allowed.get()


@contextlib.contextmanager
def allowing(allow: bool | None) -> Iterator[None]:
    """Run with references allowed or not (None: keep the policy in force); the API's `allow_external=`."""
    if allow is None:
        yield
        return
    token = _allowed.set(bool(allow))
    try:
        yield
    finally:
        _allowed.reset(token)


def set_allowed(allow: bool) -> None:
    """The policy for the rest of this context (the CLI's --allow-external, set once per command)."""
    _allowed.set(bool(allow))


def check(target: str, url: str, what: str) -> Path:
    """The local file a reference of `url` to `target` may be read from; ExternalReferenceError otherwise.

    `target` is the name as the file stores it (relative names are relative to the input's folder, as
    the libraries resolve them); `what` says which kind of reference, for the message.
    """
    if not external_allowed():
        raise ExternalReferenceError(
            f"{url}: {what} points outside the file, to {target!r}; the hub reads nothing outside its input"
            " (pass --allow-external to read files in the input's own folder)"
        )
    if not storage.is_local(url):
        raise ExternalReferenceError(
            f"{url}: {what} points to {target!r}, outside a remote file: external data is read only for"
            " local inputs"
        )
    folder = storage.local_path(url).resolve().parent
    resolved = (folder / target).resolve()
    if not resolved.is_relative_to(folder):
        raise ExternalReferenceError(
            f"{url}: {what} points to {target!r}, outside the input's folder {folder}; refused even with"
            " --allow-external"
        )
    return resolved
