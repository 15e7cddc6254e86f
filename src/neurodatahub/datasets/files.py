"""One file of a dataset validated: a pure function of (item, settings) that workers run.

The file is sniffed once (or read as the format, kind or class its settings name), read through the
registry (reading validates), and every problem gets a code. Nothing here writes anything: validation
never touches the dataset. `validate_item` and its arguments pickle, so any Dask worker can run it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from neurodatahub.core import budget, references
from neurodatahub.core.errors import ExitCode, UsageError
from neurodatahub.datasets.checks import define
from neurodatahub.datasets.inputs import Item
from neurodatahub.datasets.results import CHECKED, SKIPPED, FileResult, Problem

UNKNOWN = define(
    "NDH001",
    "unknown-file",
    "info",
    "Not data the hub reads (no known format, or a known container holding none of the hub's data, such"
    " as an NWB file without a Units table): listed as skipped; an error with require-known",
    ExitCode.USAGE,
)
UNREADABLE = define(
    "NDH002",
    "unreadable",
    "error",
    "The file cannot be read: truncated, corrupt, or not what its format or extension says",
    ExitCode.USAGE,
)
SETTINGS = define(
    "NDH003",
    "settings-do-not-apply",
    "error",
    "The format, kind, class or reader options given for the file (command line or configuration) do not"
    " apply to it",
    ExitCode.USAGE,
)
STORAGE = define(
    "NDH004",
    "storage-failure",
    "error",
    "The storage backend failed while reading the file (network, credentials, permissions)",
    ExitCode.STORAGE,
)
SCHEMA = define(
    "NDH101",
    "schema",
    "error",
    "The data breaks the schema: a required field missing, a value of the wrong type, range or enum",
)
INVARIANT = define(
    "NDH102",
    "invariant",
    "error",
    "The data breaks an invariant of its class (spike times sorted per unit, a binary non-empty mask, a"
    " square matrix with one unique label per row, an invertible affine...)",
)
FORMAT_RULES = define(
    "NDH103",
    "format-rules",
    "error",
    "The file breaks its format's own rules: parts that disagree (an index that does not fit its data, a"
    " matrix that is not square), the layout of a BIDS derivatives or catalog folder",
)
READER_WARNING = define(
    "NDH104",
    "reader-warning",
    "warning",
    "What the reader warns about while the data is valid (a BIDS derivatives folder's layout, a missing"
    " sidecar it could do without)",
)
FAILURE_CODES = {"unrecognised": UNKNOWN, "unreadable": UNREADABLE, "usage": SETTINGS, "storage": STORAGE}


@dataclass(frozen=True)
class FileSettings:
    """How one file is read: what the command line and the configuration's globs say of it."""

    format: str | None = None
    kind: str | None = None
    class_name: str | None = None
    read_options: Mapping[str, Any] = field(default_factory=dict)  # given for every file: kept where taken
    rule_options: Mapping[str, Any] = field(default_factory=dict)  # a glob's: each must apply to the file
    storage_options: Mapping[str, Any] | None = None
    role: str = "data"  # or "bids-metadata": a BIDS sidecar or table, checked by the BIDS rules
    # the safety limits of the run (core.references, core.budget), carried to workers in other threads and
    # processes, where the command line's --allow-external and --max-memory are not in force
    allow_external: bool = False
    max_memory: int | None = None
    # draw the HTML report's thumbnail too, from the bytes validation fetched (no key: the result is the
    # same; a cached result's thumbnail comes from the cache or is drawn by the report)
    thumbnail: bool = False

    def cache_key(self) -> dict[str, Any]:
        """What the result depends on besides the bytes (storage options do not change the data)."""
        return {
            "format": self.format,
            "kind": self.kind,
            "class": self.class_name,
            "read_options": dict(sorted(self.read_options.items())),
            "rule_options": dict(sorted(self.rule_options.items())),
            "role": self.role,
            "allow_external": self.allow_external,
            "max_memory": self.max_memory,
        }


def validate_item(
    item: Item, settings: FileSettings, storage_options: Mapping[str, Any] | None = None
) -> FileResult:
    """Validate one item; never raises for anything the file holds. `storage_options` (credentials)
    come apart from the settings, as the execution layer's hidden shared values."""
    if storage_options is not None:
        settings = replace(settings, storage_options=storage_options)
    with references.allowing(settings.allow_external), budget.limited(settings.max_memory):
        return _validate_item(item, settings)


def _validate_item(item: Item, settings: FileSettings) -> FileResult:
    from neurodatahub.core.errors import HubError

    started = time.perf_counter()
    if settings.role == "bids-metadata":
        from neurodatahub.datasets import bids

        try:
            result = bids.check_metadata(item, settings.storage_options)
        except HubError as error:  # gone, or the storage failed
            result = _failed(FileResult(item.url, item.relpath), error)
    else:
        result = _validate_data(item, settings)
    result.seconds = time.perf_counter() - started
    return result


def _validate_data(item: Item, settings: FileSettings) -> FileResult:
    """Detection, validation, the text check and the thumbnail share one reading() scope: a remote file's
    bytes are fetched once, however many of them look at it, and the size its listing gave is not asked
    again."""
    from neurodatahub.core import storage
    from neurodatahub.datasets import thumbnails

    with storage.reading({item.url: item.size}):
        result = _validated(item, settings)
        if settings.thumbnail and thumbnails.wanted(result):
            result.thumbnail = thumbnails.draw(
                item.url, result.format, result.model_class, settings.storage_options
            )
    return result


def _validated(item: Item, settings: FileSettings) -> FileResult:
    from neurodatahub.core.errors import HubError
    from neurodatahub.core.validation import validate_path
    from neurodatahub.datasets.facts import of_model

    result = FileResult(item.url, item.relpath)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            spec, confirmed = format_for(item.url, settings)
            _check_rule_options(spec, settings.rule_options, item.url)
        except HubError as error:
            return _failed(result, error)
        outcome = validate_path(
            item.url,
            spec=spec,
            class_name=settings.class_name,
            storage_options=settings.storage_options,
            read_options={**settings.read_options, **settings.rule_options},
            inspect=of_model,
        )
    result.format, result.kind, result.model_class = outcome.format, outcome.kind, outcome.model_class
    result.facts = outcome.facts
    if outcome.failure == "unreadable" and not confirmed and _is_text(item.url, settings):
        # a text file whose extension alone chose the format (a participants.tsv is no spike table) is
        # someone else's file; a binary one (a cut .nwb) is a broken file of that format
        outcome.failure = "unrecognised"
        outcome.error = f"{item.url}: not a {spec.name} file as its extension says ({outcome.error})"
    if outcome.failure in FAILURE_CODES:
        result.error = outcome.error
        result.status = SKIPPED if outcome.failure == "unrecognised" else CHECKED
        result.problems = [Problem(FAILURE_CODES[outcome.failure].code, outcome.error or "", item.url)]
        return result
    result.problems = [
        Problem(_code_of(problem), problem["message"], item.url, problem.get("location", ""))
        for problem in outcome.problems
    ]
    if outcome.failure is not None:
        result.error = outcome.error
    said = [*result.facts.pop("warnings", []), *(str(warning.message) for warning in caught)]
    result.problems += [Problem(READER_WARNING.code, message, item.url) for message in dict.fromkeys(said)]
    return result


def _is_text(url: str, settings: FileSettings) -> bool:
    from neurodatahub.core import storage
    from neurodatahub.core.errors import HubError

    try:
        head = storage.read_head(url, storage_options=settings.storage_options)
    except HubError:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(head) - 3 and b"\0" not in head  # a character cut at the end
    return b"\0" not in head


def _failed(result: FileResult, error: Exception) -> FileResult:
    from neurodatahub.core.errors import StorageError, UnrecognisedInputError

    code = SETTINGS
    if isinstance(error, UnrecognisedInputError):
        code, result.status = UNKNOWN, SKIPPED
    elif isinstance(error, StorageError):
        code = STORAGE
    elif not isinstance(error, UsageError):
        code = UNREADABLE
    message = str(error)
    result.error = message if result.url in message else f"{result.url}: {message}"
    result.problems = [Problem(code.code, result.error, result.url)]
    return result


def _code_of(problem: Mapping[str, str]) -> str:
    """value_error: an invariant (the models' checks raise ValueError); any other type: the schema; no
    type: the format's own rules (a reader or a folder format reported it)."""
    kind = problem.get("type")
    if kind is None:
        return FORMAT_RULES.code
    return INVARIANT.code if kind == "value_error" else SCHEMA.code


def format_for(url: str, settings: FileSettings) -> tuple[Any, bool]:
    """The format to read `url` as, and whether its content (or the settings) says so rather than its
    extension alone: the format named; else among the formats of the kind (given, or the class's kind),
    by content then extension; else detected. A document reads any class, so a class whose kind has no
    format matching the file leaves it to detection."""
    from neurodatahub.core import kinds
    from neurodatahub.core.registry import (
        Probe,
        all_formats,
        detect,
        for_class,
        formats_named,
        input_format,
    )

    kind = settings.kind or (kinds.kind_of_class(settings.class_name) if settings.class_name else None)
    if settings.format is not None:
        if settings.kind is None:
            return (
                input_format(url, settings.format, settings.storage_options, class_name=settings.class_name),
                True,
            )
        return formats_named(settings.format, settings.kind)[0], True
    if kind is not None:
        kinds.require_kind(kind)
        probe = Probe(url, settings.storage_options)
        readable = [
            spec
            for spec in all_formats()
            if spec.kind == kind and spec.read is not None and spec.directory == probe.is_dir
        ]
        by_content = [spec for spec in readable if spec.sniff is not None and spec.sniff(probe)]
        by_extension = [spec for spec in readable if spec.matches_extension(url)]
        chosen = by_content or by_extension
        if chosen:
            return chosen[0], True
        if settings.kind is not None:
            raise UsageError(f"no format of {kind} data reads {url} (see `hub formats --kind {kind}`)")
    spec, confirmed = detect(url, settings.storage_options)
    # a class of another kind than the file's format holds: the format's sibling of that kind, or a clear no
    return (for_class(spec, settings.class_name) if settings.class_name else spec), confirmed


def _check_rule_options(spec: Any, options: Mapping[str, Any], url: str) -> None:
    """A glob's reader options must all be the format's: a typo is an error, not silently dropped."""
    if options:
        try:
            spec.checked_read_options(options)
        except UsageError as error:
            raise UsageError(f"{url}: {error}") from None
