"""FreeSurfer surfaces (lh.white, rh.pial, lh.inflated, lh.sphere...), read with nibabel; not written.

Recognised by the triangle-file magic (0xFFFFFE) followed by the "created by ..." line FreeSurfer and
nibabel write; quad files (older) are read when named like surfaces. Coordinates are FreeSurfer's float32
(kept as float32), in the subject's tkRAS space, which is no template space: `space` stays unset. The
hemisphere comes from the lh./rh. prefix of the name; the creation line and the volume geometry footer
(volume_info: the volume the surface was made from) are kept in `metadata["freesurfer"]`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.surfaces import common
from neurodatahub.surfaces.common import KIND

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceMesh

TRIANGLE_MAGIC = b"\xff\xff\xfe"
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
    details: dict[str, Any] = {"created_by": stamp} if stamp else {}
    if volume_info:
        details["volume_info"] = common.plain(dict(volume_info))
    return common.build(
        vertices=vertices,
        faces=faces,
        url=url,
        metadata={"freesurfer": details} if details else None,
        **hints,
    )


register_format(
    FormatSpec(
        name="freesurfer",
        kind=KIND,
        description="FreeSurfer surface (lh.white, rh.pial...), read with nibabel; volume info kept",
        extensions=SURFACE_NAMES,
        read=read_freesurfer,
        sniff=sniff_freesurfer,
    )
)
