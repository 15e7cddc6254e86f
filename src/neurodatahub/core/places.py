"""Where the hub keeps what it downloads or builds on this machine (lacuna's rule, with the hub's name)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """NEURODATAHUB_DATA_DIR, else $XDG_CACHE_HOME/neurodatahub, else ~/.cache/neurodatahub (absolute)."""
    if os.environ.get("NEURODATAHUB_DATA_DIR"):
        return Path(os.environ["NEURODATAHUB_DATA_DIR"]).expanduser().resolve()
    if os.environ.get("XDG_CACHE_HOME"):
        return (Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "neurodatahub").resolve()
    return (Path.home() / ".cache" / "neurodatahub").resolve()
