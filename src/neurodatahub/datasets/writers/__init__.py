"""Report writers of `hub validate --format NAME`: one module per format in this package.

A writer is a module `neurodatahub.datasets.writers.<name>` with `render(report, verbose) -> str`; the
formats are the modules found here (imported only when asked for), so adding one (an HTML report) is
adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING

from neurodatahub.core.errors import UsageError

if TYPE_CHECKING:
    from neurodatahub.datasets.results import Report


def names() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules([str(Path(__file__).parent)]))


def render(report: Report, name: str, *, verbose: bool = False) -> str:
    if name not in names():
        raise UsageError(f"no report format {name!r}; formats: {', '.join(names())}")
    return importlib.import_module(f"{__name__}.{name}").render(report, verbose)
