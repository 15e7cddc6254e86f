"""lacuna's functional chunk HDF5 (`gsp1000_chunk_{idx:03d}.h5`), read and written one subject at a time.

Told apart from the other HDF5 formats (spike styles, NWB, spectral caches, connectivity) by its
`timeseries` and `mask_indices` datasets. `hub info` reads the header only (`describe`): subjects,
timepoints and voxels come from the dataset shapes, never from decompressing the time series.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.errors import OutputError
from neurodatahub.core.registry import FormatSpec, Probe, register_format

if TYPE_CHECKING:
    from neurodatahub.core.models import FunctionalConnectomeChunk

KIND = "functional"


def sniff(probe: Probe) -> bool:
    root = probe.hdf5_root
    if root is None:
        return False
    attrs, paths = root
    return attrs.get("neurodata_type") != "NWBFile" and {"timeseries", "mask_indices"} <= paths


@contextlib.contextmanager
def read_stream(url: str, *, storage_options: Mapping[str, Any] | None = None) -> Iterator[Any]:
    from neurodatahub.core.streaming import Stream
    from neurodatahub.functional.chunks import open_chunk

    with open_chunk(url, storage_options) as chunk:
        yield Stream(chunk.header, chunk.subjects())


def write_stream(stream: Any, path: Path) -> None:
    from neurodatahub.functional.chunks import write_chunk

    write_chunk(path, stream.header, stream.chunks)


def describe(url: str, *, storage_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary from the header and dataset shapes; the header is validated, the subjects are not read."""
    from neurodatahub.core.streaming import summarize_stream
    from neurodatahub.functional.chunks import open_chunk

    with open_chunk(url, storage_options) as chunk:
        return summarize_stream(chunk.header, {"timeseries": {"rows": chunk.n_subjects}})


def losses(model: FunctionalConnectomeChunk) -> list[Any]:
    """lacuna's layout stores float32: wider values are rounded (counted when the values are at hand)."""
    from neurodatahub.core.models import Loss

    series = model.timeseries
    if series.dtype.itemsize <= 4:
        return []
    if series.shape[0] == 0:  # a stream's header: the values are not known yet
        return [Loss(field="timeseries", reason=f"{series.dtype} values are stored as float32")]
    rounded = int(np.count_nonzero(series.astype(np.float32) != series))
    if not rounded:
        return []
    return [Loss(field="timeseries", reason=f"{series.dtype} values rounded to float32", count=rounded)]


def verify(model: FunctionalConnectomeChunk, path: Path) -> None:
    """Every subject of the file equals the model's (as float32), and so do the mask and attributes."""
    from neurodatahub.core.summary import same, summarize
    from neurodatahub.functional.chunks import open_chunk

    with open_chunk(str(path)) as chunk:
        if not same(summarize(chunk.header) | {"subjects": chunk.n_subjects}, summarize(model)):
            raise OutputError("the chunk's header reads back as other data")
        if not np.array_equal(chunk.header.mask_indices, model.mask_indices):
            raise OutputError("mask_indices read back differently")
        for index, subject in enumerate(chunk.subjects()):
            if not np.array_equal(subject.timeseries[0], np.asarray(model.timeseries[index], np.float32)):
                raise OutputError(f"subject {index} reads back with other values")
        if chunk.subject_ids != model.subject_ids and not (
            chunk.subject_ids is None and not model.subject_ids
        ):
            raise OutputError("subject ids read back differently")


register_format(
    FormatSpec(
        name="hdf5",
        kind=KIND,
        description="lacuna's functional connectome chunk (GSP1000 HDF5 layout), streamed subject by subject",
        extensions=(".h5", ".hdf5"),
        read_stream=read_stream,
        write_stream=write_stream,
        describe=describe,
        sniff=sniff,
        cannot_store=("time series wider than float32 (rounded)",),
        losses=losses,
        verify=verify,
        claims_extension=False,
    )
)
