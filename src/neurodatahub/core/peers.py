"""What the peer-compatible functions of every kind share (spectralbrain's, lacuna's...): their targets
and their errors, so that each kind's peer module states only what is its own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from neurodatahub.core import storage
from neurodatahub.core.conversion import invalid_data_of
from neurodatahub.core.errors import InvalidDataError


class InvalidArguments(InvalidDataError, ValueError):
    """Arguments that make no valid model: a hub error, and the ValueError the peers raise."""


@contextlib.contextmanager
def validated_arguments(url: str) -> Iterator[None]:
    """Schema violations of a model built from a peer function's arguments, as InvalidArguments."""
    try:
        with invalid_data_of(url):
            yield
    except InvalidDataError as error:
        raise InvalidArguments(str(error), error.problems) from error


def prepared(path: Any) -> str:
    """The target as a URL; a missing local folder is created, as the peers do."""
    url = str(path)
    if storage.is_local(url):
        storage.local_path(url).parent.mkdir(parents=True, exist_ok=True)
    return url
