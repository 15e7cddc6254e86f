"""Connectivity matrices in MATLAB MAT-files, v5 (scipy.io) and v7.3 (HDF5), as BCT and CONN users keep them.

Reading: the matrix is the variable named by `variable=`; without it, the one square numeric matrix of the
file, else the first present of the names the toolboxes use (BCT's `W` for weighted and `CIJ` for binary
connection matrices, `A`, `CM`; CONN's ROI-to-ROI `Z`; `conn`, `connectivity`, `matrix`). Several
candidates and none of those names is an error that lists them (`hub info` lists them too). Labels come
from the first cell array of text with one entry per region among `region_labels`, `labels`, `names`
(CONN's ROI names) and `roi_names`; else "1".."N". A 3-D array (CONN's ROI x ROI x subjects) is not one
matrix: an error says so.

Writing: the matrix under `variable` (default `W`), `region_labels` as a cell array of char, `measure`,
`atlas`, `description` as char, `symmetric` as logical, metadata as JSON text in `metadata_json`: what
MATLAB's `load` gives back as plain variables. `version=5` (default, compressed) or `version=7.3` (HDF5,
for matrices over 2 GB, as `save -v7.3` writes). Lossless for the hub's fields (the matrix keeps its
float32 or float64 class).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from neurodatahub.connectivity import common
from neurodatahub.core.codecs import matlab
from neurodatahub.core.codecs.metadata import metadata_from_json, to_json
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.options import Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

KNOWN_MATRIX_NAMES = ("W", "CIJ", "A", "CM", "Z", "conn", "connectivity", "matrix")
LABEL_NAMES = ("region_labels", "labels", "names", "roi_names")
TEXT_FIELDS = ("measure", "atlas", "description")
RESERVED = (*LABEL_NAMES, *TEXT_FIELDS, "symmetric", "metadata_json")
VARIABLE_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,62}$"  # MATLAB's rule for variable names (namelengthmax 63)


class ReadOptions(Options):
    variable: str | None = Field(
        None, description="the MATLAB variable holding the matrix (default: the only matrix, or W, CIJ, Z...)"
    )


class WriteOptions(Options):
    variable: str = Field("W", pattern=VARIABLE_NAME, description="MATLAB variable name of the matrix")
    version: Literal["5", "7.3"] = Field("5", description="MAT-file version: 5 (scipy) or 7.3 (HDF5)")


def matrices(url: str, storage_options: Mapping[str, Any] | None = None) -> list[matlab.Variable]:
    """The variables that can be a connectivity matrix: square, 2-D, numeric or logical."""
    return [
        variable
        for variable in matlab.variables(url, storage_options)
        if variable.matlab_class in (*matlab.NUMERIC_CLASSES, "logical")
        and len(variable.shape) == 2
        and variable.shape[0] == variable.shape[1]
        and variable.name not in RESERVED
    ]


def _listed(found: list[matlab.Variable]) -> str:
    return ", ".join(f"{item.name} ({'x'.join(map(str, item.shape))} {item.matlab_class})" for item in found)


def choose(url: str, variable: str | None, storage_options: Mapping[str, Any] | None) -> str:
    everything = matlab.variables(url, storage_options)
    candidates = matrices(url, storage_options)
    if variable is not None:
        named = next((item for item in everything if item.name == variable), None)
        if named is None:
            raise InputError(
                f"{url} has no variable {variable!r} (variables: {_listed(everything) or 'none'})"
            )
        if named not in candidates:
            raise InputError(
                f"{url}: {variable} is {'x'.join(map(str, named.shape))} {named.matlab_class}, not a square"
                " matrix of numbers"
                + (" (one matrix per subject: slice it first)" if len(named.shape) == 3 else "")
            )
        return variable
    if len(candidates) == 1:
        return candidates[0].name
    names = [item.name for item in candidates]
    known = next((name for name in KNOWN_MATRIX_NAMES if name in names), None)
    if known is not None:
        return known
    if not candidates:
        raise InputError(
            f"{url} holds no square matrix of numbers (variables: {_listed(everything) or 'none'})"
        )
    raise InputError(f"{url} holds several matrices: {_listed(candidates)}; choose one with -R variable=NAME")


def read(
    url: str, *, storage_options: Mapping[str, Any] | None = None, variable: str | None = None
) -> ConnectivityMatrix:
    name = choose(url, variable, storage_options)
    values = matlab.load(url, [name, *RESERVED], storage_options)
    matrix = common.numeric_matrix(values[name], url, name)
    labels = next(
        (
            values[key]
            for key in LABEL_NAMES
            if isinstance(values.get(key), list) and len(values[key]) == len(matrix)
        ),
        None,
    )
    symmetric = values.get("symmetric")
    if symmetric is not None:
        flag = np.asarray(symmetric)
        if flag.size != 1 or flag.dtype.kind not in "bui":
            raise InputError(f"{url}: symmetric must be one logical value")
        symmetric = bool(flag.reshape(-1)[0])
    metadata = values.get("metadata_json")
    return common.build(
        matrix,
        labels if labels is not None else common.default_labels(len(matrix), first=1),
        symmetric=symmetric,
        metadata=None if metadata is None else metadata_from_json(metadata, url),
        **{key: values[key] if isinstance(values.get(key), str) else None for key in TEXT_FIELDS},
    )


def write(conn: ConnectivityMatrix, path: Path, *, variable: str = "W", version: str = "5") -> None:
    if variable in RESERVED:
        raise UsageError(
            f"variable {variable!r} is where the MAT-file keeps another field; choose another name"
        )
    matrix = np.asarray(conn.matrix)
    if matrix.dtype.itemsize != 4:  # MATLAB has single and double: half floats widen, long doubles round
        matrix = matrix.astype(np.float64)
    values: dict[str, Any] = {
        variable: matrix,
        "region_labels": [str(label) for label in conn.region_labels],
    }
    for name in TEXT_FIELDS:
        if getattr(conn, name) is not None:
            values[name] = getattr(conn, name)
    if conn.symmetric is not None:
        values["symmetric"] = np.array([[conn.symmetric]])
    if conn.metadata is not None:
        values["metadata_json"] = to_json(conn.metadata)
    matlab.save(path, values, version)


def losses(conn: ConnectivityMatrix, *, variable: str = "W", version: str = "5") -> list[Any]:
    from neurodatahub.core.models import Loss

    if np.asarray(conn.matrix).dtype.itemsize <= 8:
        return []
    return [Loss(field="matrix", reason="MATLAB keeps single or double: long doubles rounded to double")]


def describe(
    url: str, *, storage_options: Mapping[str, Any] | None = None, variable: str | None = None
) -> dict[str, Any]:
    """`hub info`: every matrix of the file, and the summary of the one a read would take (if any)."""
    from neurodatahub.core.summary import summarize

    listed = [
        {"variable": item.name, "shape": list(item.shape), "class": item.matlab_class}
        for item in matrices(url, storage_options)
    ]
    try:
        summary = summarize(read(url, storage_options=storage_options, variable=variable))
    except InputError as error:
        if variable is not None or not listed:
            raise
        summary = {"class": "ConnectivityMatrix", "chosen": None, "why": str(error)}
    return {**summary, "mat_version": matlab.version_of(_head(url, storage_options)), "matrices": listed}


def _head(url: str, storage_options: Mapping[str, Any] | None) -> bytes:
    from neurodatahub.core import storage

    return storage.read_head(url, matlab.HEADER_SIZE, storage_options)


def sniff(probe: Probe) -> bool:
    return matlab.version_of(probe.head) is not None


register_format(
    FormatSpec(
        name="mat",
        kind=common.KIND,
        description="MATLAB MAT-file v5 or v7.3 (BCT, CONN): a named matrix variable, labels as a cell array",
        extensions=(".mat",),
        read=read,
        write=write,
        sniff=sniff,
        read_options=ReadOptions,
        write_options=WriteOptions,
        losses=losses,
        describe=describe,
    )
)
