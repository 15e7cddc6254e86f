"""What a batch conversion will do, decided before anything is written: one entry per source.

Each source gets its format (by content, as `hub convert` finds it), its kind, its size and its target.
A destination is a folder, which keeps the inputs' folder structure (`out/` + `sub-01/x.nwb` ->
`out/sub-01/x.h5`, the extension of `--to`), or a template whose fields come from each source:
`{relpath}` its folder below the input (empty at the top), `{stem}` its name without the format's
extension, `{name}` its whole name, `{ext}` that extension. Sources found by walking a folder, glob or
prefix that are of no known format, or of a kind the target cannot hold, are ignored; a source named
directly (a file argument, a manifest row) is a failure instead. Two entries writing one target, or an
entry writing over a source, are refused before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from neurodatahub.core import registry, storage
from neurodatahub.core.errors import HubError, UsageError

FIELDS = ("relpath", "stem", "name", "ext")
FIELD = re.compile(r"\{(\w*)\}")
TODO, IGNORED, FAILED = "todo", "ignored", "failed"


@dataclass(frozen=True)
class Source:
    """One file or format folder to convert, and what is known of it before it is looked at."""

    url: str
    relpath: str  # below the input it was found under, / separated; its name when named directly
    named: bool = False  # named directly: not being convertible is a failure, not a reason to ignore it
    target: str | None = None  # given by a manifest row
    from_format: str | None = None
    to_format: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # a manifest row's own options
    size: int | None = None  # in bytes, when listing the input gave it


@dataclass(frozen=True)
class Entry:
    """A planned conversion (status `todo`), or a source ignored or refused before anything runs."""

    source: Source
    status: str
    target: str | None = None
    reason: str | None = None
    exit_code: int = 0
    size: int = 0
    kind: str | None = None
    # the format found for the source, (its kind, its name): the conversion reads it as that format
    # instead of detecting it a second time
    found_format: tuple[str, str] | None = None


def is_template(destination: str) -> bool:
    return FIELD.search(destination) is not None


def check_destination(destination: str | None, to_format: str | None) -> None:
    """A template names only known fields; a folder destination needs the output format (`--to`)."""
    if destination is None:
        return
    unknown = sorted({name for name in FIELD.findall(destination) if name not in FIELDS})
    if unknown:
        known = ", ".join("{" + name + "}" for name in FIELDS)
        raise UsageError(f"unknown field {{{unknown[0]}}} in {destination}; a template may use {known}")
    if not is_template(destination) and to_format is None:
        raise UsageError(
            f"{destination} is a folder for many outputs: name their format with --to, or give a template "
            "such as out/{relpath}/{stem}.h5"
        )


def plan_source(
    source: Source,
    *,
    destination: str | None,
    from_format: str | None,
    to_format: str | None,
    kind: str | None,
    storage_options: Mapping[str, Any] | None = None,
) -> Entry:
    """Find a source's format, kind, size and target (runs on the workers: it reads each file's head).

    A source its listing gave with a size is known to be a file of that size: not asked for again.
    Whether targets exist is found out for all of them at once (`storage.existing`), by the client.
    """
    with storage.reading({source.url: source.size}):
        return _planned_source(source, destination, from_format, to_format, kind, storage_options)


def _planned_source(
    source: Source,
    destination: str | None,
    from_format: str | None,
    to_format: str | None,
    kind: str | None,
    storage_options: Mapping[str, Any] | None,
) -> Entry:
    from neurodatahub.core import conversion, kinds

    wanted_from = source.from_format or from_format
    wanted_to = source.to_format or to_format
    try:
        spec = registry.input_format(source.url, wanted_from, storage_options)
    except HubError as error:
        return _not_convertible(source, str(error) if source.named else "no known format", error.exit_code)
    data_kind = None if spec.kind == "document" else spec.kind
    if data_kind is None:  # a document holds any class: the class names the kind (documents are small)
        try:
            data_kind = kinds.kind_of_class(
                type(conversion.read_as(spec, source.url, storage_options)).__name__
            )
        except HubError as error:
            return _not_convertible(source, str(error), error.exit_code)
    if kind is not None and data_kind != kind:
        return Entry(source, IGNORED, reason=f"{data_kind or 'document'} data, not {kind}", kind=data_kind)
    try:
        target = source.target or _target(source, spec, destination, data_kind, wanted_to)
        registry.target_format(target, data_kind, wanted_to)
    except UsageError as error:
        return _not_convertible(source, str(error), error.exit_code, kind=data_kind)
    return Entry(
        source,
        TODO,
        target=target,
        size=source.size if source.size is not None else storage.size_of(source.url, storage_options),
        kind=data_kind,
        found_format=(spec.kind, spec.name),
    )


def _not_convertible(source: Source, reason: str, code: int, kind: str | None = None) -> Entry:
    if source.named:
        return Entry(source, FAILED, reason=reason, exit_code=code, kind=kind)
    return Entry(source, IGNORED, reason=reason, kind=kind)


def _target(
    source: Source, spec: Any, destination: str | None, kind: str | None, to_format: str | None
) -> str:
    if destination is None:
        raise UsageError(f"{source.url}: no target (give one in the manifest, or a destination)")
    relpath = PurePosixPath(source.relpath)
    name = relpath.name
    ext = _extension(name, spec)
    stem = name[: len(name) - len(ext)] if ext else name
    folder = "" if str(relpath.parent) == "." else str(relpath.parent)
    if is_template(destination):
        values = {"relpath": folder, "stem": stem, "name": name, "ext": ext}
        return _tidy(FIELD.sub(lambda match: values[match.group(1)], destination))
    extension = registry.target_format("", kind, to_format)  # a folder destination comes with --to
    written = f"{stem}{extension.extensions[0] if extension.extensions else ''}"
    return storage.join(destination, f"{folder}/{written}" if folder else written)


def _extension(name: str, spec: Any) -> str:
    """The format's extension the name ends with (the longest: .nii.gz before .gz), else its last suffix."""
    lowered = name.lower()
    matching = [ext for ext in spec.extensions if lowered.endswith(ext.lower())]
    if matching:
        return name[len(name) - len(max(matching, key=len)) :]
    return PurePosixPath(name).suffix


def _tidy(url: str) -> str:
    """A filled template without the doubled or dangling separators an empty {relpath} leaves."""
    scheme, sep, path = url.rpartition("://")
    path = re.sub(r"/{2,}", "/", path)
    return f"{scheme}{sep}{path}" if sep else path


def refuse_collisions(entries: Sequence[Entry]) -> None:
    """Two entries writing one target, or an entry writing over any source: refused before anything runs."""
    by_target: dict[str, Entry] = {}
    sources = {_key(entry.source.url): entry for entry in entries}
    for entry in entries:
        if entry.status != TODO or entry.target is None:
            continue
        key = _key(entry.target)
        if key in by_target:
            other = by_target[key]
            hint = " (put {relpath} in the template?)" if "{relpath}" not in entry.target else ""
            raise UsageError(
                f"{other.source.url} and {entry.source.url} would both be written to {entry.target}{hint}"
            )
        if key in sources:
            raise UsageError(f"{entry.source.url} would be written over the source {sources[key].source.url}")
        by_target[key] = entry


def _key(url: str) -> str:
    """One spelling per location: local paths made absolute and normalised."""
    if storage.is_local(url):
        import os

        return os.path.normpath(os.path.abspath(storage.local_path(url)))
    return url.rstrip("/")
