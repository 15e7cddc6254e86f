"""Legacy VTK POLYDATA files (.vtk) without the VTK library, read and written.

Hand-written on purpose: meshio 5.3 reads and writes legacy VTK UNSTRUCTURED_GRID only, and refuses
POLYDATA (its file reader even ends the process with sys.exit), yet POLYDATA is what VTK, pyvista and
spectralbrain's `save_mesh` write for a surface, and what they read back in vertex order: spectralbrain's
`load_mesh` turns an UNSTRUCTURED_GRID into a surface with pyvista's extract_surface, which renumbers the
vertices (measured on fsaverage5), so per-vertex data would no longer line up.

Follows "VTK File Formats" (legacy part): a text header, ASCII or BINARY (big-endian) data, sections
POINTS, VERTICES, LINES, POLYGONS, TRIANGLE_STRIPS (counts and indices before version 5, OFFSETS and
CONNECTIVITY from 5.0), then POINT_DATA / CELL_DATA with SCALARS, VECTORS, NORMALS, TEXTURE_COORDINATES,
TENSORS, COLOR_SCALARS, LOOKUP_TABLE, GLOBAL_IDS, PEDIGREE_IDS and FIELD arrays, and VTK 9's METADATA
blocks. Per-cell and field arrays are skipped (their names are kept); strings and bit arrays are refused.
Writing produces version 4.2 (readable by every VTK since 4): POINTS, POLYGONS of triangles and the
per-point arrays as one FIELD, big-endian binary or exact text.
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from neurodatahub.surfaces.polydata import PolyData, VtkFormatError

TYPES = {
    "bit": None,
    "unsigned_char": "u1",
    "char": "i1",
    "unsigned_short": "u2",
    "short": "i2",
    "unsigned_int": "u4",
    "int": "i4",
    "unsigned_long": "u8",  # VTK's `long` is 64-bit where legacy files are written (LP64 systems)
    "long": "i8",
    "float": "f4",
    "double": "f8",
    "vtkidtype": "i8",
    "vtktypeint8": "i1",
    "vtktypeuint8": "u1",
    "vtktypeint16": "i2",
    "vtktypeuint16": "u2",
    "vtktypeint32": "i4",
    "vtktypeuint32": "u4",
    "vtktypeint64": "i8",
    "vtktypeuint64": "u8",
    "vtktypefloat32": "f4",
    "vtktypefloat64": "f8",
}
CELL_SECTIONS = {"VERTICES": "verts", "LINES": "lines", "POLYGONS": "polys", "TRIANGLE_STRIPS": "strips"}
ATTRIBUTE_WIDTH = {"VECTORS": 3, "NORMALS": 3, "TENSORS": 9, "TENSORS6": 6}
TOKEN = re.compile(rb"\S+")


def dataset_type(head: bytes) -> str | None:
    """The DATASET of a legacy VTK file from its first bytes (POLYDATA, UNSTRUCTURED_GRID...), else None."""
    if not head.startswith(b"# vtk DataFile"):
        return None
    found = re.search(rb"^\s*DATASET\s+(\w+)", head, flags=re.MULTILINE)
    return found.group(1).decode("ascii").upper() if found else None


def parse(data: bytes) -> PolyData:
    """The PolyData of a legacy POLYDATA file's bytes; VtkFormatError when they are not one."""
    reader = _Reader(data)
    header = reader.raw_line()
    if header is None or not header.startswith("# vtk DataFile Version"):
        raise VtkFormatError("not a legacy VTK file (no '# vtk DataFile' header)")
    try:
        version = float(header.split()[-1])
    except ValueError:
        version = 4.2
    reader.raw_line()  # the title
    mode = (reader.line() or "").upper()
    if mode not in ("ASCII", "BINARY"):
        raise VtkFormatError(f"expected ASCII or BINARY, got {mode!r}")
    reader.binary = mode == "BINARY"
    dataset = (reader.line() or "").split()
    if dataset[:1] != ["DATASET"] or dataset[1:2] != ["POLYDATA"]:
        raise VtkFormatError(f"a {' '.join(dataset[1:]) or 'headless'} dataset, not POLYDATA")
    return _Sections(reader, version).read()


class _Reader:
    """A cursor over the bytes: header lines as text, data blocks as arrays."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position, self.binary = data, 0, False

    def raw_line(self) -> str | None:
        if self.position >= len(self.data):
            return None
        end = self.data.find(b"\n", self.position)
        end = len(self.data) if end < 0 else end
        line = self.data[self.position : end]
        self.position = end + 1
        return line.decode("latin-1").strip()

    def line(self) -> str | None:
        """The next non-blank line."""
        while (line := self.raw_line()) is not None:
            if line:
                return line
        return None

    def values(self, count: int, type_name: str) -> np.ndarray:
        code = TYPES.get(type_name.lower(), "unknown")
        if code is None or code == "unknown":
            raise VtkFormatError(f"data of type {type_name!r} is not supported")
        if self.binary:
            dtype = np.dtype(code).newbyteorder(">")
            end = self.position + count * dtype.itemsize
            if end > len(self.data):
                raise VtkFormatError("binary data is cut short")
            values = np.frombuffer(self.data, dtype, count, self.position).astype(dtype.newbyteorder("="))
            self.position = end
            if self.data[self.position : self.position + 1] == b"\n":
                self.position += 1
            return values
        return self.words(count, code)

    def words(self, count: int, code: str) -> np.ndarray:
        tokens = [match for match in itertools.islice(TOKEN.finditer(self.data, self.position), count)]
        if len(tokens) < count:
            raise VtkFormatError("ascii data is cut short")
        if tokens:
            self.position = tokens[-1].end()
        try:
            return np.array([token.group() for token in tokens]).astype(code) if tokens else np.empty(0, code)
        except ValueError as error:
            raise VtkFormatError(f"ascii data is not numbers ({error})") from error


class _Sections:
    """The sections after the DATASET line, in any order."""

    def __init__(self, reader: _Reader, version: float) -> None:
        self.reader, self.version = reader, version
        self.points: np.ndarray | None = None
        self.result = PolyData(points=np.empty((0, 3)))
        self.attached: str | None = None  # "point" or "cell" after POINT_DATA / CELL_DATA
        self.size = 0

    def read(self) -> PolyData:
        while (line := self.reader.line()) is not None:
            words = line.split()
            keyword = words[0].upper()
            try:
                self._section(keyword, words)
            except (IndexError, ValueError) as error:
                if isinstance(error, VtkFormatError):
                    raise
                raise VtkFormatError(f"malformed line {line!r}") from error
        if self.points is None:
            raise VtkFormatError("no POINTS section")
        self.result.points = self.points
        return self.result

    def _section(self, keyword: str, words: list[str]) -> None:
        reader = self.reader
        if keyword == "POINTS":
            count = int(words[1])
            self.points = reader.values(3 * count, words[2]).reshape(count, 3)
        elif keyword in CELL_SECTIONS:
            self.result.cells[CELL_SECTIONS[keyword]] = self._cells(int(words[1]), int(words[2]))
        elif keyword in ("POINT_DATA", "CELL_DATA"):
            self.attached, self.size = ("point" if keyword == "POINT_DATA" else "cell"), int(words[1])
        elif keyword == "FIELD":
            for _ in range(int(words[2])):
                self._field_array()
        elif keyword == "METADATA":
            while reader.raw_line():  # up to the blank line that ends the block
                pass
        elif keyword == "LOOKUP_TABLE":  # a colour table: size RGBA entries
            reader.values(4 * int(words[2]), "unsigned_char" if reader.binary else "float")
        else:
            self._attribute(keyword, words)

    def _cells(self, count: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        if self.version >= 5:
            offsets = self._tagged("OFFSETS", size=count)
            connectivity = self._tagged("CONNECTIVITY", size=size)
            if offsets.size != count or (count and offsets[0] != 0):
                raise VtkFormatError("cell offsets must start at 0, one more than the cells")
            return offsets[1:].astype(np.int64), connectivity
        packed = self.reader.values(size, "int")
        if count and size == 4 * count and (packed[::4] == 3).all():  # triangles: the usual case
            return np.arange(3, 3 * count + 1, 3, dtype=np.int64), packed.reshape(count, 4)[:, 1:].reshape(-1)
        ends, keep, position = np.empty(count, dtype=np.int64), np.ones(size, dtype=bool), 0
        for cell in range(count):  # mixed sizes: the counts must be walked one by one
            if position >= size:
                raise VtkFormatError("cell list is cut short")
            keep[position] = False
            position += 1 + int(packed[position])
            ends[cell] = position - cell - 1
        if position != size:
            raise VtkFormatError("cell sizes do not add up to the declared list size")
        return ends, packed[keep]

    def _tagged(self, tag: str, size: int) -> np.ndarray:
        words = (self.reader.line() or "").split()
        if words[:1] != [tag] or len(words) < 2:
            raise VtkFormatError(f"expected {tag} after the cell counts")
        return self.reader.values(size, words[1])

    def _field_array(self) -> None:
        words = (self.reader.line() or "").split()
        if words == ["NULL_ARRAY"]:
            return
        name, components, tuples, type_name = words[0], int(words[1]), int(words[2]), words[3]
        values = self.reader.values(components * tuples, type_name)
        self._keep(name, values, components)

    def _attribute(self, keyword: str, words: list[str]) -> None:
        reader = self.reader
        if keyword == "SCALARS":
            components = int(words[3]) if len(words) > 3 else 1
            mark = reader.position
            table = (reader.line() or "").split()
            if table[:1] != ["LOOKUP_TABLE"]:
                reader.position = mark  # the LOOKUP_TABLE line is optional in practice
            self._keep(words[1], reader.values(self.size * components, words[2]), components)
        elif keyword in ATTRIBUTE_WIDTH:
            width = ATTRIBUTE_WIDTH[keyword]
            self._keep(words[1], reader.values(self.size * width, words[2]), width)
        elif keyword == "TEXTURE_COORDINATES":
            width = int(words[2])
            self._keep(words[1], reader.values(self.size * width, words[3]), width)
        elif keyword in ("GLOBAL_IDS", "PEDIGREE_IDS"):
            self._keep(words[1], reader.values(self.size, words[2]), 1)
        elif keyword == "COLOR_SCALARS":
            width = int(words[2])
            type_name = "unsigned_char" if reader.binary else "float"
            self._keep(words[1], reader.values(self.size * width, type_name), width)
        else:
            raise VtkFormatError(f"unknown section {keyword!r}")

    def _keep(self, name: str, values: np.ndarray, components: int) -> None:
        if self.attached == "point":
            count = len(values) // max(components, 1)
            self.result.point_data[name] = values.reshape(count, components) if components > 1 else values
        elif self.attached == "cell":
            self.result.cell_data.append(name)
        else:
            self.result.field_data.append(name)


# ---- writing ----

TYPE_NAME = {
    "u1": "unsigned_char",
    "i1": "char",
    "u2": "unsigned_short",
    "i2": "short",
    "u4": "unsigned_int",
    "i4": "int",
    "u8": "unsigned_long",
    "i8": "long",
    "f4": "float",
    "f8": "double",
}


def serialize(
    points: np.ndarray, faces: np.ndarray, point_data: dict[str, np.ndarray], *, ascii: bool = False
) -> bytes:
    """A legacy 4.2 POLYDATA file of triangles with per-point arrays (1-D or N x k; names one word each)."""
    points, faces = np.asarray(points), np.asarray(faces)
    out = [
        b"# vtk DataFile Version 4.2\n",
        b"written by neurodatahub\n",
        b"ASCII\n" if ascii else b"BINARY\n",
        b"DATASET POLYDATA\n",
        f"POINTS {len(points)} {_type_name(points)}\n".encode(),
        _block(points, ascii),
        f"POLYGONS {len(faces)} {4 * len(faces)}\n".encode(),
        _block(np.column_stack([np.full(len(faces), 3), faces]).astype(np.int32), ascii),
    ]
    if point_data:
        out.append(f"POINT_DATA {len(points)}\nFIELD FieldData {len(point_data)}\n".encode())
        for name, values in point_data.items():
            components = values.shape[1] if values.ndim == 2 else 1
            out.append(f"{name} {components} {len(values)} {_type_name(values)}\n".encode())
            out.append(_block(values, ascii))
    return b"".join(out)


def _type_name(values: np.ndarray) -> str:
    return TYPE_NAME[values.dtype.str[1:]]


def _block(values: np.ndarray, ascii: bool) -> bytes:
    if not ascii:
        return np.ascontiguousarray(values, dtype=values.dtype.newbyteorder(">")).tobytes() + b"\n"
    rows = values.reshape(len(values), -1) if values.size else np.empty((0, 0))
    # Python's repr of each value: the shortest text that reads back exactly
    return "".join(" ".join(map(str, row)) + "\n" for row in rows.tolist()).encode()
