"""PLY, OBJ, STL and legacy VTK meshes (meshio, and the hub's POLYDATA codec); binary by default, text
with `ascii=true`.

What each keeps, decided here and declared as losses otherwise:
- PLY: one number per vertex as a vertex property (no N x k arrays, names must be one word other than
  x/y/z, integers up to 32 bits as the PLY standard defines them). Coordinates keep their precision:
  float64 vertices are written as `double` (VTK-based readers such as pyvista load them as float32).
- OBJ: geometry only, coordinates as exact decimal text (float64 repr); per-vertex data is lost.
- STL: a triangle soup. Binary STL stores float32; reading merges equal corners and numbers vertices by
  first use, so vertex order survives only when the mesh is already in that order with distinct
  coordinates. `allow_vertex_reorder` follows spectralbrain's `save_mesh`: unset, a reordering is a
  declared loss; false refuses to write; true accepts it without a loss.
- VTK (legacy): POLYDATA, version 4.2, written by the hub (surfaces/vtk_legacy.py), because meshio writes
  only UNSTRUCTURED_GRID, which spectralbrain's `load_mesh` (pyvista's extract_surface) reads back with
  its vertices renumbered. `dataset=unstructured_grid` writes meshio's 4.2 UNSTRUCTURED_GRID instead, for
  meshio-based readers (its 5.1 writer names types that VTK rejects, such as vtktypeuint8). Point data of
  any number type, 1-D or N x k, one-word names. Both datasets are read (POLYDATA by the hub's reader,
  UNSTRUCTURED_GRID by meshio).

Only triangles make a SurfaceMesh: quads and polygons are an error unless read with `triangulate=true`
(fans); lines, points and volume cells always are. Per-face and field arrays are not read; their names
are recorded under `metadata.ignored_on_read`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from neurodatahub.core import storage, words
from neurodatahub.core.errors import HubError, InputError, OutputError, UsageError
from neurodatahub.core.options import Flag
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.surfaces import common
from neurodatahub.surfaces.common import KIND, DataRules, ReadOptions, WriteOptions

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceMesh


def _ply_name_problem(name: str) -> str | None:
    if name in ("x", "y", "z"):
        return "PLY names the coordinates x, y and z: a vertex property cannot have one of those names"
    return common.token_name_problem(name)


PLY_RULES = DataRules(
    "PLY", max_dims=1, ints=("i1", "u1", "i2", "u2", "i4", "u4"), name_problem=_ply_name_problem
)
VTK_RULES = DataRules("legacy VTK", name_problem=common.token_name_problem, pad_two_columns=True)
POLYDATA_RULES = DataRules("legacy VTK", name_problem=common.token_name_problem)
OBJ_KEYWORDS = {
    "v", "vt", "vn", "vp", "f", "l", "p", "g", "o", "s", "mtllib", "usemtl", "cstype", "deg", "curv",
    "curv2", "surf", "parm", "trim", "hole", "end", "bevel", "c_interp", "d_interp", "lod", "shadow_obj",
    "trace_obj", "ctech", "stech", "con", "sp", "mg",
}  # fmt: skip
REORDER_REASON = (
    "STL stores a triangle soup: reading it merges equal corners and numbers vertices by first use, so"
    " vertex order (and per-vertex data alignment) is not kept"
)


def reorder_refusal() -> str:
    """spectralbrain's refusal, with the option spelt as the caller passes it (-O ... on the CLI)."""
    return (
        "STL does not preserve vertex order/indexing; per-vertex data would be misaligned on reload. Use"
        f" .vtp/.vtk/.obj, or pass {words.option('allow_vertex_reorder', True)}."
    )


# ---- meshio plumbing ----


def _meshio_read(module: str, url: str, storage_options: Mapping[str, Any] | None, fmt: str) -> Any:
    """meshio's reader for one format (never meshio.read: on failure it ends the process)."""
    reader = importlib.import_module(f"meshio.{module}")
    with storage.local_copy(url, storage_options) as path, common.quiet():
        try:
            return reader.read(str(path))
        except HubError:
            raise
        except Exception as error:  # meshio fails with many types (ReadError, ValueError, IndexError...)
            raise InputError(f"{url}: not a readable {fmt} file ({common.described(error)})") from error


def _meshio_write(
    module: str, path: Path, points: np.ndarray, faces: np.ndarray, data: Any = (), **kw: Any
) -> None:
    import meshio

    writer = importlib.import_module(f"meshio.{module}")
    point_data = {column.name: values for column, values in data}
    mesh = meshio.Mesh(points, [meshio.CellBlock("triangle", faces)], point_data=point_data)
    with common.quiet():
        writer.write(str(path), mesh, **kw)


def _from_meshio(
    mesh: Any, url: str, *, triangulate: bool, derived: Iterable[str] = (), prefix: str = ""
) -> Any:
    points = common.native(mesh.points)
    if points.size == 0:
        points = np.empty((0, 3))
    columns: list[dict[str, Any]] = []
    if points.ndim == 2 and points.shape[1] > 3:  # OBJ vertex colours or weights after x y z
        columns.append({"name": f"{prefix}vertex_extra", "values": points[:, 3:]})
        points = points[:, :3]
    n_vertices = len(points)
    unaligned = []
    for name, values in mesh.point_data.items():
        if len(values) == n_vertices:
            columns.append({"name": name, "values": values})
        else:  # OBJ normals and texture coordinates are indexed apart from the vertices
            unaligned.append(name)
    metadata: dict[str, Any] = {}
    common.note_ignored(metadata, "unaligned_vertex_data", unaligned)
    common.note_ignored(metadata, "face_data", [name for name in mesh.cell_data if name not in set(derived)])
    common.note_ignored(metadata, "field_data", list(mesh.field_data))
    faces = common.blocks_to_triangles(
        ((block.type, block.data) for block in mesh.cells), triangulate=triangulate, url=url
    )
    return common.build(
        vertices=points,
        faces=faces,
        url=url,
        vertex_data=columns,
        metadata=metadata,
    )


def _faces32(mesh: SurfaceMesh) -> np.ndarray:
    return np.asarray(mesh.faces).astype(np.int32)


# ---- PLY ----


def read_ply(
    url: str, *, storage_options: Mapping[str, Any] | None = None, triangulate: Any = False
) -> SurfaceMesh:
    _check_ply_header(url, storage_options)
    return _from_meshio(_meshio_read("ply", url, storage_options, "PLY"), url, triangulate=triangulate)


PLY_HEADER_LIMIT = 1 << 16
PLY_BYTES_PER_VALUE = 16  # a value as meshio holds it (float64), and its copy into the model


def _check_ply_header(url: str, storage_options: Mapping[str, Any] | None) -> None:
    """The header must end (meshio reads lines until `end_header`, forever on a cut file) and what its
    elements declare must fit the memory budget (meshio allocates them before reading)."""
    from neurodatahub.core import budget

    head = storage.read_head(url, PLY_HEADER_LIMIT, storage_options)
    end = head.find(b"end_header")
    if not head.startswith(b"ply") or end < 0:
        raise InputError(
            f"{url}: not a readable PLY file (no end_header in its first {PLY_HEADER_LIMIT} bytes)"
        )
    values = 0
    count = 0
    for line in head[:end].decode("latin-1").splitlines():
        words = line.split()
        if words[:1] == ["element"] and len(words) == 3 and words[2].isdigit():
            count = int(words[2])
        elif words[:1] == ["property"]:
            values += count * (4 if words[1:2] == ["list"] else 1)  # lists: triangles, mostly
    budget.require(values * PLY_BYTES_PER_VALUE, f"the PLY elements ({values} values)", url)


def write_ply(mesh: SurfaceMesh, path: Path, *, ascii: Any = False) -> None:
    text = ascii
    kept, _ = common.storable(mesh, PLY_RULES)
    _refuse_unreadable_ply(mesh, text, kept)
    # meshio's text writer fails on zero vertices; with nothing to write, binary and text hold the same
    binary = not text or not len(mesh.vertices)
    _meshio_write("ply", path, common.wide_vertices(mesh), _faces32(mesh), kept, binary=binary)


def ply_losses(mesh: SurfaceMesh, *, ascii: Any = False) -> list[Any]:
    kept, losses = common.storable(mesh, PLY_RULES)
    _refuse_unreadable_ply(mesh, ascii, kept)
    return common.header_losses(mesh, "PLY") + losses


def _refuse_unreadable_ply(mesh: SurfaceMesh, text: bool, kept: list) -> None:
    """meshio 5.3 cannot read an ASCII PLY of a single vertex with properties (numpy gives a 0-d record)."""
    if text and kept and len(mesh.vertices) == 1:
        raise UsageError(
            "an ASCII PLY of one vertex with vertex properties cannot be read back by meshio: write binary"
        )


def sniff_ply(probe: Probe) -> bool:
    head = probe.head
    return head.startswith((b"ply\n", b"ply\r\n")) and b"format " in head[:64]


# ---- OBJ ----


def read_obj(
    url: str, *, storage_options: Mapping[str, Any] | None = None, triangulate: Any = False
) -> SurfaceMesh:
    mesh = _meshio_read("obj", url, storage_options, "OBJ")
    if not len(mesh.points) and _obj_keywords(Probe(url, storage_options)) is None:
        # meshio skips every line it does not know, so any text reads as an empty OBJ
        raise InputError(f"{url}: not an OBJ file (no vertex lines, and lines OBJ does not have)")
    groups = {int(value) for ids in mesh.cell_data.get("obj:group_ids", []) for value in np.unique(ids)}
    derived = ["obj:group_ids"] if len(groups) <= 1 else []  # one group (or none) says nothing per face
    return _from_meshio(mesh, url, triangulate=triangulate, derived=derived, prefix="obj:")


def write_obj(mesh: SurfaceMesh, path: Path) -> None:
    # float64 so that each coordinate is printed as the shortest text that reads back exactly
    _meshio_write("obj", path, np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces))


def obj_losses(mesh: SurfaceMesh) -> list[Any]:
    return common.header_losses(mesh, "OBJ") + common.all_data_lost(mesh, "OBJ has no per-vertex data")


def _obj_keywords(probe: Probe) -> list[str] | None:
    """The statements of a text head whose every line is an OBJ statement or a comment, else None."""
    lines = common.text_lines(probe.head)
    if lines is None:
        return None
    keywords = [line.split()[0] for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return keywords if all(keyword in OBJ_KEYWORDS for keyword in keywords) else None


def sniff_obj(probe: Probe) -> bool:
    """Text whose every line is an OBJ statement or a comment, with at least one vertex."""
    return "v" in (_obj_keywords(probe) or [])


# ---- STL ----


def _stl_points(mesh: SurfaceMesh, text: bool) -> tuple[np.ndarray, list[Any]]:
    if text:  # float64: each coordinate printed as the shortest text that reads back exactly
        return np.asarray(mesh.vertices, dtype=np.float64), []
    return common.float32_vertices(mesh, "binary STL")


def reordered_vertices(points: np.ndarray, faces: np.ndarray) -> int:
    """How many vertices do not come back at their index, with their coordinates, once the soup is read:
    meshio numbers the distinct corner coordinates by first use, so unused vertices vanish and equal
    coordinates merge."""
    n_vertices = len(points)
    corners = np.asarray(faces).reshape(-1)
    if not corners.size:
        return n_vertices
    ids, first = np.unique(corners, return_index=True)
    order = ids[np.argsort(first)]  # vertex ids by first use: what comes back, unless coordinates merge
    used = points[order]
    ranked = used[np.lexsort(used.T[::-1])]
    if (ranked[1:] == ranked[:-1]).all(axis=1).any():  # equal coordinates: replay the merge itself
        rows = points[corners]
        _, first_rows = np.unique(rows, axis=0, return_index=True)
        back = rows[np.sort(first_rows)]
        kept = min(len(back), n_vertices)
        home = (back[:kept] == points[:kept]).all(axis=1) & np.isin(np.arange(kept), ids)
        return n_vertices - int(np.count_nonzero(home))
    kept = min(len(order), n_vertices)
    return n_vertices - int(np.count_nonzero(order[:kept] == np.arange(kept)))


def stl_losses(mesh: SurfaceMesh, *, ascii: Any = False, allow_vertex_reorder: Any = None) -> list[Any]:
    text = ascii
    allow = allow_vertex_reorder
    points, rounding = _stl_points(mesh, text)
    losses = [
        *common.header_losses(mesh, "STL"),
        *common.all_data_lost(mesh, "STL stores triangles only, no per-vertex data"),
        *rounding,
    ]
    moved = reordered_vertices(points, np.asarray(mesh.faces))
    if moved and allow is False:
        raise UsageError(reorder_refusal())
    if moved and allow is None:
        losses.append(common.loss("vertex_order", REORDER_REASON, moved))
    return losses


class StlWriteOptions(WriteOptions):
    allow_vertex_reorder: Flag | None = Field(
        None,
        description="as spectralbrain's save_mesh: unset, a reordering is a declared loss; false refuses to"
        " write; true accepts it",
    )


def write_stl(mesh: SurfaceMesh, path: Path, *, ascii: Any = False, allow_vertex_reorder: Any = None) -> None:
    text = ascii
    points, _ = _stl_points(mesh, text)
    refuse = allow_vertex_reorder is False
    if refuse and reordered_vertices(points, np.asarray(mesh.faces)):
        raise UsageError(reorder_refusal())
    _meshio_write("stl", path, points, np.asarray(mesh.faces), binary=not text)


def verify_stl(
    mesh: SurfaceMesh, path: Path, *, ascii: Any = False, allow_vertex_reorder: Any = None
) -> None:
    """The soup read back is the soup written: each triangle's corners, in order (vertex order may not be)."""
    points, _ = _stl_points(mesh, ascii)
    back = read_stl(str(path))
    expected = points[np.asarray(mesh.faces)]
    if back.faces.shape != mesh.faces.shape or not np.array_equal(back.vertices[back.faces], expected):
        raise OutputError(f"{path.name}: the triangles read back differ from those written")


STL_BYTES_PER_TRIANGLE = 50  # binary STL: normal and three corners in float32, then a 2-byte attribute


def read_stl(url: str, *, storage_options: Mapping[str, Any] | None = None) -> SurfaceMesh:
    head = storage.read_head(url, 84, storage_options)
    if len(head) == 84 and not head.lstrip().startswith(b"solid"):  # binary: meshio allocates the count
        from neurodatahub.core import budget

        triangles = int.from_bytes(head[80:84], "little")
        budget.require(4 * STL_BYTES_PER_TRIANGLE * triangles, f"the STL file's {triangles} triangles", url)
    mesh = _meshio_read("stl", url, storage_options, "STL")
    return _from_meshio(mesh, url, triangulate=False, derived=["facet_normals"])


def sniff_stl(probe: Probe) -> bool:
    """Binary: the triangle count at byte 80 gives the file size exactly. Text: `solid` then facets."""
    head = probe.head
    if len(head) >= 84:
        count = int.from_bytes(head[80:84], "little")
        try:
            if storage.size_of(probe.url, probe.storage_options) == 84 + 50 * count:
                return True
        except HubError:
            return False
    lines = common.text_lines(head)
    if not lines or not lines[0].lstrip().lower().startswith("solid"):
        return False
    rest = [line.strip() for line in lines[1:] if line.strip()]
    return not rest or rest[0].startswith(("facet", "endsolid"))


# ---- legacy VTK ----


def read_vtk(
    url: str, *, storage_options: Mapping[str, Any] | None = None, triangulate: Any = False
) -> SurfaceMesh:
    from neurodatahub.surfaces import polydata, vtk_legacy

    dataset = vtk_legacy.dataset_type(storage.read_head(url, storage_options=storage_options))
    if dataset == "POLYDATA":
        with storage.open_read(url, storage_options) as handle:
            data = handle.read()
        try:
            parsed = vtk_legacy.parse(data)
        except polydata.VtkFormatError as error:
            raise InputError(f"{url}: not a readable legacy VTK file ({common.described(error)})") from error
        return common.polydata_to_mesh(parsed, url=url, fmt="VTK", triangulate=triangulate)
    if dataset == "UNSTRUCTURED_GRID":
        return _from_meshio(
            _meshio_read("vtk", url, storage_options, "legacy VTK"), url, triangulate=triangulate
        )
    if dataset is None:
        raise InputError(f"{url}: not a legacy VTK file (no '# vtk DataFile' header and DATASET line)")
    raise InputError(
        f"{url} holds a legacy VTK {dataset} dataset, not a surface (POLYDATA or UNSTRUCTURED_GRID)"
    )


def _vtk_rules(dataset: Any) -> DataRules:
    if dataset == "polydata":
        return POLYDATA_RULES
    if dataset == "unstructured_grid":
        return VTK_RULES
    raise UsageError(f"dataset must be polydata or unstructured_grid, got {dataset!r}")


class VtkWriteOptions(WriteOptions):
    dataset: Literal["polydata", "unstructured_grid"] = Field(
        "polydata",
        description="polydata (VTK's surface dataset, read in vertex order by pyvista and spectralbrain) or"
        " unstructured_grid (meshio's writer, for meshio-based readers)",
    )


def write_vtk(mesh: SurfaceMesh, path: Path, *, ascii: Any = False, dataset: Any = "polydata") -> None:
    text = ascii
    kept, _ = common.storable(mesh, _vtk_rules(dataset))
    points = common.wide_vertices(mesh)
    if dataset == "polydata":
        from neurodatahub.surfaces import vtk_legacy

        data = {column.name: values for column, values in kept}
        path.write_bytes(vtk_legacy.serialize(points, np.asarray(mesh.faces), data, ascii=text))
    else:
        _meshio_write("vtk", path, points, np.asarray(mesh.faces), kept, fmt_version="4.2", binary=not text)


def vtk_losses(mesh: SurfaceMesh, *, ascii: Any = False, dataset: Any = "polydata") -> list[Any]:
    return common.header_losses(mesh, "legacy VTK") + common.storable(mesh, _vtk_rules(dataset))[1]


def sniff_vtk(probe: Probe) -> bool:
    from neurodatahub.surfaces import vtk_legacy

    return vtk_legacy.dataset_type(probe.head) in ("POLYDATA", "UNSTRUCTURED_GRID")


NO_HEADER = "space, hemisphere, metadata"
register_format(
    FormatSpec(
        name="ply",
        kind=KIND,
        description="PLY (meshio): binary, float or double coordinates, one vertex property per 1-D array",
        extensions=(".ply",),
        read=read_ply,
        write=write_ply,
        sniff=sniff_ply,
        read_options=ReadOptions,
        write_options=WriteOptions,
        cannot_store=(NO_HEADER, "N x k vertex data", "text vertex data"),
        losses=ply_losses,
    )
)
register_format(
    FormatSpec(
        name="obj",
        kind=KIND,
        description="Wavefront OBJ (meshio): vertices as exact decimal text and faces",
        extensions=(".obj",),
        read=read_obj,
        write=write_obj,
        sniff=sniff_obj,
        read_options=ReadOptions,
        cannot_store=(NO_HEADER, "vertex data"),
        losses=obj_losses,
    )
)
register_format(
    FormatSpec(
        name="stl",
        kind=KIND,
        description="STL triangle soup (meshio): binary float32 by default; vertex order is not kept",
        extensions=(".stl",),
        read=read_stl,
        write=write_stl,
        sniff=sniff_stl,
        write_options=StlWriteOptions,
        cannot_store=(NO_HEADER, "vertex data", "vertex order", "float64 precision (binary)"),
        losses=stl_losses,
        verify=verify_stl,
    )
)
register_format(
    FormatSpec(
        name="vtk",
        kind=KIND,
        description="legacy VTK 4.2 POLYDATA (or meshio's UNSTRUCTURED_GRID), binary by default",
        extensions=(".vtk",),
        read=read_vtk,
        write=write_vtk,
        sniff=sniff_vtk,
        read_options=ReadOptions,
        write_options=VtkWriteOptions,
        cannot_store=(NO_HEADER, "text vertex data", "names with spaces"),
        losses=vtk_losses,
    )
)
