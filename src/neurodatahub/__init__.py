"""neurodatahub: schema-first catalog and converter hub for neuroscience data.

The top level stays light (`hub --help` must start fast): the API below is imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it from here

_LAZY = {
    "read": "neurodatahub.core.conversion",
    "write": "neurodatahub.core.conversion",
    "convert": "neurodatahub.core.conversion",
    "validate_path": "neurodatahub.core.validation",
    "validate_dataset": "neurodatahub.datasets.validation",
    "models": "neurodatahub.models",
    "storage": "neurodatahub.core.storage",
    "register_format": "neurodatahub.core.registry",
    "FormatSpec": "neurodatahub.core.registry",
    "Options": "neurodatahub.core.options",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'neurodatahub' has no attribute {name!r}")
    module = import_module(_LAZY[name])
    # a name that is its module's own last part (models, storage) is the module itself
    return module if module.__name__.rsplit(".", 1)[-1] == name else getattr(module, name)
