"""GIfTI surfaces (.surf.gii) and per-vertex data files (.func.gii, .shape.gii), through nibabel.

Surfaces: a float32 NIFTI_INTENT_POINTSET and an int32 NIFTI_INTENT_TRIANGLE array (float64 vertices
are rounded: a declared loss). Where the model's header goes:
- hemisphere L/R: the pointset's AnatomicalStructurePrimary (CortexLeft, CortexRight), as Workbench and
  FreeSurfer write it (`bilateral` under the pointset key `neurodatahub.hemisphere`);
- space: the pointset key `neurodatahub.space` (GIfTI has no names for template spaces), plus, for MNI,
  T1w/scanner and AC-PC spaces, the pointset's coordinate-system codes (NIFTI_XFORM_MNI_152,
  SCANNER_ANAT, ALIGNED_ANAT);
- the other GIfTI headers (file metadata, pointset and triangle metadata, a coordinate system that is not
  the default) go to `metadata["gifti"]` on reading and back on writing, so GIfTI -> hub -> GIfTI keeps
  them; the rest of the metadata travels as JSON under the file metadata key `neurodatahub.metadata`.
A .surf.gii holds geometry only (Workbench and FreeSurfer tools expect exactly these two arrays), so
per-vertex data is a declared loss on writing; extra data arrays in other tools' surface files are read.

Functional files hold per-vertex data WITHOUT geometry, one data array per column as spectralbrain's
`save_gifti_func` writes them: intent NIFTI_INTENT_SHAPE, float32 (int32 and uint8 kept as such). Arrays
are grouped by their `Name` metadata into vertex_data (several arrays of one name are the columns of one
N x k array; unnamed arrays are `scalars`, spectralbrain's key, 1-D when alone). A SurfaceMesh needs
geometry, so reading one takes `geometry=<surface file>` (any surface format, on any storage); writing
one stores the vertex data and declares the vertices, faces, space, hemisphere and metadata lost.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import budget, references, storage
from neurodatahub.core.codecs.gzip import open_inflating
from neurodatahub.core.errors import HubError, InputError, OutputError, UsageError
from neurodatahub.core.options import Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.surfaces import common
from neurodatahub.surfaces.common import KIND, DataRules

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceMesh

POINTSET, TRIANGLE, SHAPE, LABEL = (
    "NIFTI_INTENT_POINTSET",
    "NIFTI_INTENT_TRIANGLE",
    "NIFTI_INTENT_SHAPE",
    "NIFTI_INTENT_LABEL",
)
SPACE_KEY, HEMISPHERE_KEY, METADATA_KEY = (
    "neurodatahub.space",
    "neurodatahub.hemisphere",
    "neurodatahub.metadata",
)
STRUCTURE_OF = {"L": "CortexLeft", "R": "CortexRight"}
HEMISPHERE_OF = {structure: hemisphere for hemisphere, structure in STRUCTURE_OF.items()}
UNNAMED = "scalars"  # spectralbrain's name for the data of a .func.gii
FUNC_RULES = DataRules(
    "GIfTI", ints=("u1", "i4"), floats=("f4",), keeps_notes=True, keeps_single_columns=True
)
DATATYPE_OF = {"f4": "NIFTI_TYPE_FLOAT32", "i4": "NIFTI_TYPE_INT32", "u1": "NIFTI_TYPE_UINT8"}
GZIP_MAGIC = b"\x1f\x8b"
# base64 of zlib-compressed bytes, nibabel's default; its ASCII encoding keeps only 6 decimals (%10.6f)
ENCODING = "GIFTI_ENCODING_B64GZ"
INTENT = re.compile(rb"Intent\s*=\s*[\"'](NIFTI_INTENT_\w+)[\"']")


XFORM_OF_SPACE = {
    "T1w": "NIFTI_XFORM_SCANNER_ANAT",
    "scanner": "NIFTI_XFORM_SCANNER_ANAT",
    "ACPC": "NIFTI_XFORM_ALIGNED_ANAT",
}


def _xform_for(space: str | None) -> str:
    """The GIfTI coordinate-system code a space implies (the default written and not recorded on reading)."""
    if space and space.startswith("MNI152"):
        return "NIFTI_XFORM_MNI_152"
    return XFORM_OF_SPACE.get(space or "", "NIFTI_XFORM_UNKNOWN")


# ---- sniffing ----


def _xml_head(head: bytes) -> bytes:
    """The head as XML text, inflated first for gzipped files (nilearn ships .gii.gz)."""
    if head.startswith(GZIP_MAGIC):
        try:
            return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 1 << 16)
        except zlib.error:
            return b""
    return head


INTENT_SEARCH_BYTES = 1 << 20  # how far past the head to look for the first DataArray's intent


def _gifti_intents(probe: Probe) -> list[str] | None:
    """The intents named in the head of a GIfTI file (None when it is not GIfTI).

    HCP's files carry kilobytes of provenance metadata before their first DataArray, so a head without
    one is read on (up to 1 MiB, inflated when gzipped) until an intent shows: GIfTI is known by its
    content, whatever the file is called (brainspace and HCP tools name surfaces plain `.gii`)."""
    text = _xml_head(probe.head)
    if b"<GIFTI" not in text:
        return None
    found = INTENT.findall(text)
    if not found:
        found = INTENT.findall(_xml_start(probe))
    return [match.decode("ascii") for match in found]


def _xml_start(probe: Probe) -> bytes:
    """The first INTENT_SEARCH_BYTES of the XML (inflated when the file is gzipped)."""
    with storage.open_read(probe.url, probe.storage_options) as handle:
        source = gzip.GzipFile(fileobj=handle) if probe.head.startswith(GZIP_MAGIC) else handle
        try:
            return source.read(INTENT_SEARCH_BYTES)
        except (OSError, EOFError, zlib.error):
            return b""


def _named(probe: Probe, *suffixes: str) -> bool:
    name = probe.url.lower().removesuffix(".gz")
    return name.endswith(suffixes)


def sniff_surface(probe: Probe) -> bool:
    intents = _gifti_intents(probe)
    if intents is None:
        return False
    return POINTSET in intents if intents else _named(probe, ".surf.gii")


def sniff_func(probe: Probe) -> bool:
    """GIfTI with data arrays but no geometry and no labels (label files are another kind of data)."""
    intents = _gifti_intents(probe)
    if intents is None:
        return False
    if intents:
        return not {POINTSET, TRIANGLE, LABEL} & set(intents)
    return _named(probe, ".func.gii", ".shape.gii")


# ---- reading ----


@functools.cache
def _checked_parser() -> type:
    """nibabel's GIfTI parser, checking each DataArray as its element opens, before its data is read:
    an ExternalFileBinary is a reference (core.references: refused unless allowed, then only inside the
    input's folder), the declared dimensions must fit the memory budget, and gzipped base64 data is
    inflated to its declared size at most (nibabel would inflate it whole first)."""
    from nibabel.gifti.gifti import data_type_codes
    from nibabel.gifti.parse_gifti_fast import GiftiImageParser

    class CheckedParser(GiftiImageParser):
        url = ""

        def StartElementHandler(self, name: str, attrs: dict[str, str]) -> None:
            super().StartElementHandler(name, attrs)
            if name != "DataArray":
                return
            index = len(self.img.darrays) - 1
            dtype = data_type_codes.dtype[self.da.datatype]
            what = f"DataArray {index} {tuple(self.da.dims)} of {dtype}"
            budget.require_array(self.da.dims, dtype, what, self.url)
            if _encoding(self.da) == "External":
                reference = f"DataArray {index} (ExternalFileBinary)"
                where = references.check(self.da.ext_fname, self.url, reference)
                self.da.ext_fname = self.fname = str(where)  # nibabel joins it to fname's folder

        def flush_chardata(self) -> None:
            if self.write_to == "Data" and self._char_blocks is not None and _encoding(self.da) == "B64GZ":
                data = "".join(self._char_blocks)
                self._char_blocks = None
                self.da.data = _bounded_b64gz(data, self.da, self.url)
                return
            super().flush_chardata()

    return CheckedParser


def _encoding(array: Any) -> str:
    from nibabel.gifti.gifti import gifti_encoding_codes

    return gifti_encoding_codes.label[array.encoding]


def _bounded_b64gz(data: str, array: Any, url: str) -> np.ndarray:
    """What nibabel's read_data_block does for GZipBase64Binary, inflating no more than the array's
    declared size (a few kB of base64 could otherwise inflate a thousandfold before the size check)."""
    import base64

    from nibabel.gifti.gifti import array_index_order_codes, data_type_codes, gifti_endian_codes

    dtype = data_type_codes.dtype[array.datatype].newbyteorder(gifti_endian_codes.byteorder[array.endian])
    shape = tuple(array.dims)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    packed = base64.b64decode(data.encode("ascii"))
    inflater = zlib.decompressobj()
    raw = inflater.decompress(packed, size + 1)
    if len(raw) != size or inflater.unconsumed_tail:
        raise InputError(f"{url}: a DataArray's compressed data are not the {size} bytes its Dims declare")
    order = array_index_order_codes.npcode[array.ind_ord]
    return np.frombuffer(bytearray(raw), dtype=dtype).reshape(shape, order=order)


def load_image(url: str, storage_options: Mapping[str, Any] | None = None) -> Any:
    """A parsed GiftiImage, streamed through the storage layer (gzipped files inflated on the way, held to
    the decompression limit), each DataArray checked before its data is read (`_checked_parser`)."""
    from xml.parsers.expat import ExpatError

    from nibabel.gifti.parse_gifti_fast import GiftiParseError

    with storage.open_read(url, storage_options) as handle:
        magic = handle.read(2)
        handle.seek(0)
        source = open_inflating(handle, url, "the gzipped GIfTI file") if magic == GZIP_MAGIC else handle
        parser = _checked_parser()(mmap=False)
        parser.url = url
        try:
            parser.parse(fptr=source)
        except HubError:
            raise
        except (
            ExpatError,
            GiftiParseError,
            ValueError,
            KeyError,
            IndexError,
            TypeError,
            AssertionError,
        ) as error:
            # nibabel's parser asserts on some malformed DataArray attributes
            raise InputError(f"{url}: not a readable GIfTI file ({common.described(error)})") from error
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise InputError(
                f"{url}: the compressed GIfTI file is damaged or cut short ({common.described(error)})"
            ) from error
    if parser.img is None:
        raise InputError(f"{url}: not a readable GIfTI file (no <GIFTI> element)")
    return parser.img


def intent_of(array: Any) -> str:
    from nibabel.nifti1 import intent_codes

    return intent_codes.niistring[array.intent]


def _strings(meta: Any) -> dict[str, str]:
    return {str(key): "" if value is None else str(value) for key, value in dict(meta or {}).items()}


def data_columns(arrays: list[Any], n_vertices: int | None, url: str) -> tuple[list[dict[str, Any]], dict]:
    """vertex_data from data arrays grouped by Name, and what else their headers said (intents, metadata)."""
    groups: dict[str, list[tuple[np.ndarray, dict[str, str], str]]] = {}
    for array in arrays:
        intent = intent_of(array)
        if intent == LABEL:
            raise InputError(
                f"{url} holds label arrays (NIFTI_INTENT_LABEL, keys into a label table): a parcellation,"
                " not read as surface data"
            )
        values = common.native(array.data)
        if values.ndim not in (1, 2):
            raise InputError(f"{url}: a data array has shape {values.shape}; per-vertex data is 1-D or 2-D")
        n_vertices = len(values) if n_vertices is None else n_vertices
        if len(values) != n_vertices:
            raise InputError(f"{url}: a data array has {len(values)} values for {n_vertices} vertices")
        meta = _strings(array.meta)
        groups.setdefault(meta.get("Name") or UNNAMED, []).append((values, meta, intent))
    columns, headers = [], {}
    for name, members in groups.items():
        values = members[0][0] if len(members) == 1 else np.column_stack([member[0] for member in members])
        meta, intent = members[0][1], members[0][2]
        column: dict[str, Any] = {"name": name, "values": values}
        if meta.get("Description"):
            column["description"] = meta["Description"]
        if meta.get("Unit"):
            column["unit"] = meta["Unit"]
        columns.append(column)
        rest = {key: value for key, value in meta.items() if key not in ("Name", "Description", "Unit")}
        header = {"meta": rest} if rest else {}
        if intent != SHAPE:
            header["intent"] = intent
        if header:
            headers[name] = header
    return columns, headers


def read_gifti(url: str, *, storage_options: Mapping[str, Any] | None = None) -> SurfaceMesh:
    image = load_image(url, storage_options)
    pointsets = [array for array in image.darrays if intent_of(array) == POINTSET]
    triangles = [array for array in image.darrays if intent_of(array) == TRIANGLE]
    if not pointsets:
        hint = (
            " (per-vertex data: read it as gifti-func with geometry=<surface file>)" if image.darrays else ""
        )
        raise InputError(f"{url} has no NIFTI_INTENT_POINTSET array, so it is not a GIfTI surface{hint}")
    if len(pointsets) > 1 or len(triangles) > 1:
        raise InputError(
            f"{url} has {len(pointsets)} pointsets and {len(triangles)} triangle arrays, not one each"
        )
    points, triangle = pointsets[0], (triangles[0] if triangles else None)
    others = [array for array in image.darrays if array is not points and array is not triangle]
    columns, _ = data_columns(others, len(points.data), url)
    faces = np.empty((0, 3), dtype=np.int32) if triangle is None else triangle.data
    metadata, header = _surface_header(image, points, triangle)
    return common.build(
        vertices=points.data,
        faces=faces,
        url=url,
        vertex_data=columns,
        metadata=metadata,
        **header,
    )


def _surface_header(image: Any, points: Any, triangle: Any) -> tuple[Any, dict[str, str]]:
    """(metadata, {space, hemisphere}) from the headers; what the writer derives is not recorded twice."""
    from neurodatahub.core.models import CoordinateSpace

    file_meta, point_meta = _strings(image.meta), _strings(points.meta)
    header: dict[str, str] = {}
    structure = point_meta.get("AnatomicalStructurePrimary") or file_meta.get("AnatomicalStructurePrimary")
    if structure in HEMISPHERE_OF:
        header["hemisphere"] = HEMISPHERE_OF[structure]
        point_meta.pop("AnatomicalStructurePrimary", None)
    elif point_meta.get(HEMISPHERE_KEY) in common.HEMISPHERES:
        header["hemisphere"] = point_meta.pop(HEMISPHERE_KEY)
    if point_meta.get(SPACE_KEY) in {space.value for space in CoordinateSpace}:
        header["space"] = point_meta.pop(SPACE_KEY)
    rest = None
    if METADATA_KEY in file_meta:
        try:
            rest = json.loads(file_meta[METADATA_KEY])
            del file_meta[METADATA_KEY]
        except ValueError:
            pass  # not JSON, so not ours: kept as the file gives it
    gifti: dict[str, Any] = {"meta": file_meta} if file_meta else {}
    pointset: dict[str, Any] = {"meta": point_meta} if point_meta else {}
    coordsys = _coordsys_record(points.coordsys, header.get("space"))
    if coordsys:
        pointset["coordsys"] = coordsys
    if pointset:
        gifti["pointset"] = pointset
    if triangle is not None and _strings(triangle.meta):
        gifti["triangle"] = {"meta": _strings(triangle.meta)}
    if not gifti:
        return rest, header
    if rest is None:
        return {"gifti": gifti}, header
    return (
        {**rest, "gifti": gifti} if isinstance(rest, dict) else {"metadata": rest, "gifti": gifti}
    ), header


def _coordsys_record(coordsys: Any, space: str | None) -> dict[str, Any] | None:
    from nibabel.nifti1 import xform_codes

    if coordsys is None:
        return None
    spaces = (xform_codes.niistring[coordsys.dataspace], xform_codes.niistring[coordsys.xformspace])
    matrix = np.asarray(coordsys.xform, dtype=np.float64)
    if spaces == (_xform_for(space),) * 2 and np.array_equal(matrix, np.eye(4)):
        return None
    return {"dataspace": spaces[0], "xformspace": spaces[1], "xform": matrix.tolist()}


# ---- writing surfaces ----


def _split_metadata(metadata: Any) -> tuple[dict[str, Any], Any]:
    """The `gifti` part of the metadata (headers to restore) and the rest."""
    if not isinstance(metadata, dict):
        return {}, metadata
    gifti = metadata.get("gifti")
    if not isinstance(gifti, dict):
        return {}, metadata
    return gifti, {key: value for key, value in metadata.items() if key != "gifti"}


def _file_meta(stored: Mapping[str, Any] | None, rest: Any) -> Any:
    from nibabel.gifti import GiftiMetaData

    from neurodatahub.core.codecs.metadata import to_json

    meta = _strings(stored)
    if rest not in (None, {}):
        meta[METADATA_KEY] = to_json(rest)
    return GiftiMetaData(meta)


def surface_image(mesh: SurfaceMesh) -> Any:
    from nibabel.gifti import GiftiCoordSystem, GiftiDataArray, GiftiImage, GiftiMetaData
    from nibabel.nifti1 import xform_codes

    vertices, _ = common.float32_vertices(mesh, "GIfTI")
    gifti, rest = _split_metadata(mesh.metadata)
    pointset = gifti.get("pointset") or {}
    triangle = gifti.get("triangle") or {}
    point_meta = _strings(pointset.get("meta"))
    if mesh.hemisphere in STRUCTURE_OF:
        point_meta["AnatomicalStructurePrimary"] = STRUCTURE_OF[mesh.hemisphere]
    elif mesh.hemisphere:
        point_meta[HEMISPHERE_KEY] = str(mesh.hemisphere)
    if mesh.space:
        point_meta[SPACE_KEY] = str(mesh.space)
    record = pointset.get("coordsys") or {}
    default = _xform_for(mesh.space)
    coordsys = GiftiCoordSystem(
        dataspace=xform_codes.code[record.get("dataspace", default)],
        xformspace=xform_codes.code[record.get("xformspace", default)],
        xform=np.asarray(record.get("xform", np.eye(4)), dtype=np.float64),
    )
    arrays = [
        GiftiDataArray(
            vertices,
            intent=POINTSET,
            datatype="NIFTI_TYPE_FLOAT32",
            encoding=ENCODING,
            coordsys=coordsys,
            meta=GiftiMetaData(point_meta),
        ),
        GiftiDataArray(
            np.asarray(mesh.faces).astype(np.int32),
            intent=TRIANGLE,
            datatype="NIFTI_TYPE_INT32",
            encoding=ENCODING,
            meta=GiftiMetaData(_strings(triangle.get("meta"))),
        ),
    ]
    return GiftiImage(darrays=arrays, meta=_file_meta(gifti.get("meta"), rest))


def write_gifti(mesh: SurfaceMesh, path: Path) -> None:
    path.write_bytes(surface_image(mesh).to_bytes())


def gifti_losses(mesh: SurfaceMesh) -> list[Any]:
    _, rounding = common.float32_vertices(mesh, "GIfTI")
    reason = "a .surf.gii holds geometry only; write per-vertex data to a .func.gii (format gifti-func)"
    return rounding + common.all_data_lost(mesh, reason)


# ---- functional files ----


def func_image(arrays: list[tuple[np.ndarray, Mapping[str, str], str]], file_meta: Any) -> Any:
    """A GIfTI image of per-vertex data arrays (values, array metadata, intent), no geometry."""
    from nibabel.gifti import GiftiDataArray, GiftiImage, GiftiMetaData

    darrays = [
        GiftiDataArray(
            values,
            intent=intent,
            datatype=DATATYPE_OF[values.dtype.str[1:]],
            encoding=ENCODING,
            meta=GiftiMetaData(dict(meta)) if meta else None,
        )
        for values, meta, intent in arrays
    ]
    return GiftiImage(darrays=darrays, meta=file_meta)


def _func_part(mesh: SurfaceMesh) -> dict[str, Any]:
    part = mesh.metadata.get("gifti_func") if isinstance(mesh.metadata, dict) else None
    return part if isinstance(part, dict) else {}


def func_arrays(mesh: SurfaceMesh) -> list[tuple[np.ndarray, dict[str, str], str]]:
    """One data array per column (an N x 1 array stays one 2-D array), named after its vertex_data."""
    headers = _func_part(mesh).get("arrays") or {}
    kept, _ = common.storable(mesh, FUNC_RULES)
    arrays = []
    for column, values in kept:
        header = headers.get(column.name) or {}
        meta = _strings(header.get("meta"))
        if column.name != UNNAMED:
            meta["Name"] = column.name
        if column.description:
            meta["Description"] = column.description
        if column.unit:
            meta["Unit"] = column.unit
        intent = header.get("intent", SHAPE)
        if values.ndim == 1 or values.shape[1] == 1:
            arrays.append((values, meta, intent))
        else:
            arrays.extend(
                (np.ascontiguousarray(values[:, index]), meta, intent) for index in range(values.shape[1])
            )
    return arrays


class FuncReadOptions(Options):
    geometry: str | None = Field(
        None,
        description="the surface file (any surface format, any URL) whose vertices the data belong to;"
        " needed to read a .func.gii as a mesh",
    )


def read_func(
    url: str, *, storage_options: Mapping[str, Any] | None = None, geometry: str | None = None
) -> SurfaceMesh:
    image = load_image(url, storage_options)
    if any(intent_of(array) in (POINTSET, TRIANGLE) for array in image.darrays):
        raise InputError(f"{url} holds geometry (a pointset or triangles): read it with the gifti format")
    columns, headers = data_columns(list(image.darrays), None, url)
    if not columns:
        raise InputError(f"{url} holds no data arrays")
    part = {"meta": _strings(image.meta)} if _strings(image.meta) else {}
    if headers:
        part["arrays"] = headers
    return common.on_geometry(url, columns, geometry, storage_options, {"gifti_func": part} if part else {})


def write_func(mesh: SurfaceMesh, path: Path) -> None:
    from nibabel.gifti import GiftiMetaData

    arrays = func_arrays(mesh)
    if not arrays:
        raise UsageError(
            "the mesh has no per-vertex numbers to write: a .func.gii holds per-vertex data, not geometry"
            " (write the surface to a .surf.gii)"
        )
    file_meta = GiftiMetaData(_strings(_func_part(mesh).get("meta")))
    path.write_bytes(func_image(arrays, file_meta).to_bytes())


def func_losses(mesh: SurfaceMesh) -> list[Any]:
    return common.geometry_losses(mesh, "a .func.gii", ("gifti_func",)) + common.storable(mesh, FUNC_RULES)[1]


def verify_func(mesh: SurfaceMesh, path: Path) -> None:
    """The file holds the vertex data as stored (it cannot be reread as a mesh without its geometry)."""
    image = load_image(str(path))
    got, _ = data_columns(list(image.darrays), None, str(path))
    kept, _ = common.storable(mesh, FUNC_RULES)
    expected = [(column.name, values) for column, values in kept]
    if [column["name"] for column in got] != [name for name, _ in expected] or not all(
        np.array_equal(column["values"], values, equal_nan=values.dtype.kind == "f")
        for column, (_, values) in zip(got, expected, strict=True)
    ):
        raise OutputError(f"{path.name}: the data arrays read back differ from those written")


register_format(
    FormatSpec(
        name="gifti",
        kind=KIND,
        description="GIfTI surface (nibabel): float32 pointset, int32 triangles, header metadata kept",
        extensions=(".surf.gii",),
        read=read_gifti,
        write=write_gifti,
        sniff=sniff_surface,
        cannot_store=("vertex data (use gifti-func)", "float64 precision"),
        losses=gifti_losses,
    )
)
register_format(
    FormatSpec(
        name="gifti-func",
        kind=KIND,
        description="GIfTI per-vertex data as spectralbrain's save_gifti_func writes it (geometry= to read)",
        extensions=(".func.gii", ".shape.gii"),
        read=read_func,
        write=write_func,
        sniff=sniff_func,
        read_options=FuncReadOptions,
        cannot_store=("vertices and faces", "space, hemisphere, metadata", "float64 precision", "text data"),
        losses=func_losses,
        verify=verify_func,
    )
)
