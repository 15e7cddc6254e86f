"""Steps that turn a download into the files the hub uses (the schema's ProcessingStep).

Each value of ProcessingStep names, in its `kind` annotation, the kind whose package implements it; that
package's `processing` module registers the function with `@processor(step)`. Whoever runs a step (the
catalog, after a verified download) asks the core and imports no kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurodatahub.core import kinds
from neurodatahub.core.errors import StorageError, UsageError

STEP_ENUM = "ProcessingStep"


class SourceContentError(StorageError):
    """A download does not hold what its entry says (a source problem, like a failed download)."""


@dataclass
class Outcome:
    """What processing made; `skipped` says why nothing was made (the download is kept as it is)."""

    outputs: list[Path] = field(default_factory=list)
    skipped: str | None = None

    @property
    def processed(self) -> bool:
        return self.skipped is None


# (folder, entry, *, force, batches, mask_path) -> Outcome
Processor = Callable[..., Outcome]
_PROCESSORS: dict[str, Processor] = {}


def processor(step: str) -> Callable[[Processor], Processor]:
    def register(function: Processor) -> Processor:
        if step not in kinds.enum_values(STEP_ENUM):
            raise ValueError(f"{step!r} is not a ProcessingStep of the schema")
        _PROCESSORS[step] = function
        return function

    return register


def describe(step: str | None) -> str | None:
    """What a step does, in the schema's words."""
    return kinds.enum_values(STEP_ENUM).get(str(step)) if step else None


def run(step: str, folder: Path, entry: dict[str, Any], **options: Any) -> Outcome:
    """Run `step` on a download folder with the function its kind registered."""
    owner = kinds.enum_annotation(STEP_ENUM, "kind").get(step)
    if owner is None:
        raise UsageError(f"{entry.get('name', folder)}: unknown processing step {step!r}")
    if step not in _PROCESSORS:
        kinds.load_module(owner, "processing")
    return _PROCESSORS[step](folder, entry, **options)
