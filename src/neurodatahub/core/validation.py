"""Validation of files and documents for CI: one outcome per path, with every problem located."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from neurodatahub.core.errors import HubError, InvalidDataError


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_path(
    url: str,
    *,
    format: str | None = None,
    class_name: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    read_options: Mapping[str, Any] | None = None,
    allow_external: bool | None = None,
    max_memory: str | int | None = None,
) -> Outcome:
    """Read a path through the registry; reading validates, so any failure is reported, not raised.

    `allow_external` and `max_memory` are the safety limits of `conversion.read`.
    """
    from neurodatahub.core.conversion import limits

    with limits(allow_external, max_memory):
        return _validate(url, format, class_name, storage_options, read_options)


def _validate(
    url: str,
    format: str | None,
    class_name: str | None,
    storage_options: Mapping[str, Any] | None,
    read_options: Mapping[str, Any] | None,
) -> Outcome:
    from neurodatahub.core.conversion import read_as, summarize_file
    from neurodatahub.core.registry import input_format

    outcome = Outcome(path=url, valid=False)
    try:
        spec = input_format(url, format, storage_options, class_name)
        outcome.format, outcome.kind = spec.name, spec.kind
        options = {"class_name": class_name} if class_name and spec.reads_option("class_name") else {}
        options.update(
            {name: value for name, value in (read_options or {}).items() if spec.reads_option(name)}
        )
        if spec.read_stream is not None:  # every chunk is validated as it is read, none kept
            model_class = summarize_file(spec, url, storage_options, **options)["class"]
        else:
            model_class = type(read_as(spec, url, storage_options, **options)).__name__
    except InvalidDataError as error:
        outcome.problems = error.problems or [{"location": "(file)", "message": str(error)}]
        outcome.error, outcome.exit_code = str(error), error.exit_code
        return outcome
    except HubError as error:
        outcome.error, outcome.exit_code = str(error), error.exit_code
        return outcome
    outcome.valid, outcome.model_class = True, model_class
    return outcome
