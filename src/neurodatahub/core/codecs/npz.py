"""NPZ archives, always opened without pickle."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodatahub.core.errors import InputError


def npz_array(archive: Any, name: str, url: str) -> np.ndarray:
    """One array of an NPZ opened with allow_pickle=False; pickled or damaged members are InputError."""
    import zipfile
    import zlib

    try:
        return archive[name]
    except ValueError as error:
        if "pickle" in str(error):
            raise InputError(
                f"{url}: array {name!r} holds pickled Python objects; loading it would run code from the"
                " file, so the hub refuses it"
            ) from error
        raise InputError(f"{url}: array {name!r} is damaged ({error})") from error
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise InputError(f"{url}: array {name!r} is damaged ({error})") from error
