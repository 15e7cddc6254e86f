"""FreeSurfer surfaces (lh.white, rh.pial, lh.inflated, lh.sphere...), read and written with nibabel.

Recognised by the triangle-file magic (0xFFFFFE) followed by the "created by ..." line FreeSurfer and
nibabel write; quad files (older) are read when named like surfaces. Coordinates are FreeSurfer's float32
(kept as float32), in the subject's tkRAS space, which is no template space: `space` stays unset. The
hemisphere comes from the lh./rh. prefix of the name; the creation line and the volume geometry footer
(volume_info: the volume the surface was made from) are kept in `metadata["freesurfer"]` and written
back (so FreeSurfer -> hub -> FreeSurfer keeps them). A triangle file holds no per-vertex data (write it to
a morphometry file or an MGH overlay), no space and no other metadata: declared losses, as is the
hemisphere, which FreeSurfer keeps only in the lh./rh. file name.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.surfaces import common
from neurodatahub.surfaces.common import KIND

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceMesh

TRIANGLE_MAGIC = b"\xff\xff\xfe"
# the creation line written when the mesh has none (not recorded on reading, so the round trip is exact)
DEFAULT_STAMP = "created by neurodatahub"
SURFACE_NAMES = (
    ".white", ".pial", ".inflated", ".sphere", ".sphere.reg", ".orig", ".smoothwm", ".midthickness",
    ".graymid", ".qsphere", ".white.preaparc", ".pial.t1", ".inflated_pre", ".orig.nofix",
)  # fmt: skip


def sniff_freesurfer(probe: Probe) -> bool:
    head = probe.head
    return head.startswith(TRIANGLE_MAGIC) and b"\n\n" in head[3:1024]


def read_freesurfer(url: str, *, storage_options: Mapping[str, Any] | None = None) -> SurfaceMesh:
    from nibabel.freesurfer import read_geometry

    with storage.local_copy(url, storage_options) as path, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unknown footer is reported by nibabel as a warning: no footer
        try:
            coords, faces, volume_info, stamp = read_geometry(str(path), read_metadata=True, read_stamp=True)
        except (ValueError, OSError, IndexError, EOFError, UnicodeDecodeError) as error:
            raise InputError(
                f"{url}: not a readable FreeSurfer surface ({common.described(error)})"
            ) from error
    vertices = np.asarray(coords)
    single = vertices.astype(np.float32)
    if np.array_equal(single, vertices):  # triangle files store float32; nibabel widens them
        vertices = single
    name = url.rstrip("/").rsplit("/", 1)[-1]
    hints = {"hemisphere": "L" if name.startswith("lh.") else "R"} if name.startswith(("lh.", "rh.")) else {}
    details: dict[str, Any] = {"created_by": stamp} if stamp and stamp != DEFAULT_STAMP else {}
    if volume_info:
        details["volume_info"] = common.plain(dict(volume_info))
    return common.build(
        vertices=vertices,
        faces=faces,
        url=url,
        metadata={"freesurfer": details} if details else None,
        **hints,
    )


def _volume_info(mesh: SurfaceMesh) -> dict[str, Any] | None:
    details = _details(mesh)
    info = details.get("volume_info")
    if not isinstance(info, dict):
        return None
    from collections import OrderedDict

    arrays = {key: np.asarray(value) if key != "filename" else value for key, value in info.items()}
    return OrderedDict(arrays)


def _details(mesh: SurfaceMesh) -> dict[str, Any]:
    found = mesh.metadata.get("freesurfer") if isinstance(mesh.metadata, dict) else None
    return found if isinstance(found, dict) else {}


def write_freesurfer(mesh: SurfaceMesh, path: Path) -> None:
    from nibabel.freesurfer import write_geometry

    vertices, _ = common.float32_vertices(mesh, "FreeSurfer")
    stamp = _details(mesh).get("created_by") or DEFAULT_STAMP
    try:
        write_geometry(
            str(path), vertices, np.asarray(mesh.faces).astype(np.int32), create_stamp=stamp,
            volume_info=_volume_info(mesh),
        )  # fmt: skip
    except (ValueError, KeyError) as error:
        raise UsageError(
            f"metadata.freesurfer.volume_info cannot be written ({common.described(error)})"
        ) from error


def losses(mesh: SurfaceMesh) -> list[Any]:
    _, rounding = common.float32_vertices(mesh, "FreeSurfer")
    reason = "a FreeSurfer surface holds geometry only; write per-vertex data to a morphometry or MGH file"
    metadata = mesh.metadata
    if isinstance(metadata, dict):
        metadata = {key: value for key, value in metadata.items() if key != "freesurfer"} or None
    found = common.header_losses(mesh.model_copy(update={"metadata": metadata}), "a FreeSurfer surface")
    return rounding + common.all_data_lost(mesh, reason) + found


register_format(
    FormatSpec(
        name="freesurfer",
        kind=KIND,
        description="FreeSurfer surface (lh.white, rh.pial...), nibabel; creation line and volume info kept",
        extensions=SURFACE_NAMES,
        read=read_freesurfer,
        write=write_freesurfer,
        sniff=sniff_freesurfer,
        cannot_store=("vertex data", "space, metadata", "float64 precision"),
        losses=losses,
        verify=common.verifier(read_freesurfer, losses),
    )
)
