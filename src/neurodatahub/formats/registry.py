"""The format registry: what each format is, reads, writes and cannot store.

Every module below `neurodatahub.formats` (except this one and modules named `common`) is a format
module: it calls `register_format` at import and keeps its heavy imports inside its functions. They are
found and imported on first use, so adding a format is adding a module, and `hub --help` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .. import storage
from ..errors import InputError, UsageError

NOT_FORMAT_MODULES = {"registry", "common"}

Reader = Callable[..., Any]  # (url, *, storage_options, **options) -> validated model
Writer = Callable[..., None]  # (model, local_path, **options) -> None, writes one file or folder
Verifier = Callable[..., None]  # (model, local_path, **options) -> None, raises when the output is wrong
LossCheck = Callable[..., list]  # (model, **options) -> list of Loss records


@dataclass(frozen=True)
class Probe:
    """What sniffers look at: the first bytes of a file, or the names in a folder."""

    url: str
    storage_options: Mapping[str, Any] | None = None

    @cached_property
    def is_dir(self) -> bool:
        return storage.is_dir(self.url, self.storage_options)

    @cached_property
    def head(self) -> bytes:
        return b"" if self.is_dir else storage.read_head(self.url, storage_options=self.storage_options)

    @cached_property
    def names(self) -> list[str]:
        return storage.list_names(self.url, self.storage_options) if self.is_dir else []

    @cached_property
    def hdf5_root(self) -> tuple[dict[str, str], set[str]] | None:
        """Root attributes (as text) and the paths of the first two levels of an HDF5 file, else None.

        Several formats are HDF5 inside (NWB, spike styles, spectral caches); they tell themselves
        apart by these, read once per probe.
        """
        from .common import is_hdf5, open_hdf5, text

        if self.is_dir or not is_hdf5(self.head):
            return None
        try:
            with open_hdf5(self.url, self.storage_options) as file:
                paths = set(file.keys())
                for name in list(paths):
                    if hasattr(file[name], "keys"):
                        paths.update(f"{name}/{child}" for child in file[name])
                return {key: text(value) for key, value in file.attrs.items()}, paths
        except InputError:
            return None


@dataclass(frozen=True)
class FormatSpec:
    """One file format of one kind of data."""

    name: str
    kind: str
    model: str  # name of the pivot class the format carries ("*": any class)
    description: str
    extensions: tuple[str, ...]
    read: Reader | None = None
    write: Writer | None = None
    sniff: Callable[[Probe], bool] | None = None
    read_options: Mapping[str, str] = field(default_factory=dict)
    write_options: Mapping[str, str] = field(default_factory=dict)
    cannot_store: tuple[str, ...] = ()
    losses: LossCheck | None = None
    directory: bool = False
    # a cheap check that a file just written holds the model; without one it is read back in full
    verify: Verifier | None = None

    def matches_extension(self, url: str) -> bool:
        name = Path(url.rstrip("/")).name.lower()
        return any(name.endswith(ext) for ext in self.extensions)

    def as_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "model": self.model,
            "extensions": list(self.extensions),
            "read": self.read is not None,
            "write": self.write is not None,
            "directory": self.directory,
            "description": self.description,
            "read_options": dict(self.read_options),
            "write_options": dict(self.write_options),
            "cannot_store": list(self.cannot_store),
        }


_FORMATS: dict[str, FormatSpec] = {}
_loaded = False


def register_format(spec: FormatSpec) -> FormatSpec:
    if spec.name in _FORMATS:
        raise ValueError(f"format {spec.name!r} is registered twice")
    _FORMATS[spec.name] = spec
    return spec


def format_modules() -> list[str]:
    """Names of the format modules, in a stable order."""
    package = importlib.import_module(__package__)
    return sorted(
        info.name
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{__package__}.")
        if not info.ispkg and info.name.rsplit(".", 1)[-1] not in NOT_FORMAT_MODULES
    )


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in format_modules():
            importlib.import_module(module)


def all_formats() -> list[FormatSpec]:
    _ensure_loaded()
    return sorted(_FORMATS.values(), key=lambda spec: (spec.kind, spec.name))


def get_format(name: str) -> FormatSpec:
    _ensure_loaded()
    try:
        return _FORMATS[name]
    except KeyError:
        raise UsageError(f"unknown format {name!r}; known formats: {', '.join(sorted(_FORMATS))}") from None


def detect_format(url: str, storage_options: Mapping[str, Any] | None = None) -> FormatSpec:
    """The format of an existing input: by content first, by extension second."""
    _ensure_loaded()
    if not storage.exists(url, storage_options):
        raise InputError(f"{url}: no such file or directory")
    probe = Probe(url, storage_options)
    readable = [spec for spec in all_formats() if spec.read is not None and spec.directory == probe.is_dir]
    by_content = [spec for spec in readable if spec.sniff is not None and spec.sniff(probe)]
    by_extension = [spec for spec in readable if spec.matches_extension(url)]
    both = [spec for spec in by_content if spec in by_extension]
    for candidates in (both, by_content, by_extension):
        if candidates:
            return candidates[0]
    raise InputError(f"cannot tell the format of {url}; name it with --from (see `hub formats`)")


def target_format(url: str, kind: str | None = None, name: str | None = None) -> FormatSpec:
    """The format to write `url` in: the one named, else the one its extension says, within a kind."""
    if name is not None:
        spec = get_format(name)
        if spec.write is None:
            raise UsageError(f"format {name!r} cannot be written")
    else:
        writable = [spec for spec in all_formats() if spec.write is not None and spec.matches_extension(url)]
        same_kind = [spec for spec in writable if kind is None or spec.kind == kind]
        same_kind = same_kind or [spec for spec in writable if spec.kind == "document"]
        if not same_kind:
            hint = f" for {kind} data" if kind and writable else ""
            raise UsageError(f"no writable format{hint} has the extension of {url}; name one with --to")
        spec = same_kind[0]
    if kind is not None and spec.kind not in (kind, "document"):
        raise UsageError(f"format {spec.name!r} holds {spec.kind} data, not {kind}")
    return spec
