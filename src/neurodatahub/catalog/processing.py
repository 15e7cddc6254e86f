"""After a verified download: the conversion lacuna's fetchers run, chosen by the entry's `processing`.

The steps are the schema's ProcessingStep; the kind each names implements it (`core.processing`), so
the catalog runs them without importing the tractogram or functional packages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodatahub.catalog.errors import FetchError
from neurodatahub.core import processing
from neurodatahub.core.errors import UsageError
from neurodatahub.core.processing import Outcome, describe

__all__ = ["Outcome", "describe", "run"]


def run(
    step: str,
    folder: Path,
    entry: dict[str, Any],
    *,
    force: bool = False,
    batches: int | None = None,
    mask_path: str | Path | None = None,
) -> Outcome:
    """Run the entry's processing step on its download folder."""
    try:
        return processing.run(step, folder, entry, force=force, batches=batches, mask_path=mask_path)
    except (UsageError, processing.SourceContentError) as error:
        raise FetchError(str(error)) from error
