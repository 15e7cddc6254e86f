"""What every surface format needs: building a SurfaceMesh, options, triangles from other polygons, which
per-vertex arrays a format can hold, and the losses it declares.

Formats differ in what per-vertex data they hold (none in OBJ and STL, one number per vertex in PLY,
rows in VTK and GIfTI functional files) and in their number types. `DataRules` says it once per format;
`storable` applies it, so a writer and its declared losses always agree. Integer data moves to another
integer type when every value fits (not a loss); floats rounded to float32, booleans stored as 0/1, and
arrays a format cannot hold are declared, one `Loss` per array (`vertex_data.<name>`).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import kinds, words
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.options import Flag, Options

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceMesh

KIND = "surface"
HEAD_SIZE = 4096  # what Probe.head holds (storage.read_head's default)
FLOAT32_MAX = float(np.finfo(np.float32).max)


class ReadOptions(Options):
    triangulate: Flag = Field(
        False,
        description="split quads and other polygons into triangle fans (otherwise they are an error, since a"
        " SurfaceMesh holds triangles only)",
    )


class WriteOptions(Options):
    ascii: Flag = Field(False, description="write text instead of binary (larger and slower to read)")


HEMISPHERES = tuple(kinds.enum_values("Hemisphere"))


def native(values: Any) -> np.ndarray:
    """The array in the machine's byte order (VTK legacy and FreeSurfer files are big-endian)."""
    array = np.asarray(values)
    return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))


def build(
    *,
    vertices: Any,
    faces: Any,
    url: str,
    vertex_data: Sequence[Mapping[str, Any]] = (),
    hemisphere: str | None = None,
    space: str | None = None,
    metadata: Any = None,
) -> Any:
    """A validated SurfaceMesh; float vertices and integer faces keep their dtype (float32 stays float32)."""
    from neurodatahub.core.models import SurfaceMesh

    points = native(vertices)
    if points.dtype.kind not in "f":
        points = points.astype(np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise InputError(f"{url}: vertices must be N x 3 coordinates, got shape {points.shape}")
    triangles = native(faces)
    if triangles.size == 0:
        triangles = np.empty((0, 3), dtype=triangles.dtype if triangles.dtype.kind in "iu" else np.int64)
    if triangles.dtype.kind not in "iu":
        raise InputError(f"{url}: face indices must be integers, got {triangles.dtype}")
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise InputError(f"{url}: faces must be F x 3 vertex indices, got shape {triangles.shape}")
    columns = [{**column, "values": native(column["values"])} for column in vertex_data]
    return SurfaceMesh(
        vertices=points,
        faces=triangles,
        vertex_data=columns or None,
        hemisphere=hemisphere,
        space=space,
        metadata=metadata if metadata else None,
    )


def loss(field: str, reason: str, count: int | None = None) -> Any:
    from neurodatahub.core.models import Loss

    return Loss(field=field, reason=reason, count=count)


def header_losses(model: Any, fmt: str, kept: Iterable[str] = ()) -> list[Any]:
    """Space, hemisphere and metadata (those the model has), for the formats that have no place for them."""
    return [
        loss(field, f"{fmt} has no place for it")
        for field in ("space", "hemisphere", "metadata")
        if field not in kept and getattr(model, field, None) not in (None, {}, [])
    ]


def all_data_lost(mesh: SurfaceMesh, reason: str) -> list[Any]:
    n_vertices = len(mesh.vertices)
    return [loss(f"vertex_data.{column.name}", reason, n_vertices) for column in mesh.vertex_data or ()]


def changed_rows(values: np.ndarray, stored: np.ndarray) -> int:
    """Rows (vertices) whose stored values differ from the model's; NaN equals NaN."""
    if values.size == 0:
        return 0
    before = np.asarray(values, dtype=np.float64)
    after = np.asarray(stored, dtype=np.float64)
    differ = (before != after) & ~(np.isnan(before) & np.isnan(after))
    return int(np.count_nonzero(differ.reshape(len(differ), -1).any(axis=1)))


def float32_vertices(mesh: SurfaceMesh, fmt: str) -> tuple[np.ndarray, list[Any]]:
    """The coordinates as float32, and the rounding loss when that changes any of them."""
    vertices = np.asarray(mesh.vertices)
    if vertices.size and np.abs(vertices).max() > FLOAT32_MAX:
        raise UsageError(f"vertex coordinates beyond the float32 range cannot be stored in {fmt}")
    stored = vertices.astype(np.float32)
    if vertices.dtype.itemsize <= 4:
        return stored, []
    moved = changed_rows(vertices, stored)
    reason = f"{fmt} stores coordinates as float32: rounded to about 7 significant digits"
    return stored, ([loss("vertices", reason, moved)] if moved else [])


def wide_vertices(mesh: SurfaceMesh) -> np.ndarray:
    """Coordinates for formats that hold float32 or float64: half floats widened, long doubles narrowed."""
    vertices = np.asarray(mesh.vertices)
    if vertices.dtype.itemsize < 4:
        return vertices.astype(np.float32)
    return vertices if vertices.dtype.itemsize in (4, 8) else vertices.astype(np.float64)


# ---- per-vertex data ----


def no_name_problem(name: str) -> str | None:
    return None


def token_name_problem(name: str) -> str | None:
    """Header-based formats (PLY, legacy VTK) separate words by blanks: a name must be one word."""
    if not name or any(char.isspace() for char in name) or not name.isascii():
        return "its name is not one ASCII word, which the format's header needs"
    return None


@dataclass(frozen=True)
class DataRules:
    """What per-vertex arrays a format holds: dimensions, integer and float types, names."""

    fmt: str
    max_dims: int = 2
    ints: tuple[str, ...] = ("i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8")
    floats: tuple[str, ...] = ("f4", "f8")
    name_problem: Callable[[str], str | None] = no_name_problem
    pad_two_columns: bool = False  # meshio's legacy VTK writer adds a zero column to N x 2 arrays
    keeps_notes: bool = False  # whether an array's description and unit have a place (GIfTI metadata)
    keeps_single_columns: bool = False  # whether N x 1 differs from N in the file (not in PLY or VTK)


def storable(mesh: SurfaceMesh, rules: DataRules) -> tuple[list[tuple[Any, np.ndarray]], list[Any]]:
    """(column, values as the format stores them) for each array it holds, and the losses of the others."""
    kept: list[tuple[Any, np.ndarray]] = []
    losses: list[Any] = []
    for column in mesh.vertex_data or ():
        field = f"vertex_data.{column.name}"
        values = native(column.values)
        count = len(values)
        if values.ndim == 2 and values.shape[1] == 1 and not rules.keeps_single_columns:
            values = values[:, 0]
            losses.append(loss(field, f"an N x 1 array comes back 1-D: {rules.fmt} does not tell them apart"))
        problem = rules.name_problem(column.name)
        if problem is None and values.ndim > rules.max_dims:
            what = "one number per vertex" if rules.max_dims == 1 else "one number or one row per vertex"
            problem = f"{rules.fmt} holds {what}, not arrays of shape {values.shape}"
        if problem is not None:
            losses.append(loss(field, problem, count))
            continue
        stored, note = _as_stored(values, rules)
        if stored is None:
            losses.append(loss(field, note, count))
            continue
        if note:
            changed = count if values.dtype.kind == "b" else changed_rows(values, stored)
            if changed:
                losses.append(loss(field, note, changed))
        if rules.pad_two_columns and stored.ndim == 2 and stored.shape[1] == 2:
            losses.append(loss(field, f"{rules.fmt} gets a third column of zeros (meshio pads N x 2 arrays)"))
        if not rules.keeps_notes:
            losses.extend(
                loss(f"{field}.{note}", f"{rules.fmt} has no place for it")
                for note in ("description", "unit")
                if getattr(column, note)
            )
        kept.append((column, stored))
    return kept, losses


def _as_stored(values: np.ndarray, rules: DataRules) -> tuple[np.ndarray | None, str]:
    """The values in a type the format has (None when there is none) and what that changed, if anything."""
    kind, code = values.dtype.kind, values.dtype.str[1:]
    if kind == "b":
        target = next((t for t in ("u1", "i1", "i4") if t in rules.ints), None)
        if target is None:
            return None, f"{rules.fmt} has no type for booleans"
        return values.astype(target), f"booleans stored as 0/1 integers ({np.dtype(target).name})"
    if kind in "iu":
        if code in rules.ints:
            return values, ""
        low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
        fitting = [
            np.dtype(name)
            for name in rules.ints
            if np.iinfo(np.dtype(name)).min <= low and high <= np.iinfo(np.dtype(name)).max
        ]
        if not fitting:
            return None, f"integers beyond the range of {rules.fmt}'s integer types"
        size = values.dtype.itemsize  # rather wider than narrower, rather of the same signedness
        target = min(fitting, key=lambda t: (t.itemsize < size, t.kind != kind, abs(t.itemsize - size)))
        return values.astype(target), ""  # every value fits: the same numbers in another width
    if kind == "f":
        if code in rules.floats:
            return values, ""
        wider = [name for name in rules.floats if np.dtype(name).itemsize >= values.dtype.itemsize]
        if wider:
            return values.astype(min(wider, key=lambda name: np.dtype(name).itemsize)), ""
        widest = max(rules.floats, key=lambda name: np.dtype(name).itemsize)
        bits = np.dtype(widest).itemsize * 8
        with np.errstate(over="ignore"):
            return values.astype(widest), f"rounded to {bits}-bit floats, which is all {rules.fmt} holds"
    return None, f"{rules.fmt} stores numbers only, not {values.dtype} values"


# ---- faces ----


def fan(polygons: np.ndarray) -> np.ndarray:
    """Triangle fans of polygons with k corners each: (m, k) -> (m * (k - 2), 3), in polygon order."""
    polygons = np.asarray(polygons)
    m, k = polygons.shape
    first = np.broadcast_to(polygons[:, :1], (m, k - 2))
    return np.stack([first, polygons[:, 1:-1], polygons[:, 2:]], axis=-1).reshape(-1, 3)


def polygons_to_triangles(
    ends: np.ndarray, connectivity: np.ndarray, *, triangulate: bool, url: str
) -> np.ndarray:
    """Faces from ragged polygons (end offsets into `connectivity`); fans only when asked to."""
    ends = np.asarray(ends, dtype=np.int64)
    connectivity = native(connectivity)
    sizes = np.diff(ends, prepend=0)
    if sizes.size and (ends[-1] != connectivity.size or (sizes < 0).any()):
        raise InputError(f"{url}: polygon offsets do not match the {connectivity.size} vertex indices")
    if (sizes == 3).all():
        return connectivity.reshape(-1, 3)
    if (sizes < 3).any():
        raise InputError(f"{url} has {int(np.count_nonzero(sizes < 3))} polygons with fewer than 3 vertices")
    if not triangulate:
        raise InputError(_polygon_message(url, {f"{k}-gon": int(n) for k, n in _size_counts(sizes)}))
    counts = sizes - 2
    first = np.cumsum(counts) - counts
    out = np.empty((int(counts.sum()), 3), dtype=connectivity.dtype)
    for k in np.unique(sizes):
        chosen = np.flatnonzero(sizes == k)
        corners = connectivity[(ends[chosen] - k)[:, None] + np.arange(k)]
        out[(first[chosen, None] + np.arange(k - 2)).reshape(-1)] = fan(corners)
    return out


def _size_counts(sizes: np.ndarray) -> list[tuple[int, int]]:
    values, counts = np.unique(sizes[sizes != 3], return_counts=True)
    return list(zip(values.tolist(), counts.tolist(), strict=True))


def _polygon_message(url: str, counts: Mapping[str, int]) -> str:
    listed = ", ".join(f"{n} {name}" for name, n in counts.items())
    return (
        f"{url} has polygons other than triangles ({listed}); a SurfaceMesh holds triangles only: read it"
        " with triangulate=true (hub convert --read-option triangulate=true) to split them into fans"
    )


def blocks_to_triangles(
    blocks: Iterable[tuple[str, np.ndarray]], *, triangulate: bool, url: str
) -> np.ndarray:
    """Faces from meshio cell blocks: triangles kept, polygons fanned when asked, anything else refused."""
    pieces: list[np.ndarray] = []
    polygons: dict[str, int] = {}
    others: dict[str, int] = {}
    for cell_type, data in blocks:
        data = native(data)
        if cell_type == "triangle":
            pieces.append(data)
        elif cell_type in ("quad", "polygon") or cell_type.startswith("polygon"):
            if triangulate:
                pieces.append(fan(data))
            else:
                polygons[cell_type] = polygons.get(cell_type, 0) + len(data)
        else:
            others[cell_type] = others.get(cell_type, 0) + len(data)
    if others:
        listed = ", ".join(f"{n} {name}" for name, n in others.items())
        raise InputError(
            f"{url} has cells that are not surface triangles ({listed}): it is not a surface mesh"
        )
    if polygons:
        raise InputError(_polygon_message(url, polygons))
    if not pieces:
        return np.empty((0, 3), dtype=np.int64)
    dtype = np.result_type(*pieces)
    return np.concatenate([piece.astype(dtype, copy=False) for piece in pieces])


# ---- reading helpers ----


def described(error: BaseException) -> str:
    """An exception as one line (numpy and meshio messages span several), with its type for context."""
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def note_ignored(metadata: dict[str, Any], what: str, names: Iterable[str]) -> None:
    """Record (by name) what a reader found but a SurfaceMesh has no field for (per-face arrays...)."""
    names = list(names)
    if names:
        metadata.setdefault("ignored_on_read", {})[what] = names


def plain(value: Any) -> Any:
    """Metadata as JSON would give it back: numpy values become numbers and lists."""
    from neurodatahub.core.codecs.metadata import to_json

    return json.loads(to_json(value))


def text_lines(head: bytes) -> list[str] | None:
    """The complete lines of a text head (the last one may be cut when the head is full); None for binary."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.splitlines()
    if len(head) >= HEAD_SIZE and not text.endswith("\n"):
        lines = lines[:-1]
    return lines


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """meshio prints warnings to stderr itself; the hub reports what matters through its own losses."""
    with contextlib.redirect_stderr(io.StringIO()), np.errstate(all="ignore"):
        yield


def polydata_to_mesh(data: Any, *, url: str, fmt: str, triangulate: bool) -> Any:
    """A SurfaceMesh from VTK PolyData (VTP or legacy VTK): polygons become faces; lines, vertices and
    strips mean the file is not a surface (a tractogram is polylines)."""
    others = {kind: data.count(kind) for kind in ("verts", "lines", "strips") if data.count(kind)}
    if others:
        listed = ", ".join(f"{count} {kind}" for kind, count in others.items())
        raise InputError(f"{url} holds {listed}, not only polygons: it is not a triangle surface")
    n_vertices = len(data.points)
    ends, connectivity = data.cells.get("polys", (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)))
    faces = polygons_to_triangles(ends, connectivity, triangulate=triangulate, url=url)
    columns = []
    for name, values in data.point_data.items():
        if len(values) != n_vertices:
            raise InputError(f"{url}: point data {name!r} has {len(values)} values for {n_vertices} points")
        columns.append({"name": name, "values": values})
    metadata: dict[str, Any] = {}
    note_ignored(metadata, "face_data", data.cell_data)
    note_ignored(metadata, "field_data", data.field_data)
    return build(vertices=data.points, faces=faces, url=url, vertex_data=columns, metadata=metadata)


# ---- per-vertex data files (no geometry of their own) ----


def on_geometry(
    url: str,
    columns: list[dict[str, Any]],
    geometry: str | None,
    storage_options: Mapping[str, Any] | None,
    metadata: Mapping[str, Any],
) -> Any:
    """A SurfaceMesh of the surface file `geometry` with per-vertex data read from `url` added to it.

    GIfTI functional files, FreeSurfer morphometry and MGH overlays hold values without vertices; the
    surface they belong to is named with the reader option `geometry=`.
    """
    from neurodatahub.core.conversion import read as read_any
    from neurodatahub.core.models import SurfaceMesh

    if not geometry:
        raise UsageError(
            f"{url} holds per-vertex data without geometry; name the surface it belongs to with"
            f" {words.option('geometry', words.Placeholder('SURFACE_FILE'), reader=True)}"
        )
    surface = read_any(str(geometry), storage_options=storage_options)
    if not isinstance(surface, SurfaceMesh):
        raise InputError(f"{geometry} is not a surface mesh ({type(surface).__name__})")
    n_values, n_vertices = len(columns[0]["values"]), len(surface.vertices)
    if n_values != n_vertices:
        raise InputError(f"{url} has {n_values} values per array but {geometry} has {n_vertices} vertices")
    existing = [column.model_dump() for column in surface.vertex_data or ()]
    clash = {column["name"] for column in existing} & {column["name"] for column in columns}
    if clash:
        raise InputError(f"{url} and {geometry} both have vertex data named {sorted(clash)}")
    merged = dict(surface.metadata) if isinstance(surface.metadata, dict) else {}
    if surface.metadata is not None and not isinstance(surface.metadata, dict):
        merged["metadata"] = surface.metadata
    merged.update(metadata)
    return build(
        vertices=surface.vertices,
        faces=surface.faces,
        url=url,
        vertex_data=[*existing, *columns],
        hemisphere=surface.hemisphere,
        space=surface.space,
        metadata=merged,
    )


def geometry_losses(mesh: SurfaceMesh, fmt: str, kept_metadata: Iterable[str] = ()) -> list[Any]:
    """What a per-vertex data file drops: the geometry, space, hemisphere and other metadata."""
    reason = f"{fmt} holds per-vertex data only (read it back with geometry=<surface file>)"
    losses = [loss("vertices", reason, len(mesh.vertices)), loss("faces", reason, len(mesh.faces))]
    metadata = mesh.metadata
    if isinstance(metadata, dict):
        metadata = {key: value for key, value in metadata.items() if key not in set(kept_metadata)} or None
    return losses + header_losses(mesh.model_copy(update={"metadata": metadata}), fmt)


def verifier(read: Any, losses: Any) -> Any:
    """A FormatSpec.verify for formats that take the hemisphere from the lh./rh. file name: the file is read
    back and compared, hemisphere aside (a staged file's name says nothing of the final one's)."""

    def verify(model: Any, path: Any, **options: Any) -> None:
        from neurodatahub.core.errors import OutputError
        from neurodatahub.core.summary import fingerprint, same

        back = read(str(path))
        if losses(model, **options):
            return
        back = back.model_copy(update={"hemisphere": model.hemisphere})
        if not same(fingerprint(back), fingerprint(model)):
            raise OutputError("it reads back as other data")

    return verify
