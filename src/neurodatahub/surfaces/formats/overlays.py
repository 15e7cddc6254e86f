"""FreeSurfer per-vertex overlays: morphometry files (lh.thickness, lh.curv, lh.sulc...) and MGH/MGZ overlays.

Both hold values without geometry, like a .func.gii: reading one takes `geometry=<surface file>` and adds
the values to that surface's vertex data; writing stores one array of a mesh and declares the rest lost.
- `freesurfer-morph`: FreeSurfer's "new curv" format (nibabel's read_morph_data/write_morph_data):
  magic 0xFFFFFF, vertex and face counts, one big-endian float32 per vertex. The column is named after
  the file (lh.thickness -> thickness).
- `mgh-overlay`: an MGH image of shape (vertices, 1, 1) or (vertices, 1, 1, frames) (FreeSurfer's
  mris_preproc and mri_surf2surf write these; .mgz is gzipped): float32, int32, int16 or uint8 values,
  frames as the columns of an N x F array. Volumes (.mgz images of a brain) are another kind: an MGH
  file is an overlay only when its second and third dimensions are 1.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import budget, storage
from neurodatahub.core.codecs.gzip import GZIP_MAGIC, gunzipped_head, open_inflating
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.options import Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.surfaces import common
from neurodatahub.surfaces.common import KIND, DataRules

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceMesh

MORPH_MAGIC = b"\xff\xff\xff"
MORPH_NAMES = (
    ".thickness", ".curv", ".sulc", ".area", ".volume", ".jacobian_white", ".curv.pial", ".area.pial",
    ".area.mid", ".avg_curv", ".inflated.H", ".inflated.K",
)  # fmt: skip
MORPH_RULES = DataRules("a FreeSurfer morphometry file", max_dims=1, ints=(), floats=("f4",))
MGH_RULES = DataRules("an MGH overlay", ints=("u1", "i2", "i4"), floats=("f4",))
MGH_HEADER = 284  # version, 3 dimensions, frames, type, dof, ras flag, 15 floats of geometry


class ReadOptions(Options):
    geometry: str | None = Field(
        None, description="the surface file (any surface format, any URL) the values belong to; required"
    )


class WriteOptions(Options):
    column: str | None = Field(None, description="the vertex data array to write (default: the only one)")


def column_name(url: str) -> str:
    """lh.thickness -> thickness; lh.thickness.fsaverage.mgz -> thickness.fsaverage."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".mgz", ".mgh"):
        name = name.removesuffix(suffix)
    if name[:3] in ("lh.", "rh."):
        name = name[3:]
    return name or "values"


def _chosen(mesh: SurfaceMesh, column: str | None, rules: DataRules) -> tuple[Any, np.ndarray]:
    kept, _ = common.storable(mesh, rules)
    if column is not None:
        found = [(item, values) for item, values in kept if item.name == column]
        if not found:
            names = [item.name for item in mesh.vertex_data or ()]
            raise UsageError(f"no storable vertex data named {column!r} (the mesh has {names or 'none'})")
        return found[0]
    if len(kept) != 1:
        names = [item.name for item, _ in kept]
        raise UsageError(
            f"{rules.fmt} holds one array; the mesh has {len(kept)} it can store ({names}):"
            " choose with -O column=NAME"
        )
    return kept[0]


def _losses(mesh: SurfaceMesh, column: str | None, rules: DataRules) -> list[Any]:
    chosen, _ = _chosen(mesh, column, rules)
    _, dropped = common.storable(mesh.model_copy(update={"vertex_data": [chosen]}), rules)
    others = [
        common.loss(f"vertex_data.{item.name}", f"{rules.fmt} holds one array", len(item.values))
        for item in mesh.vertex_data or ()
        if item.name != chosen.name
    ]
    return common.geometry_losses(mesh, rules.fmt) + others + dropped


# ---- morphometry ----


def read_morph(
    url: str, *, storage_options: Mapping[str, Any] | None = None, geometry: str | None = None
) -> SurfaceMesh:
    """Parsed here with numpy (nibabel's reader needs a local path; this one reads any URL)."""
    with storage.open_read(url, storage_options) as handle:
        head = handle.read(15)
        if len(head) < 15 or not head.startswith(MORPH_MAGIC):
            raise InputError(
                f"{url}: not a FreeSurfer morphometry file (no 0xFFFFFF magic; the pre-2004"
                " format is not read)"
            )
        count, _, per_vertex = np.frombuffer(head[3:], dtype=">i4")
        if per_vertex != 1 or count < 0:
            raise InputError(f"{url}: {per_vertex} values per vertex; FreeSurfer morphometry has 1")
        data = handle.read(4 * int(count))
    if len(data) != 4 * count:
        raise InputError(f"{url}: truncated: {len(data) // 4} values for the {count} vertices announced")
    values = np.frombuffer(data, dtype=">f4").astype(np.float32)
    return common.on_geometry(
        url, [{"name": column_name(url), "values": values}], geometry, storage_options, {}
    )


def write_morph(mesh: SurfaceMesh, path: Path, *, column: str | None = None) -> None:
    from nibabel.freesurfer import write_morph_data

    _, values = _chosen(mesh, column, MORPH_RULES)
    with open(path, "wb") as handle:
        write_morph_data(handle, values.astype(">f4"), fnum=len(mesh.faces))


def morph_losses(mesh: SurfaceMesh, *, column: str | None = None) -> list[Any]:
    return _losses(mesh, column, MORPH_RULES)


def verify_morph(mesh: SurfaceMesh, path: Path, *, column: str | None = None) -> None:
    from nibabel.freesurfer import read_morph_data

    from neurodatahub.core.errors import OutputError

    _, values = _chosen(mesh, column, MORPH_RULES)
    back = read_morph_data(str(path))
    if not np.array_equal(back, values, equal_nan=True):
        raise OutputError(f"{path.name}: the values read back differ from those written")


def sniff_morph(probe: Probe) -> bool:
    return probe.head.startswith(MORPH_MAGIC) and len(probe.head) >= 15


# ---- MGH overlays ----


def _gzipped(handle: Any) -> bool:
    magic = handle.read(2)
    handle.seek(0)
    return magic == GZIP_MAGIC


def _mgh_shape(head: bytes) -> tuple[int, ...] | None:
    """(width, height, depth, frames) from an MGH header (version 1, big-endian), else None."""
    if len(head) < 20 or int.from_bytes(head[:4], "big") != 1:
        return None
    return tuple(int.from_bytes(head[4 * i : 4 * i + 4], "big", signed=True) for i in range(1, 5))


def sniff_mgh(probe: Probe) -> bool:
    if probe.is_dir:
        return False
    try:
        shape = _mgh_shape(gunzipped_head(probe.head, probe.url, MGH_HEADER))
    except InputError:
        return False
    return shape is not None and shape[0] > 0 and shape[1:3] == (1, 1) and shape[3] >= 1


def read_mgh(
    url: str, *, storage_options: Mapping[str, Any] | None = None, geometry: str | None = None
) -> SurfaceMesh:
    import nibabel as nib

    with storage.open_read(url, storage_options) as handle:
        shape = _mgh_shape(gunzipped_head(handle.read(MGH_HEADER), url, MGH_HEADER)) or ()
        budget.require_array(shape, np.float32, f"the MGH data {shape}", url)  # MGH values: 4 bytes at most
        handle.seek(0)
        data = (
            open_inflating(handle, url, "the gzipped MGH file").read() if _gzipped(handle) else handle.read()
        )
    try:
        image = nib.MGHImage.from_bytes(data)
        values = np.asarray(image.dataobj)
    # nibabel raises KeyError for a header whose type code it does not know (any non-MGH bytes)
    except (OSError, EOFError, ValueError, KeyError, nib.spatialimages.HeaderDataError) as error:
        raise InputError(f"{url}: not a readable MGH file ({common.described(error)})") from error
    if values.ndim < 3 or values.shape[1:3] != (1, 1):
        raise InputError(
            f"{url} is an MGH volume of shape {values.shape}, not a surface overlay (vertices x 1 x 1)"
        )
    frames = values.reshape(values.shape[0], -1)  # nibabel drops a single frame: (N, 1, 1) is 1-D
    values = frames[:, 0] if values.ndim == 3 else frames
    return common.on_geometry(
        url, [{"name": column_name(url), "values": common.native(values)}], geometry, storage_options, {}
    )


def write_mgh(mesh: SurfaceMesh, path: Path, *, column: str | None = None) -> None:
    import nibabel as nib

    _, values = _chosen(mesh, column, MGH_RULES)
    shaped = values.reshape(len(values), 1, 1) if values.ndim == 1 else values.reshape(len(values), 1, 1, -1)
    raw = nib.MGHImage(shaped, np.eye(4)).to_bytes()
    path.write_bytes(gzip.compress(raw, compresslevel=6, mtime=0) if ".mgz" in path.name else raw)


def mgh_losses(mesh: SurfaceMesh, *, column: str | None = None) -> list[Any]:
    return _losses(mesh, column, MGH_RULES)


def verify_mgh(mesh: SurfaceMesh, path: Path, *, column: str | None = None) -> None:
    import nibabel as nib

    from neurodatahub.core.errors import OutputError

    _, values = _chosen(mesh, column, MGH_RULES)
    raw = path.read_bytes()
    back = np.asarray(
        nib.MGHImage.from_bytes(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).dataobj
    )
    if not np.array_equal(back.reshape(values.shape), values, equal_nan=values.dtype.kind == "f"):
        raise OutputError(f"{path.name}: the values read back differ from those written")


register_format(
    FormatSpec(
        name="freesurfer-morph",
        kind=KIND,
        description="FreeSurfer morphometry (lh.thickness, lh.curv): float32 per vertex, geometry= to read",
        extensions=MORPH_NAMES,
        read=read_morph,
        write=write_morph,
        sniff=sniff_morph,
        read_options=ReadOptions,
        write_options=WriteOptions,
        cannot_store=("vertices and faces", "more than one array", "float64 precision"),
        losses=morph_losses,
        verify=verify_morph,
    )
)
register_format(
    FormatSpec(
        name="mgh-overlay",
        kind=KIND,
        description="MGH/MGZ surface overlay (vertices x 1 x 1 [x frames]) (geometry= to read)",
        extensions=(".mgh", ".mgz"),
        read=read_mgh,
        write=write_mgh,
        sniff=sniff_mgh,
        read_options=ReadOptions,
        write_options=WriteOptions,
        cannot_store=("vertices and faces", "more than one array", "float64 precision"),
        losses=mgh_losses,
        verify=verify_mgh,
        claims_extension=False,  # .mgh/.mgz are volumes too; an overlay is known by its 1 x 1 dimensions
    )
)
