"""neurodatahub: schema-first catalog and converter hub for neuroscience data.

The top level stays light (`hub --help` must start fast): the API below is imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it from here

_LAZY = {  # name -> (module, attribute; None for the module itself)
    "read": ("neurodatahub.core.conversion", "read"),
    "write": ("neurodatahub.core.conversion", "write"),
    "convert": ("neurodatahub.core.conversion", "convert"),
    "convert_many": ("neurodatahub.datasets.batch", "convert_many"),
    "validate_path": ("neurodatahub.core.validation", "validate_path"),
    "validate_dataset": ("neurodatahub.datasets.validation", "validate_dataset"),
    "preview": ("neurodatahub.core.preview", "preview"),
    "models": ("neurodatahub.models", None),
    "storage": ("neurodatahub.core.storage", None),
    "register_format": ("neurodatahub.core.registry", "register_format"),
    "FormatSpec": ("neurodatahub.core.registry", "FormatSpec"),
    "Options": ("neurodatahub.core.options", "Options"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'neurodatahub' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = import_module(module_name)
    return module if attribute is None else getattr(module, attribute)
