"""BIDS 1.11: entity names, derivatives export and the checks the official validator leaves out.

Kept apart from `subjects` so the naming and validation rules can serve any kind of derivative.
"""

from __future__ import annotations

from neurodatahub.core.errors import InvalidDataError


class BidsError(InvalidDataError):
    """A BIDS dataset breaks the layout or metadata rules (lacuna's BidsError, exit code 1)."""


__all__ = ["BidsError"]
