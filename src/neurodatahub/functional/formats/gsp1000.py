"""GSP1000-style folders of resting-state runs (`sub-*/func/*bld001_rest_*_finalmask.nii.gz`), read only.

The runs become one FunctionalConnectomeChunk masked by the NIfTI given as the `mask` option, streamed one
subject at a time: `hub convert GSP_DIR chunk.h5 -O mask=mask.nii.gz`. lacuna's multi-file conversion
is `hub functional gsp1000-to-hdf5`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from pydantic import Field

from neurodatahub.core.errors import UsageError
from neurodatahub.core.options import Options, choice
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.functional.formats.hdf5 import KIND


class ReadOptions(Options):
    mask: str | None = Field(
        None,
        description="brain mask NIfTI (required): its non-zero voxels become the columns, in np.where order",
    )
    max_subjects: Annotated[int, Field(gt=0)] | None = Field(
        None, description="only the first N subjects (sorted by path)"
    )
    space: choice("CoordinateSpace") | None = Field(
        None, description="space of the mask grid (default MNI152NLin6Asym, GSP1000's)"
    )
    description: str | None = Field(
        None, description="what the chunk holds (default: GSP1000 functional connectome)"
    )
    source: str | None = Field(
        None, description="where the runs come from (default: GSP1000's Dataverse DOI)"
    )


def sniff(probe: Probe) -> bool:
    """A folder with sub-* folders, the first of which has a bld001 rest run in func/."""
    from neurodatahub.core import storage

    if not probe.is_dir:
        return False
    subjects = [name for name in probe.folders if name.startswith("sub-")]
    if not subjects:
        return False
    func = storage.join(storage.join(probe.url, subjects[0]), "func")
    if not storage.is_dir(func, probe.storage_options):
        return False
    return any(
        "bld001_rest_" in name and name.endswith("_finalmask.nii.gz")
        for name in storage.list_names(func, probe.storage_options)
    )


def _folder(url: str, storage_options: Any, mask: Any, max_subjects: Any) -> Any:
    from neurodatahub.functional.gsp import open_folder

    if mask is None:
        raise UsageError(f"{url}: a GSP1000 folder is read with a brain mask: -O mask=MASK.nii.gz")
    if max_subjects is not None and (isinstance(max_subjects, bool) or not isinstance(max_subjects, int)):
        raise UsageError(f"max_subjects must be a whole number, got {max_subjects!r}")
    return open_folder(url, str(mask), max_subjects=max_subjects, storage_options=storage_options)


def _header(folder: Any, space: Any, description: Any, source: Any) -> Any:
    from neurodatahub.functional import gsp

    return folder.header(
        space=gsp.SPACE if space is None else str(space),
        description="GSP1000 functional connectome" if description is None else str(description),
        source=gsp.SOURCE if source is None else str(source),
    )


@contextlib.contextmanager
def read_stream(
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    mask: Any = None,
    max_subjects: Any = None,
    space: Any = None,
    description: Any = None,
    source: Any = None,
) -> Iterator[Any]:
    from neurodatahub.core.streaming import Stream

    folder = _folder(url, storage_options, mask, max_subjects)
    header = _header(folder, space, description, source)
    yield Stream(header, folder.subjects(header))


def describe(url: str, *, storage_options: Mapping[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    """Subjects, timepoints and voxels from the run headers and the mask; no run's voxels are read."""
    from neurodatahub.core.streaming import summarize_stream

    folder = _folder(url, storage_options, options.get("mask"), options.get("max_subjects"))
    header = _header(folder, options.get("space"), options.get("description"), options.get("source"))
    return summarize_stream(header, {"timeseries": {"rows": len(folder.runs)}})


register_format(
    FormatSpec(
        name="gsp1000",
        kind=KIND,
        description="GSP1000-style folder of 4D rest runs (sub-*/func/*bld001_rest_*_finalmask.nii.gz)",
        extensions=(".gsp1000",),  # folders are told by their content; the suffix is only a convention
        read_stream=read_stream,
        describe=describe,
        sniff=sniff,
        read_options=ReadOptions,
        directory=True,
    )
)
