"""VTK XML PolyData (.vtp) without the VTK library.

Hand-written on purpose: meshio 5.3 reads and writes only the UnstructuredGrid flavour of VTK's XML
formats (.vtu), and the hub must not need VTK (a 100 MB dependency) for a surface file. The format is
small and documented (VTK File Formats, "Serial XML File Formats"): an XML tree of DataArray elements
whose values are text, base64 inline, or appended after the XML.

Reading covers every encoding VTK writes: ascii; inline binary (base64 of a UInt32 or UInt64 size header
and the bytes, or of a block header and zlib/lzma-compressed blocks); appended data (raw or base64).
Writing produces inline base64 binary with UInt64 headers, zlib-compressed in 32 KiB blocks as VTK does
(or uncompressed, or ascii), little-endian.
"""

from __future__ import annotations

import base64
import binascii
import lzma
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Mapping
from xml.sax.saxutils import quoteattr

import numpy as np

from neurodatahub.core import budget
from neurodatahub.surfaces.polydata import PolyData, VtkFormatError

TYPES = {
    "Int8": "i1",
    "UInt8": "u1",
    "Int16": "i2",
    "UInt16": "u2",
    "Int32": "i4",
    "UInt32": "u4",
    "Int64": "i8",
    "UInt64": "u8",
    "Float32": "f4",
    "Float64": "f8",
}
VTK_TYPE_OF = {code: name for name, code in TYPES.items()}


def _zlib_at_most(piece: bytes, limit: int) -> bytes:
    return zlib.decompressobj().decompress(piece, limit + 1)


def _lzma_at_most(piece: bytes, limit: int) -> bytes:
    return lzma.LZMADecompressor().decompress(piece, max_length=limit + 1)


# each decompresses at most one byte more than the block size the header gives: a block that inflates
# beyond it is damaged, and is not inflated any further
DECOMPRESSORS: dict[str, Callable[[bytes, int], bytes]] = {
    "vtkZLibDataCompressor": _zlib_at_most,
    "vtkLZMADataCompressor": _lzma_at_most,
}
BLOCK_SIZE = 32768  # VTK's default compression block
ZLIB_LEVEL = 1  # on coordinates and indices: 3x faster than the default level, 2% larger (fsaverage5)
CELL_TAGS = {"verts": "Verts", "lines": "Lines", "polys": "Polys", "strips": "Strips"}


# ---- reading ----


def parse(data: bytes) -> PolyData:
    """The PolyData of a .vtp file's bytes; VtkFormatError when they are not one."""
    xml_part, payload, encoding = _split_appended(data)
    try:
        root = ET.fromstring(xml_part)
    except ET.ParseError as error:
        raise VtkFormatError(f"not well-formed XML ({error})") from error
    if root.tag != "VTKFile":
        raise VtkFormatError(f"the XML root is <{root.tag}>, not <VTKFile>")
    if root.get("type") != "PolyData":
        raise VtkFormatError(f"a VTK {root.get('type')} file, not PolyData")
    decoder = _Decoder(root, payload, encoding)
    pieces = root.findall("PolyData/Piece")
    if len(pieces) != 1:
        raise VtkFormatError(f"{len(pieces)} pieces; only single-piece PolyData is read")
    piece = pieces[0]
    n_points = _count(piece, "NumberOfPoints")
    points_element = piece.find("Points/DataArray")
    points = np.empty((0, 3)) if points_element is None else decoder.array(points_element)
    if points.size != 3 * n_points:
        raise VtkFormatError(f"{points.size} point coordinates for {n_points} points")
    cells = {}
    for kind, tag in CELL_TAGS.items():
        count = _count(piece, f"NumberOf{tag}")
        if count:
            cells[kind] = _cells(piece.find(tag), count, tag, decoder)
    point_data = {}
    for index, element in enumerate(piece.findall("PointData/DataArray")):
        values = decoder.array(element)
        components = int(element.get("NumberOfComponents", "1"))
        if values.size != n_points * components:
            raise VtkFormatError(f"point data array {element.get('Name')!r} has {values.size} values")
        name = element.get("Name") or f"array_{index}"
        point_data[name] = values.reshape(n_points, components) if components > 1 else values
    return PolyData(
        points=points.reshape(n_points, 3),
        cells=cells,
        point_data=point_data,
        cell_data=[element.get("Name", "") for element in piece.findall("CellData/DataArray")],
        field_data=[element.get("Name", "") for element in root.findall("PolyData/FieldData/DataArray")],
    )


def _count(element: ET.Element, attribute: str) -> int:
    try:
        return int(element.get(attribute, "0"))
    except ValueError as error:
        raise VtkFormatError(f"{attribute} is not a number") from error


def _cells(
    element: ET.Element | None, count: int, tag: str, decoder: _Decoder
) -> tuple[np.ndarray, np.ndarray]:
    arrays = {} if element is None else {child.get("Name"): child for child in element.findall("DataArray")}
    if "connectivity" not in arrays or "offsets" not in arrays:
        raise VtkFormatError(f"{count} {tag} declared without connectivity and offsets arrays")
    offsets = decoder.array(arrays["offsets"]).astype(np.int64)
    if len(offsets) != count:
        raise VtkFormatError(f"{len(offsets)} offsets for {count} {tag}")
    return offsets, decoder.array(arrays["connectivity"])


def _split_appended(data: bytes) -> tuple[bytes, bytes | None, str]:
    """The XML before <AppendedData> (closed again), the raw payload after its '_', and its encoding.

    Appended raw data is not XML text, so no XML parser can read the file whole.
    """
    start = data.find(b"<AppendedData")
    if start < 0:
        return data, None, ""
    tag_end = data.find(b">", start)
    found = re.search(rb"encoding\s*=\s*[\"'](\w+)[\"']", data[start : tag_end + 1])
    encoding = found.group(1).decode() if found else "raw"
    underscore = data.find(b"_", tag_end)
    end = data.rfind(b"</AppendedData>")
    if tag_end < 0 or underscore < 0:
        raise VtkFormatError("the appended data section is cut short")
    payload = data[underscore + 1 : end if end > underscore else len(data)]
    return data[:start] + b"</VTKFile>", payload, encoding


class _Decoder:
    """Turns DataArray elements into numpy arrays, given the file's byte order, header type, compressor."""

    def __init__(self, root: ET.Element, payload: bytes | None, encoding: str) -> None:
        self.order = ">" if root.get("byte_order") == "BigEndian" else "<"
        header = root.get("header_type", "UInt32")
        if header not in ("UInt32", "UInt64"):
            raise VtkFormatError(f"unknown header type {header}")
        self.header = np.dtype(TYPES[header]).newbyteorder(self.order)
        compressor = root.get("compressor")
        if compressor and compressor not in DECOMPRESSORS:
            raise VtkFormatError(
                f"data compressed with {compressor}, which is not supported (zlib and lzma are)"
            )
        self.decompress = DECOMPRESSORS.get(compressor or "")
        self.payload, self.encoding = payload, encoding

    def array(self, element: ET.Element) -> np.ndarray:
        kind = element.get("type", "")
        if kind not in TYPES:
            raise VtkFormatError(f"data array {element.get('Name')!r} has unsupported type {kind!r}")
        dtype = np.dtype(TYPES[kind]).newbyteorder(self.order)
        form = element.get("format", "ascii")
        if form == "ascii":
            try:
                return np.array((element.text or "").split(), dtype=dtype.newbyteorder("="))
            except ValueError as error:
                raise VtkFormatError(f"data array {element.get('Name')!r}: {error}") from error
        if form == "binary":
            raw = self._inline(element.text or "")
        elif form == "appended":
            raw = self._appended(int(element.get("offset", "0")))
        else:
            raise VtkFormatError(f"unknown data array format {form!r}")
        if len(raw) % dtype.itemsize:
            raise VtkFormatError(f"data array {element.get('Name')!r} is cut short")
        return np.frombuffer(raw, dtype).astype(dtype.newbyteorder("="))

    def _inline(self, text: str) -> bytes:
        text = "".join(text.split())
        size = self.header.itemsize
        if self.decompress is None:
            head, body = _b64_split(text, size)
            return _exactly(body, int(np.frombuffer(head, self.header)[0]))
        first, _ = _b64_split(text, size)
        blocks = int(np.frombuffer(first, self.header)[0])
        head, body = _b64_split(text, size * (3 + blocks))
        return self._blocks(head, body)

    def _appended(self, offset: int) -> bytes:
        if self.payload is None:
            raise VtkFormatError("a data array points into appended data the file does not have")
        size = self.header.itemsize
        if self.encoding == "base64":
            text = self.payload[offset:].decode("ascii", errors="replace")
            first = int(np.frombuffer(_exactly(_b64(text[: _chars(size)]), size), self.header)[0])
            if self.decompress is None:  # VTK encodes the size and the data together here
                return _exactly(_b64_prefix(text, size, first)[size:], first)
            head_size = size * (3 + first)
            head = _exactly(_b64_prefix(text, head_size, 0), head_size)
            compressed = int(np.frombuffer(head, self.header)[3:].astype(np.int64).sum())
            return self._blocks(head, _b64_prefix(text, head_size, compressed)[head_size:])
        data = self.payload[offset:]
        if self.decompress is None:
            length = int(np.frombuffer(data[:size], self.header)[0]) if len(data) >= size else -1
            return _exactly(data[size:], length)
        blocks = int(np.frombuffer(data[:size], self.header)[0]) if len(data) >= size else 0
        head = data[: size * (3 + blocks)]
        return self._blocks(head, data[len(head) :])

    def _blocks(self, head: bytes, body: bytes) -> bytes:
        sizes = np.frombuffer(head, self.header).astype(np.int64)
        if len(sizes) < 3 or len(sizes) != 3 + sizes[0]:
            raise VtkFormatError("a compression header is cut short")
        count, block, last = (int(value) for value in sizes[:3])
        if count == 0:
            return b""
        declared = block * (count - 1) + (last or block)
        if declared > budget.max_memory() or declared > budget.RATIO_FLOOR + budget.max_ratio() * len(body):
            raise VtkFormatError(
                f"compressed data declares {budget.human(declared)} from {budget.human(len(body))}, over"
                f" the memory budget or the decompression limit ({budget.HOW_TO_RAISE})"
            )
        chunks, position = [], 0
        for length in sizes[3:].tolist():
            piece = body[position : position + length]
            if len(piece) != length:
                raise VtkFormatError("compressed data is cut short")
            try:
                chunks.append(self.decompress(piece, block))  # type: ignore[misc]
            except (zlib.error, lzma.LZMAError) as error:
                raise VtkFormatError(f"compressed data is damaged ({error})") from error
            position += length
        raw = b"".join(chunks)
        if len(raw) != block * (count - 1) + (last or block):
            raise VtkFormatError("decompressed data does not have the size its header gives")
        return raw


def _chars(size: int) -> int:
    """Base64 characters that encode `size` bytes."""
    return 4 * -(-size // 3)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text)
    except (binascii.Error, ValueError) as error:
        raise VtkFormatError(f"damaged base64 data ({error})") from error


def _b64_split(text: str, size: int) -> tuple[bytes, bytes]:
    """A `size`-byte header and the bytes after it, whether encoded apart (as VTK does) or together."""
    chars = _chars(size)
    if size % 3 == 0 or text[:chars].endswith("="):
        head = _b64(text[:chars])
        if len(head) < size:
            raise VtkFormatError("a binary data header is cut short")
        return head[:size], _b64(text[chars:])
    joint = _b64(text)
    if len(joint) < size:
        raise VtkFormatError("a binary data header is cut short")
    return joint[:size], joint[size:]


def _b64_prefix(text: str, size: int, more: int) -> bytes:
    """A `size`-byte header and the `more` bytes after it, from base64 text that goes on with other arrays;
    the two parts may be encoded apart (the header then ends in '=' padding) or together."""
    chars = _chars(size)
    if size % 3 and text[:chars].endswith("="):
        return _b64(text[:chars])[:size] + _b64(text[chars : chars + _chars(more)])
    return _b64(text[: _chars(size + more)])


def _exactly(data: bytes, length: int) -> bytes:
    if length < 0 or len(data) < length:
        raise VtkFormatError("binary data is cut short")
    return data[:length]


# ---- writing ----


def serialize(
    points: np.ndarray,
    faces: np.ndarray,
    point_data: Mapping[str, np.ndarray],
    *,
    ascii: bool = False,
    compress: bool = True,
) -> bytes:
    """A .vtp file of triangles with per-point arrays (each 1-D, or one row of components per point)."""
    compress = compress and not ascii
    encoder = _Encoder(ascii=ascii, compress=compress)
    n_points, n_faces = len(points), len(faces)
    compressor = ' compressor="vtkZLibDataCompressor"' if compress else ""
    out = [
        '<?xml version="1.0"?>\n',
        '<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64"',
        f"{compressor}>\n",
        "  <PolyData>\n",
        f'    <Piece NumberOfPoints="{n_points}" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0"'
        f' NumberOfPolys="{n_faces}">\n',
        "      <PointData>\n",
        *(encoder.element(name, values) for name, values in point_data.items()),
        "      </PointData>\n",
        "      <Points>\n",
        encoder.element("Points", np.asarray(points).reshape(n_points, 3)),
        "      </Points>\n",
        "      <Polys>\n",
        encoder.element("connectivity", np.asarray(faces, dtype=np.int64).reshape(-1)),
        encoder.element("offsets", np.arange(3, 3 * n_faces + 1, 3, dtype=np.int64)),
        "      </Polys>\n",
        "    </Piece>\n",
        "  </PolyData>\n",
        "</VTKFile>\n",
    ]
    return "".join(out).encode("utf-8")


class _Encoder:
    def __init__(self, *, ascii: bool, compress: bool) -> None:
        self.ascii, self.compress = ascii, compress

    def element(self, name: str, values: np.ndarray) -> str:
        values = np.asarray(values)
        code = values.dtype.str[1:]
        if code not in VTK_TYPE_OF:
            raise TypeError(f"VTK XML has no type for {values.dtype}")
        components = values.shape[1] if values.ndim == 2 else 1
        attributes = f'type="{VTK_TYPE_OF[code]}" Name={quoteattr(name)}'
        if values.ndim == 2:
            attributes += f' NumberOfComponents="{components}"'
        form = "ascii" if self.ascii else "binary"
        opening = f'        <DataArray {attributes} format="{form}">\n'
        return f"{opening}          {self._body(values)}\n        </DataArray>\n"

    def _body(self, values: np.ndarray) -> str:
        if self.ascii:  # Python's repr of each value: the shortest text that reads back exactly
            return " ".join(map(str, values.reshape(-1).tolist()))
        raw = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes()
        if not self.compress:
            header = np.array([len(raw)], dtype="<u8").tobytes()
            return (base64.b64encode(header) + base64.b64encode(raw)).decode("ascii")
        blocks = [raw[start : start + BLOCK_SIZE] for start in range(0, len(raw), BLOCK_SIZE)]
        packed = [zlib.compress(block, ZLIB_LEVEL) for block in blocks]
        last = len(blocks[-1]) if blocks and len(blocks[-1]) < BLOCK_SIZE else 0
        header = np.array([len(blocks), BLOCK_SIZE, last, *map(len, packed)], dtype="<u8").tobytes()
        return (base64.b64encode(header) + base64.b64encode(b"".join(packed))).decode("ascii")
