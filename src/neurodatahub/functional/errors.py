"""Errors of the functional connectome tools: hub errors that are also the builtin lacuna raises.

lacuna's `gsp1000_to_hdf5` raises FileNotFoundError for a missing folder or mask and ValueError for a
folder without runs or a run off the mask grid; callers catching those keep working, and the CLI still
turns them into one line with the hub's exit code.
"""

from __future__ import annotations

from neurodatahub.core.errors import InputError, OutputError, UsageError


class MissingInputError(InputError, FileNotFoundError):
    """The GSP folder or the mask does not exist."""


class NoRunsError(InputError, ValueError):
    """The folder holds no run matching the GSP1000 layout."""


class GridMismatchError(InputError, ValueError):
    """A run is not on the mask's grid, or its timepoints differ from the other runs'."""


class ChunkExistsError(OutputError, FileExistsError):
    """A chunk file exists and overwrite was not asked for."""


class ArgumentError(UsageError, ValueError):
    """A parameter that cannot be met (subjects_per_chunk < 1...)."""
