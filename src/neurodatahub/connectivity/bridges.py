"""Connectivity matrices to and from what notebooks hold: a labelled pandas DataFrame, an xarray DataArray
and a networkx graph. pandas, xarray and networkx are imported only when a bridge is called.

The fields a matrix has beside its values (measure, atlas, symmetric, description, metadata) travel in the
objects' `attrs` (DataFrame, DataArray) or graph attributes, so a model comes back equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.connectivity import common
from neurodatahub.core.errors import InputError

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

DIMS = ("region_i", "region_j")
MARKER = "neurodatahub_format"


def _fields(conn: ConnectivityMatrix) -> dict[str, Any]:
    return {name: value for name, value in common.fields_of(conn).items() if value is not None}


def _from_attrs(attrs: Any) -> dict[str, Any]:
    return {name: attrs.get(name) for name in common.OPTIONAL_FIELDS}


def to_dataframe(conn: ConnectivityMatrix) -> Any:
    """A square DataFrame, regions as index and columns (what `pd.read_csv(tsv, sep="\\t", index_col=0)`
    gives of the hub's TSV), the other fields in `frame.attrs`."""
    import pandas as pd

    labels = pd.Index([str(label) for label in conn.region_labels])
    frame = pd.DataFrame(np.asarray(conn.matrix), index=labels, columns=labels.copy())
    frame.attrs.update(_fields(conn))
    return frame


def from_dataframe(frame: Any) -> ConnectivityMatrix:
    """A ConnectivityMatrix from a square DataFrame whose index and columns are the same labels."""
    index, columns = [str(label) for label in frame.index], [str(label) for label in frame.columns]
    if index != columns:
        raise InputError("the DataFrame's index and columns must be the same region labels, in one order")
    try:
        values = frame.to_numpy(dtype=np.result_type(*frame.dtypes) if len(frame.columns) else np.float64)
    except TypeError as error:
        raise InputError(f"the DataFrame holds values that are not numbers ({error})") from error
    return common.build(common.numeric_matrix(values, "the DataFrame"), index, **_from_attrs(frame.attrs))


def to_xarray(conn: ConnectivityMatrix) -> Any:
    """A 2-D DataArray with dims region_i, region_j labelled by the regions; fields in `attrs`."""
    import xarray as xr

    labels = [str(label) for label in conn.region_labels]
    return xr.DataArray(
        np.asarray(conn.matrix),
        dims=DIMS,
        coords={DIMS[0]: labels, DIMS[1]: labels},
        name=conn.measure,
        attrs=_fields(conn),
    )


def from_xarray(array: Any) -> ConnectivityMatrix:
    """A ConnectivityMatrix from a square 2-D DataArray whose two coordinates are the same labels."""
    if array.ndim != 2:
        raise InputError(f"a connectivity matrix is 2-D, the DataArray has dims {array.dims}")
    first, second = array.dims
    labels = [str(value) for value in array[first].values] if first in array.coords else None
    other = [str(value) for value in array[second].values] if second in array.coords else None
    if labels is not None and other is not None and labels != other:
        raise InputError(f"the DataArray's {first} and {second} coordinates must be the same region labels")
    labels = labels or other or common.default_labels(array.shape[0])
    fields = _from_attrs(array.attrs)
    if fields["measure"] is None and array.name is not None:
        fields["measure"] = str(array.name)
    return common.build(common.numeric_matrix(array.values, "the DataArray"), labels, **fields)


def to_networkx(conn: ConnectivityMatrix) -> Any:
    """A networkx Graph (exactly symmetric matrix) or DiGraph: nodes 0..N-1 with `label`, weighted edges
    for the non-zero cells (the GraphML format's rule), fields as graph attributes."""
    from neurodatahub.connectivity.formats.graphml import to_graph

    graph = to_graph(conn)
    graph.graph.update(_fields(conn))
    graph.graph[MARKER] = "ConnectivityMatrix"  # absent fields are None on the way back
    return graph


def from_networkx(graph: Any, *, weight: str | None = None) -> ConnectivityMatrix:
    """A ConnectivityMatrix from a networkx graph: nodes in order, values from the edge attribute `weight`
    (default: weight, or the only numeric one), labels from the node attribute label or name."""
    from neurodatahub.connectivity.formats.graphml import from_graph

    conn = from_graph(graph, weight=weight, url="the graph")
    if graph.graph.get(MARKER) != "ConnectivityMatrix":
        return conn
    fields = {name: graph.graph.get(name) for name in common.OPTIONAL_FIELDS}
    return common.build(np.asarray(conn.matrix), conn.region_labels, **fields)
