"""The format registry: what each format is, reads, writes and cannot store.

Every module in a kind's `formats` package (`neurodatahub.<package>.formats`, packages named by the
schema) is a format module, as is `core.documents`: it calls `register_format` at import and keeps its
heavy imports inside its functions. They are found and imported on first use, so adding a format is
adding a module, and `hub --help` stays fast. A format's pivot class is its kind's, from the schema.

Lookups by name or extension import only the modules that can match, found in `format_index` (written
by `make generate` from the modules themselves), and the list of `hub formats` comes from it; detection
by content alone, the formats' options and anything the index cannot answer load every module.

Other packages add formats through the entry-point group `neurodatahub.formats`: each entry is named
after its format and points at a module that calls `register_format` (or at a FormatSpec). A plugin is
imported when its format is asked for by name (`--from`, `--to`, `get_format`), or when every format is
needed (detection by content or extension, `hub formats`), as fsspec loads its implementations.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurodatahub.core import kinds, storage, words
from neurodatahub.core.errors import (
    HubError,
    InputError,
    UnrecognisedInputError,
    UsageError,
    unreadable_input,
)

if TYPE_CHECKING:
    from neurodatahub.core.options import Options

# core.options (pydantic) is imported where options are read: listing the formats needs none

CORE_FORMAT_MODULES = ("neurodatahub.core.documents",)

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
    def entry_type(self) -> str | None:
        """What is there: "file", "folder" or None (see storage.entry_type)."""
        return storage.entry_type(self.url, self.storage_options)

    @cached_property
    def is_dir(self) -> bool:
        return self.entry_type == "folder"

    @cached_property
    def head(self) -> bytes:
        return b"" if self.is_dir else storage.read_head(self.url, storage_options=self.storage_options)

    @cached_property
    def names(self) -> list[str]:
        return [name for name, _ in self.entries]

    @cached_property
    def folders(self) -> list[str]:
        """The names of the sub-folders (a sniffer looking into them skips the files: a remote call each)."""
        return [name for name, is_folder in self.entries if is_folder]

    @cached_property
    def entries(self) -> list[tuple[str, bool]]:
        """(name, is a folder) of a folder's entries, sorted; empty for a file."""
        return storage.list_entries(self.url, self.storage_options) if self.is_dir else []

    @cached_property
    def hdf5_root(self) -> tuple[dict[str, str], set[str]] | None:
        """Root attributes (as text) and the paths of the first two levels of an HDF5 file, else None.

        Several formats are HDF5 inside (NWB, spike styles, spectral caches); they tell themselves
        apart by these, read once per probe.
        """
        from neurodatahub.core.codecs.hdf5 import is_hdf5, open_hdf5, text

        if self.is_dir or not is_hdf5(self.head):
            return None
        from neurodatahub.core.references import ExternalReferenceError

        try:
            with open_hdf5(self.url, self.storage_options, reads_data=False) as file:
                import h5py

                paths = set(file.keys())
                for name in list(paths):
                    if file.get(name, getclass=True) is h5py.Group:  # the class only: no object opened
                        paths.update(f"{name}/{child}" for child in file[name])
                return {key: text(value) for key, value in file.attrs.items()}, paths
        except ExternalReferenceError:
            raise  # the file is HDF5: say why it is refused, not that its format is unknown
        except (InputError, RuntimeError, SystemError, ValueError):  # h5py's errors on damaged metadata
            return None


@dataclass(frozen=True)
class FormatSpec:
    """One file format of one kind of data."""

    name: str
    kind: str  # a value of the schema's DataKind
    description: str
    extensions: tuple[str, ...]
    read: Reader | None = None
    write: Writer | None = None
    sniff: Callable[[Probe], bool] | None = None
    # what the reader and the writer take, as typed models (core.options); None: no options
    read_options: type[Options] | None = None
    write_options: type[Options] | None = None
    cannot_store: tuple[str, ...] = ()
    losses: LossCheck | None = None
    directory: bool = False
    # a cheap check that a file just written holds the model; without one it is read back in full
    verify: Verifier | None = None
    # True: `verify` reads the whole output back into a validated model, so outputs small enough to be
    # read back in full (conversion.READ_BACK_BYTES) are not read a second time by `read`
    verify_reads_back: bool = False
    # False: an input is this format only when its content says so (the extension belongs to a format
    # of another kind); the extension still names it as an output
    claims_extension: bool = True
    # companion files the writer puts beside the main file (a JSON sidecar): main url -> their urls;
    # conversions refuse existing ones without overwrite and place them together with the main file
    sidecars: Callable[[str], tuple[str, ...]] | None = None
    # formats of data larger than memory read and write a `streaming.Stream` (header, then chunks);
    # `read` and `write` are derived from them when not given
    read_stream: Callable[..., Any] | None = None
    write_stream: Callable[..., None] | None = None
    # a summary from the header alone, (url, *, storage_options, **read options) -> dict with "class":
    # `hub info` uses it so that data too big to read through (or remote) is described in a few reads;
    # None from it means a full read describes this file better (`summarize_file`)
    describe: Callable[..., dict[str, Any] | None] | None = None

    @property
    def model(self) -> str:
        """The pivot class of the format's kind ("*": documents hold any class)."""
        return kinds.pivot_class(self.kind) or "*"

    def reads_option(self, name: str) -> bool:
        from neurodatahub.core import options

        return name in options.names(self.read_options)

    def writes_option(self, name: str) -> bool:
        from neurodatahub.core import options

        return name in options.names(self.write_options)

    def checked_read_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The reader's options validated, defaults filled in (UsageError before anything is read)."""
        from neurodatahub.core import options

        return options.validated(self.read_options, given, f"the {self.name} reader")

    def checked_write_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The writer's options validated, defaults filled in (UsageError before anything is written)."""
        from neurodatahub.core import options

        return options.validated(self.write_options, given, f"the {self.name} writer")

    def matches_extension(self, url: str) -> bool:
        return _has_extension(url, self.extensions)

    def as_row(self) -> dict[str, Any]:
        from neurodatahub.core import options

        return {
            "name": self.name,
            "kind": self.kind,
            "model": self.model,
            "extensions": list(self.extensions),
            "read": self.read is not None,
            "write": self.write is not None,
            "directory": self.directory,
            "description": self.description,
            "read_options": options.describe(self.read_options),
            "write_options": options.describe(self.write_options),
            "cannot_store": list(self.cannot_store),
            "streams": self.read_stream is not None or self.write_stream is not None,
        }


# keyed by (kind, name): formats of different kinds may share a name (spike and region tables are both "tsv")
_FORMATS: dict[tuple[str, str], FormatSpec] = {}
_loaded = False
ENTRY_POINT_GROUP = "neurodatahub.formats"
_plugins_loaded: set[str] = set()


def _sniffs(spec: FormatSpec, probe: Probe) -> bool:
    """Whether `spec` recognises the probe; content that trips a sniffer is simply not that format.

    Refusals that concern the file whatever its format (a reference outside it, a declaration over the
    budget, a storage failure) are raised, so the user hears them instead of "unknown format".
    """
    from neurodatahub.core.budget import BudgetError
    from neurodatahub.core.references import ExternalReferenceError

    if spec.sniff is None:
        return False
    try:
        with unreadable_input(probe.url, spec.name):
            return bool(spec.sniff(probe))
    except (ExternalReferenceError, BudgetError):
        raise
    except InputError:
        return False
    except HubError:
        raise


def register_format(spec: FormatSpec) -> FormatSpec:
    """Add a format; its kind must be one of the schema's (plugins call this at import too)."""
    if spec.kind not in kinds.kind_names():
        raise ValueError(f"format {spec.name!r}: {spec.kind!r} is not a kind of the schema (DataKind)")
    if (spec.kind, spec.name) in _FORMATS:
        raise ValueError(f"format {spec.name!r} of {spec.kind} data is registered twice")
    if spec.read is None and spec.read_stream is not None:
        spec = replace(spec, read=_reader_from_stream(spec.read_stream))
    if spec.write is None and spec.write_stream is not None:
        spec = replace(spec, write=_writer_from_stream(spec.write_stream))
    _FORMATS[(spec.kind, spec.name)] = spec
    return spec


def _reader_from_stream(read_stream: Callable[..., Any]) -> Reader:
    def read(url: str, *, storage_options: Mapping[str, Any] | None = None, **options: Any) -> Any:
        from neurodatahub.core.streaming import collect

        with read_stream(url, storage_options=storage_options, **options) as stream:
            return collect(stream)

    return read


def _writer_from_stream(write_stream: Callable[..., None]) -> Writer:
    def write(model: Any, path: Path, **options: Any) -> None:
        from neurodatahub.core.streaming import Stream

        write_stream(Stream.of(model), path, **options)

    return write


def format_modules() -> list[str]:
    """Names of the built-in format modules, in a stable order (found on disk, not imported)."""
    root = Path(__file__).resolve().parent.parent
    found = list(CORE_FORMAT_MODULES)
    for package in kinds.kind_packages():
        folder = root / package / "formats"
        found += sorted(
            f"neurodatahub.{package}.formats.{info.name}"
            for info in pkgutil.iter_modules([str(folder)])
            if not info.ispkg
        )
    return found


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in format_modules():
            importlib.import_module(module)


def _indexed(keep: Callable[[tuple], bool]) -> list[FormatSpec]:
    """The built-in formats whose index rows `keep` accepts, importing only their modules.

    A stale index (a module that no longer registers a row's format) falls back to loading every module.
    """
    from neurodatahub.core.format_index import FORMATS

    rows = [row for row in FORMATS if keep(row)]
    for module in dict.fromkeys(row[2] for row in rows):
        importlib.import_module(module)
    found = [_FORMATS.get((row[0], row[1])) for row in rows]
    if None in found:
        _ensure_loaded()
        found = [_FORMATS[(row[0], row[1])] for row in rows if (row[0], row[1]) in _FORMATS]
    return sorted(found, key=lambda spec: (spec.kind, spec.name))


def _has_extension(url: str, extensions: tuple[str, ...]) -> bool:
    return _file_name(url).endswith(extensions)


@functools.lru_cache(maxsize=256)
def _file_name(url: str) -> str:
    """The lower-case last part of a path or URL: asked once per format of the index on every lookup."""
    return url.rstrip("/").rpartition("/")[2].lower()


@functools.cache
def plugin_entry_points() -> dict[str, Any]:
    """The installed plugins' entry points by format name (read once: it scans installed metadata)."""
    from importlib.metadata import entry_points

    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}


def load_plugin(name: str) -> None:
    """Import the plugin that provides format `name`; a broken plugin is a warning, not a crash."""
    entry = plugin_entry_points().get(name)
    if entry is None or name in _plugins_loaded:
        return
    _plugins_loaded.add(name)
    try:
        loaded = entry.load()
    except Exception as error:  # a third party's import error must not break the hub's own formats
        warnings.warn(f"format plugin {name!r} ({entry.value}) failed to load: {error}", stacklevel=2)
        return
    if isinstance(loaded, FormatSpec) and _FORMATS.get((loaded.kind, loaded.name)) is not loaded:
        register_format(loaded)


def all_formats() -> list[FormatSpec]:
    _ensure_loaded()
    for name in plugin_entry_points():
        load_plugin(name)
    return sorted(_FORMATS.values(), key=lambda spec: (spec.kind, spec.name))


@dataclass(frozen=True)
class FormatListing:
    """What the list of formats says of one: from the index for a built-in format (no module imported)."""

    kind: str
    name: str
    extensions: tuple[str, ...]
    directory: bool
    readable: bool
    writable: bool
    cannot_store: tuple[str, ...]

    @classmethod
    def of(cls, spec: FormatSpec) -> FormatListing:
        return cls(
            spec.kind,
            spec.name,
            spec.extensions,
            spec.directory,
            spec.read is not None,
            spec.write is not None,
            spec.cannot_store,
        )


def format_listings() -> list[FormatListing]:
    """Every format as `hub formats` lists it: built-in ones from the index, plugins and formats registered
    in this process from their specs (which win over the index: they are what runs)."""
    from neurodatahub.core.format_index import FORMATS

    for name in plugin_entry_points():
        load_plugin(name)
    listed = {
        (kind, name): FormatListing(kind, name, extensions, directory, readable, writable, cannot_store)
        for kind, name, _, extensions, directory, readable, writable, _, cannot_store in FORMATS
    }
    listed.update({key: FormatListing.of(spec) for key, spec in _FORMATS.items()})
    return sorted(listed.values(), key=lambda listing: (listing.kind, listing.name))


def get_format(name: str, kind: str | None = None) -> FormatSpec:
    """The format called `name` (of `kind`, when several kinds have a format of that name)."""
    candidates = formats_named(name, kind)
    if len(candidates) > 1:
        kinds = ", ".join(spec.kind for spec in candidates)
        raise UsageError(f"format {name!r} exists for {kinds} data; say which kind")
    return candidates[0]


def formats_named(name: str, kind: str | None = None) -> list[FormatSpec]:
    _indexed(lambda row: row[1] == name)  # imports the built-in modules that define it
    if not any(spec_name == name for _, spec_name in _FORMATS):
        load_plugin(name)
    found = sorted(
        (
            spec
            for (spec_kind, spec_name), spec in _FORMATS.items()
            if spec_name == name and kind in (None, spec_kind)
        ),
        key=lambda spec: (spec.kind, spec.name),
    )
    if not found:
        _ensure_loaded()
        known = ", ".join(sorted({spec_name for _, spec_name in _FORMATS} | set(plugin_entry_points())))
        raise UsageError(
            f"unknown format {name!r}{f' for {kind} data' if kind else ''}; known formats: {known}"
        )
    return found


def input_format(
    url: str,
    name: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    kind: str | None = None,
    class_name: str | None = None,
) -> FormatSpec:
    """The format to read `url` as: the one named (its content decides between kinds), else detected;
    `kind` restricts both to one kind of data; `class_name` (--class, a dataset's per-file class) then
    picks the format of that class's kind."""
    if kind is not None:
        kinds.require_kind(kind)
    spec = _input_format(url, name, storage_options, kind)
    return spec if class_name is None else for_class(spec, class_name)


def for_class(spec: FormatSpec, class_name: str) -> FormatSpec:
    """The format of the same name that holds `class_name`'s kind: a NIfTI read as a scalar map although
    its name says mask. Documents hold any class; a class of no kind leaves the format as it is."""
    kind = kinds.kind_of_class(class_name)
    if kind is None or kind == spec.kind or spec.kind == "document":
        return spec
    for sibling in formats_named(spec.name):
        if sibling.kind == kind:
            return sibling
    raise UsageError(f"format {spec.name!r} does not hold {class_name} ({kind} data)")


def _input_format(
    url: str, name: str | None, storage_options: Mapping[str, Any] | None, kind: str | None
) -> FormatSpec:
    if name is None:
        return detect_format(url, storage_options, kind)
    candidates = formats_named(name, kind)
    if len(candidates) > 1:
        probe = Probe(url, storage_options)
        candidates = (
            [spec for spec in candidates if _sniffs(spec, probe)]
            or [spec for spec in candidates if spec.claims_extension]
            or candidates
        )
    if len(candidates) > 1:
        listed = ", ".join(spec.kind for spec in candidates)
        raise UsageError(
            f"{url}: format {name!r} exists for {listed} data and the content does not tell which;"
            f" say which with {words.option('kind', words.Placeholder('KIND'))}"
        )
    return candidates[0]


def directory_format(
    url: str,
    storage_options: Mapping[str, Any] | None = None,
    entries: list[tuple[str, bool]] | None = None,
) -> FormatSpec | None:
    """The format a folder is (Phy, BIDS derivatives, a catalog...), by content; None for a plain folder.

    Only the modules of directory formats are imported; walkers ask this at every folder they visit and
    pass the `entries` they listed ((name, is a folder), as `storage.list_entries` gives them), so the
    folder is not listed twice.
    """
    probe = Probe(url, storage_options)
    if entries is not None:
        probe.__dict__.update(is_dir=True, entries=sorted(entries))  # the cached property, known already
    for spec in _indexed(lambda row: row[4] and row[5]):
        if _sniffs(spec, probe):
            return spec
    return None


def detect_format(
    url: str, storage_options: Mapping[str, Any] | None = None, kind: str | None = None
) -> FormatSpec:
    """The format of an existing input: by content first, by extension second."""
    return detect(url, storage_options, kind)[0]


def detect(
    url: str, storage_options: Mapping[str, Any] | None = None, kind: str | None = None
) -> tuple[FormatSpec, bool]:
    """The format of an existing input, and whether its content says so (False: the extension alone).

    The formats whose extension matches are tried first (only their modules are imported): one whose
    content matches too wins, as it would among all formats. Otherwise every format is consulted.
    Tables of several kinds share extensions (.tsv, .csv, .json) and are told apart by their columns;
    content that two kinds accept is an error unless `kind` says which.
    """
    probe = Probe(url, storage_options)
    if probe.entry_type is None:
        raise InputError(f"{url}: no such file or directory")
    likely = _indexed(
        lambda row: (
            row[5] and row[4] == probe.is_dir and _has_extension(url, row[3]) and kind in (None, row[0])
        )
    )
    matched = [spec for spec in likely if _sniffs(spec, probe)]
    if matched:
        return _one_kind(url, matched), True
    readable = [
        spec
        for spec in all_formats()
        if spec.read is not None and spec.directory == probe.is_dir and kind in (None, spec.kind)
    ]
    by_content = [spec for spec in readable if _sniffs(spec, probe)]
    by_extension = [spec for spec in readable if spec.matches_extension(url)]
    both = [spec for spec in by_content if spec in by_extension]
    by_extension = [spec for spec in by_extension if spec.claims_extension]
    for candidates in (both, by_content):
        if candidates:
            return _one_kind(url, candidates), True
    if by_extension:
        chosen = by_extension[0]
        others = [spec for spec in readable if spec.matches_extension(url) and spec is not chosen]
        # a format without a sniffer cannot be told by content: its extension is all there is to confirm
        return (replace(chosen, read=_explained(chosen, others)) if others else chosen), chosen.sniff is None
    of_kind = f" as {kind} data" if kind else ""
    raise UnrecognisedInputError(
        f"cannot tell the format of {url}{of_kind}; name it with --from (see `hub formats`)"
    )


def _explained(chosen: FormatSpec, others: list[FormatSpec]) -> Reader:
    """`chosen`'s reader, for a file no format recognised by content and several share the extension of:
    when it fails, every other format of the extension is tried too, and the error says what each
    found, not only the chosen reader's complaint; one that reads the file is named instead."""

    from neurodatahub.core.budget import BudgetError
    from neurodatahub.core.references import ExternalReferenceError

    refusals = (BudgetError, ExternalReferenceError)  # about the file whatever its format: said as they are

    def read(url: str, *, storage_options: Mapping[str, Any] | None = None, **options: Any) -> Any:
        try:
            with unreadable_input(url, chosen.name):
                return chosen.read(url, storage_options=storage_options, **options)  # type: ignore[misc]
        except refusals:
            raise
        except InputError as error:
            found = {_finding(url, error): [f"{chosen.kind} {chosen.name}"]}
        for spec in others:
            try:
                with unreadable_input(url, spec.name):
                    spec.read(url, storage_options=storage_options)  # type: ignore[misc]
            except refusals:
                raise
            except HubError as error:
                found.setdefault(_finding(url, error), []).append(f"{spec.kind} {spec.name}")
            else:
                first = next(iter(found))
                raise UsageError(
                    f"{url} is not {chosen.kind} data (as {chosen.kind} {chosen.name}: {first}) but reads"
                    f" as {spec.kind} data; say so with {words.option('kind', spec.kind)}"
                )
        # formats of several kinds sharing one reader (an .mgz as each image kind) find the same: once
        said = "; ".join(f"as {', '.join(formats)}: {finding}" for finding, formats in found.items())
        raise InputError(f"no format reads {url}: {said}")

    return read


def _finding(url: str, error: HubError) -> str:
    """A reader's complaint without the file's name (the message names it once)."""
    return str(error).replace(f"{url}: ", "")


def _one_kind(url: str, matched: list[FormatSpec]) -> FormatSpec:
    """The first format whose content matched, unless formats of several kinds matched: then the user
    says which (documents hold any class, so they never make a file ambiguous)."""
    found = list(dict.fromkeys(spec.kind for spec in matched if spec.kind != "document"))
    if len(found) > 1:
        raise UsageError(
            f"{url} reads as {' and as '.join(found)} data; say which with"
            f" {words.option('kind', words.Placeholder('KIND'))}"
        )
    return matched[0]


def _refuse_cross_kind(url: str, kind: str | None) -> None:
    """A target of another kind that an operation makes from this one (the schema's DataKind annotations
    `leads_to` and `leads_by`): the error names the operation instead of "no format"."""
    target_kind = kinds.enum_annotation("DataKind", "leads_to").get(kind or "")
    if target_kind and _indexed(lambda row: row[0] == target_kind and row[6] and _has_extension(url, row[3])):
        how = kinds.enum_annotation("DataKind", "leads_by")[kind or ""].replace("{output}", url)
        raise UsageError(f"{kind} -> {target_kind} {how}")


def target_format(url: str, kind: str | None = None, name: str | None = None) -> FormatSpec:
    """The format to write `url` in: the one named, else the one its extension says, within a kind.

    Documents hold any kind of data, so they are a fallback for every kind.
    """
    kinds = (kind, "document") if kind else None
    if name is not None:
        candidates = [spec for spec in formats_named(name) if kinds is None or spec.kind in kinds]
        if not candidates:
            raise UsageError(f"format {name!r} does not hold {kind} data")
    else:
        candidates = _indexed(
            lambda row: row[6] and _has_extension(url, row[3]) and (kinds is None or row[0] in kinds)
        )
        if not candidates:  # a plugin's extension, or a format registered at run time
            candidates = [
                spec for spec in all_formats() if spec.write is not None and spec.matches_extension(url)
            ]
            candidates = [spec for spec in candidates if kinds is None or spec.kind in kinds]
        if not candidates:
            _refuse_cross_kind(url, kind)
            hint = f" for {kind} data" if kind else ""
            raise UsageError(f"no writable format{hint} has the extension of {url}; name one with --to")
    # the data's own kind first, then documents (which hold anything); with no kind known, documents
    candidates.sort(key=lambda spec: (spec.kind != kind, spec.kind != "document"))
    if kind is None and len({spec.kind for spec in candidates}) > 1 and candidates[0].kind != "document":
        raise UsageError(f"{url}: several kinds of data use that format; name the kind")
    spec = candidates[0]
    if spec.write is None:
        raise UsageError(f"format {spec.name!r} cannot be written")
    return spec
