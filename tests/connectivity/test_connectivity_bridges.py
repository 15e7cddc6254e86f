"""Connectivity bridges against pandas, xarray and networkx: both ways, fields kept, foreign objects read."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from connectivity_helpers import assert_same_but_declared, connectivity
from hypothesis import given, settings

from neurodatahub.connectivity import (
    from_dataframe,
    from_networkx,
    from_xarray,
    to_dataframe,
    to_networkx,
    to_xarray,
)
from neurodatahub.core.errors import InputError
from neurodatahub.models import ConnectivityMatrix


@settings(max_examples=30, deadline=None)
@given(model=connectivity())
def test_every_bridge_round_trips(model: ConnectivityMatrix) -> None:
    frame = to_dataframe(model)
    assert list(frame.index) == list(frame.columns) == [str(label) for label in model.region_labels]
    assert_same_but_declared(model, from_dataframe(frame), [], exact_dtype=True)
    array = to_xarray(model)
    assert array.dims == ("region_i", "region_j")
    assert_same_but_declared(model, from_xarray(array), [], exact_dtype=True)
    graph = to_networkx(model)
    assert graph.number_of_nodes() == len(model.region_labels)
    assert_same_but_declared(model, from_networkx(graph), [], exact_dtype=False)  # edge weights are floats


def test_foreign_objects_read() -> None:
    frame = pd.read_csv(pd.io.common.StringIO("\tA\tB\nA\t0\t2.5\nB\t2.5\t0\n"), sep="\t", index_col=0)
    conn = from_dataframe(frame)
    assert conn.region_labels == ["A", "B"] and conn.matrix[0, 1] == 2.5
    array = xr.DataArray(np.eye(2), dims=("x", "y"), coords={"x": ["a", "b"], "y": ["a", "b"]}, name="FA")
    assert from_xarray(array).measure == "FA"
    graph = nx.karate_club_graph()  # weighted, undirected
    karate = from_networkx(graph)
    assert karate.symmetric and np.array_equal(karate.matrix, nx.to_numpy_array(graph, weight="weight"))
    with pytest.raises(InputError, match="same region labels"):
        from_dataframe(pd.DataFrame(np.eye(2), index=["a", "b"], columns=["b", "a"]))
    with pytest.raises(InputError, match="2-D"):
        from_xarray(xr.DataArray(np.zeros((2, 2, 2))))
