"""Validation of files and documents for CI: one outcome per path, with every problem located."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from neurodatahub.core.errors import (
    HubError,
    InvalidDataError,
    StorageError,
    UnrecognisedInputError,
    UsageError,
)

if TYPE_CHECKING:
    from neurodatahub.core.registry import FormatSpec

# why a path was not valid: its data breaks the schema, it is no data the hub reads, it cannot be read,
# the options given do not apply to it, or the storage failed
FAILURES = ("invalid", "unrecognised", "unreadable", "usage", "storage")


@dataclass
class Outcome:
    """Result of validating one path; `error` is set when it could not be read at all."""

    path: str
    valid: bool
    format: str | None = None
    kind: str | None = None
    model_class: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0
    failure: str | None = None  # one of FAILURES when not valid
    facts: dict[str, Any] = field(default_factory=dict)  # what `inspect` said of the model

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_path(
    url: str,
    *,
    format: str | None = None,
    class_name: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    read_options: Mapping[str, Any] | None = None,
    kind: str | None = None,
    lab_schema: str | None = None,
    spec: FormatSpec | None = None,
    inspect: Callable[[Any], dict[str, Any]] | None = None,
    allow_external: bool | None = None,
    max_memory: str | int | None = None,
) -> Outcome:
    """Read a path through the registry; reading validates, so any failure is reported, not raised.

    `spec` is the format when the caller has sniffed it already (so a file is sniffed once); options a
    format does not take are left out for it. `inspect` sees the validated model (the header of a
    streamed one) and returns facts kept in the outcome, so callers need not read the file twice.
    `allow_external` and `max_memory` are the safety limits of `conversion.read`.
    `lab_schema`: a LinkML schema that imports the hub's, for documents of its classes (a file of any
    other format holds one of the hub's classes, which the lab schema extends: it is validated as usual).
    Detection and reading share one storage.reading() scope: a remote file is fetched once.
    """
    from neurodatahub.core import storage
    from neurodatahub.core.conversion import limits

    with limits(allow_external, max_memory), storage.reading():
        return _validate(
            url, format, class_name, storage_options, read_options, kind, lab_schema, spec, inspect
        )


def _validate(
    url: str,
    format: str | None,
    class_name: str | None,
    storage_options: Mapping[str, Any] | None,
    read_options: Mapping[str, Any] | None,
    kind: str | None,
    lab_schema: str | None,
    spec: FormatSpec | None,
    inspect: Callable[[Any], dict[str, Any]] | None,
) -> Outcome:
    from neurodatahub.core.conversion import open_stream, read_as
    from neurodatahub.core.registry import input_format

    outcome = Outcome(path=url, valid=False)
    try:
        spec = spec or input_format(url, format, storage_options, kind, class_name=class_name)
        outcome.format, outcome.kind = spec.name, spec.kind
        options = {"class_name": class_name} if class_name and spec.reads_option("class_name") else {}
        if lab_schema and spec.reads_option("lab_schema"):  # documents; other files hold the hub's classes
            options["lab_schema"] = lab_schema
        options.update(
            {name: value for name, value in (read_options or {}).items() if spec.reads_option(name)}
        )
        if spec.read_stream is not None:  # every chunk is validated as it is read, none kept
            from neurodatahub.core import streaming

            with open_stream(spec, url, storage_options, **options) as stream:
                facts = inspect(stream.header) if inspect else {}
                summary = streaming.summarize_stream(stream.header, streaming.tally(stream.chunks))
            model_class = summary["class"]
        else:
            model = read_as(spec, url, storage_options, **options)
            model_class, facts = type(model).__name__, inspect(model) if inspect else {}
    except InvalidDataError as error:
        outcome.problems = error.problems or [{"location": "(file)", "message": str(error)}]
        _failed(outcome, error, "invalid")
        return outcome
    except HubError as error:
        _failed(outcome, error, _failure_of(error))
        return outcome
    outcome.valid, outcome.model_class, outcome.facts = True, model_class, facts
    return outcome


def _failure_of(error: HubError) -> str:
    if isinstance(error, UnrecognisedInputError):
        return "unrecognised"
    if isinstance(error, UsageError):
        return "usage"
    if isinstance(error, StorageError):
        return "storage"
    return "unreadable"


def _failed(outcome: Outcome, error: HubError, failure: str) -> None:
    """Record the failure; the message names the file even when the reader's did not."""
    message = str(error)
    if outcome.path not in message and PurePosixPath(outcome.path.rstrip("/")).name not in message:
        message = f"{outcome.path}: {message}"
    outcome.error, outcome.exit_code, outcome.failure = message, error.exit_code, failure
