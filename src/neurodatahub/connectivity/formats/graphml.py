"""Connectivity matrices as GraphML graphs (networkx), as Gephi, Cytoscape and Connectome Mapper use them.

Nodes are the regions in row order, with `label` (the region label) and, where the metadata holds
`region_coordinates` (N rows of x, y, z in mm), `x`, `y`, `z`. Edges follow the rule of the edge lists
(`edges.py`): a matrix that is exactly symmetric is an undirected graph (each pair once, self-loops for
the diagonal); any other is a directed graph with an edge per non-zero cell. Zeros are not edges and
read back as 0; NaN is kept as an edge. Weights are GraphML doubles (exact for float64 and float32).
Graph attributes keep measure, atlas, description, the symmetric flag, the matrix's float type and the
metadata (JSON), so hub -> GraphML -> hub is lossless.

Reading other tools' graphs: the weight is the edge attribute `weight=` names (default `weight`; without
one, the only numeric edge attribute, else 1 per edge); labels from the node attribute `label`, `name`
or `dn_name` (Connectome Mapper), else the node ids; node coordinates from `x`, `y`, `z` (or
`dn_position_x`...) and any other node attributes go to the metadata (`region_coordinates`,
`node_attributes`). An undirected graph is symmetric; parallel edges are an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.connectivity import common
from neurodatahub.core import budget, storage
from neurodatahub.core.codecs.metadata import metadata_from_json, to_json
from neurodatahub.core.errors import InputError
from neurodatahub.core.options import Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

MARKER = "neurodatahub_format"
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
TEXT_FIELDS = ("measure", "atlas", "description")
LABEL_KEYS = ("label", "name", "dn_name")
COORDINATE_KEYS = (("x", "y", "z"), ("dn_position_x", "dn_position_y", "dn_position_z"))
COORDINATES = "region_coordinates"


class ReadOptions(Options):
    weight: str | None = Field(
        None, description="edge attribute holding the values (default: weight, or the only numeric one)"
    )


def to_graph(conn: ConnectivityMatrix) -> Any:
    """A networkx Graph (exactly symmetric matrix) or DiGraph with the regions as nodes 0..N-1."""
    import networkx as nx

    from neurodatahub.connectivity.formats.edges import edges_of

    rows, cols, weights, upper = edges_of(conn.matrix)
    present = (weights != 0) | np.isnan(weights)
    graph = nx.Graph() if upper else nx.DiGraph()
    coordinates = _coordinates(conn)
    for index, label in enumerate(conn.region_labels):
        extra = dict(zip("xyz", coordinates[index], strict=True)) if coordinates is not None else {}
        graph.add_node(index, label=str(label), **extra)
    graph.add_weighted_edges_from(
        zip(
            rows[present].tolist(),
            cols[present].tolist(),
            weights[present].astype(float).tolist(),
            strict=True,
        )
    )
    return graph


def _coordinates(conn: ConnectivityMatrix) -> list[list[float]] | None:
    found = conn.metadata.get(COORDINATES) if isinstance(conn.metadata, dict) else None
    if found is None:
        return None
    array = np.asarray(found, dtype=np.float64)
    if array.shape != (len(conn.region_labels), 3):
        return None
    return array.tolist()


def write(conn: ConnectivityMatrix, path: Path) -> None:
    import networkx as nx

    graph = to_graph(conn)
    for node in graph.nodes:  # XML 1.0 cannot hold control characters: the exact text is in the JSON
        graph.nodes[node]["label"] = XML_ILLEGAL.sub("\ufffd", graph.nodes[node]["label"])
    graph.graph[MARKER] = "ConnectivityMatrix"
    for name in TEXT_FIELDS:
        if getattr(conn, name) is not None:
            graph.graph[name] = XML_ILLEGAL.sub("\ufffd", getattr(conn, name))
    # everything exactly, as ASCII JSON (any text survives XML this way)
    graph.graph["neurodatahub_json"] = to_json(
        {
            "region_labels": [str(label) for label in conn.region_labels],
            "dtype": np.asarray(conn.matrix).dtype.name,
            **{name: getattr(conn, name) for name in common.OPTIONAL_FIELDS},
        }
    )
    nx.write_graphml(graph, path, encoding="utf-8", prettyprint=True)


def from_graph(graph: Any, *, weight: str | None = None, url: str = "the graph") -> ConnectivityMatrix:
    """A ConnectivityMatrix from a networkx graph: nodes in their order, values from the edge attribute."""
    if graph.is_multigraph():
        raise InputError(f"{url} has parallel edges (a multigraph): a matrix holds one value per pair")
    nodes = list(graph.nodes)
    position = {node: index for index, node in enumerate(nodes)}
    key = weight or _weight_key(graph, url)
    # a node is a few bytes of XML but a row and a column of the matrix: n nodes declare n x n values
    budget.require_array((len(nodes), len(nodes)), np.float64, f"the matrix of its {len(nodes)} nodes", url)
    matrix = np.zeros((len(nodes), len(nodes)))
    for first, second, data in graph.edges(data=True):
        if key is not None and key not in data:
            raise InputError(f"{url}: edge {first} - {second} has no {key!r}")
        try:
            value = float(data[key]) if key is not None else 1.0
        except (TypeError, ValueError):
            raise InputError(
                f"{url}: edge {first} - {second} has {key}={data[key]!r}, not a number"
            ) from None
        matrix[position[first], position[second]] = value
        if not graph.is_directed():
            matrix[position[second], position[first]] = value
    if "neurodatahub_json" in graph.graph:
        fields = metadata_from_json(graph.graph["neurodatahub_json"], url)
        if not isinstance(fields, dict) or not isinstance(fields.get("region_labels"), list):
            raise InputError(f"{url}: damaged neurodatahub_json graph attribute")
        labels = fields.pop("region_labels")
        if fields.pop("dtype", None) == "float32":
            matrix = matrix.astype(np.float32)
        return common.build(matrix, labels, **{name: fields.get(name) for name in common.OPTIONAL_FIELDS})
    return common.build(
        matrix,
        _labels(graph, nodes),
        symmetric=True if not graph.is_directed() else None,
        metadata=_node_metadata(graph, nodes) or None,
        **{name: str(graph.graph[name]) if name in graph.graph else None for name in TEXT_FIELDS},
    )


def _weight_key(graph: Any, url: str) -> str | None:
    keys: dict[str, bool] = {}
    for _, _, data in graph.edges(data=True):
        for name, value in data.items():
            keys[name] = (
                keys.get(name, True) and isinstance(value, int | float) and not isinstance(value, bool)
            )
    if "weight" in keys:
        return "weight"
    numeric = [name for name, is_number in keys.items() if is_number and name != "id"]
    if len(numeric) > 1:
        raise InputError(
            f"{url}: edges carry several measures ({', '.join(numeric)}); choose with -R weight=NAME"
        )
    return numeric[0] if numeric else None


def _labels(graph: Any, nodes: list[Any]) -> list[str]:
    for key in LABEL_KEYS:
        found = [graph.nodes[node].get(key) for node in nodes]
        if all(value is not None for value in found) and len(set(map(str, found))) == len(found):
            return [str(value) for value in found]
    return [str(node) for node in nodes]


def _node_metadata(graph: Any, nodes: list[Any]) -> dict[str, Any]:
    """Coordinates and other node attributes of a foreign graph, one value per region."""
    metadata: dict[str, Any] = {}
    names = {name for node in nodes for name in graph.nodes[node]}
    for axes in COORDINATE_KEYS:
        if all(all(axis in graph.nodes[node] for axis in axes) for node in nodes) and nodes:
            metadata[COORDINATES] = [[float(graph.nodes[node][axis]) for axis in axes] for node in nodes]
            names -= set(axes)
            break
    others = {
        name: [graph.nodes[node].get(name) for node in nodes] for name in sorted(names - set(LABEL_KEYS))
    }
    if others:
        metadata["node_attributes"] = others
    return metadata


def read(
    url: str, *, storage_options: Mapping[str, Any] | None = None, weight: str | None = None
) -> ConnectivityMatrix:
    from xml.etree.ElementTree import ParseError

    import networkx as nx

    with storage.open_read(url, storage_options) as handle:
        try:
            graph = nx.read_graphml(handle, node_type=str)
        except (ParseError, nx.NetworkXError, ValueError, KeyError, TypeError) as error:
            raise InputError(
                f"{url}: not a readable GraphML file ({' '.join(str(error).split())})"
            ) from error
    return from_graph(graph, weight=weight, url=url)


def sniff(probe: Probe) -> bool:
    head = probe.head[:4096]
    return b"<graphml" in head and b"graphml" in head


register_format(
    FormatSpec(
        name="graphml",
        kind=common.KIND,
        description="GraphML (networkx): regions as nodes with labels and coordinates, weighted edges",
        extensions=(".graphml",),
        read=read,
        write=write,
        sniff=sniff,
        read_options=ReadOptions,
    )
)
