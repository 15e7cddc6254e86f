"""VTK XML PolyData (.vtp): triangles and point data of any number type, 1-D or N x k, any name.

meshio has no VTP support, so the codec is the hub's own (surfaces/vtk_xml.py); it writes what VTK
writes by default (zlib-compressed base64 blocks) and reads every encoding VTK produces. Space,
hemisphere and metadata have no place in the file and are declared lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError
from neurodatahub.core.options import Flag
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.surfaces import common
from neurodatahub.surfaces.common import KIND, DataRules, ReadOptions, WriteOptions

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceMesh

RULES = DataRules("VTP")


def read_vtp(
    url: str, *, storage_options: Mapping[str, Any] | None = None, triangulate: Any = False
) -> SurfaceMesh:
    from neurodatahub.surfaces import polydata, vtk_xml

    with storage.open_read(url, storage_options) as handle:
        data = handle.read()
    try:
        parsed = vtk_xml.parse(data)
    except polydata.VtkFormatError as error:
        raise InputError(f"{url}: not a readable VTP file ({common.described(error)})") from error
    return common.polydata_to_mesh(parsed, url=url, fmt="VTP", triangulate=triangulate)


class VtpWriteOptions(WriteOptions):
    compress: Flag = Field(True, description="zlib-compress the binary arrays as VTK does")


def write_vtp(mesh: SurfaceMesh, path: Path, *, ascii: Any = False, compress: Any = True) -> None:
    from neurodatahub.surfaces import vtk_xml

    kept, _ = common.storable(mesh, RULES)
    path.write_bytes(
        vtk_xml.serialize(
            common.wide_vertices(mesh),
            mesh.faces,
            {column.name: values for column, values in kept},
            ascii=ascii,
            compress=compress,
        )
    )


def vtp_losses(mesh: SurfaceMesh, *, ascii: Any = False, compress: Any = True) -> list[Any]:
    return common.header_losses(mesh, "VTP") + common.storable(mesh, RULES)[1]


def sniff_vtp(probe: Probe) -> bool:
    head = probe.head[:1024]
    return b"<VTKFile" in head and (b'type="PolyData"' in head or b"type='PolyData'" in head)


register_format(
    FormatSpec(
        name="vtp",
        kind=KIND,
        description="VTK XML PolyData: zlib-compressed binary by default, point data of any number type",
        extensions=(".vtp",),
        read=read_vtp,
        write=write_vtp,
        sniff=sniff_vtp,
        read_options=ReadOptions,
        write_options=VtpWriteOptions,
        cannot_store=("space, hemisphere, metadata", "text vertex data"),
        losses=vtp_losses,
    )
)
