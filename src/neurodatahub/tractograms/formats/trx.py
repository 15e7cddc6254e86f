"""TRX (tee-ar-ex): a zip of raw little-endian arrays and a header.json, streamed without trx-python.

Layout: `header.json` (DIMENSIONS, VOXEL_TO_RASMM, NB_VERTICES, NB_STREAMLINES), `positions.3.<dtype>`
(RAS+ mm), `offsets.<dtype>` (start of each streamline; current writers add NB_VERTICES as a last entry,
older ones do not: both are read), `dpv/<name>[.<n>].<dtype>` per point, `dps/...` per streamline,
`groups/<name>.<dtype>` (streamline indices) and `dpg/<group>/<name>...` (values per group).

Reading: stored members of a local file are memory maps (chunks are views, nothing is copied); deflated
or remote members are read sequentially in blocks. Groups become per-streamline membership arrays named
`groups/<name>` (uint8, 1 = member), so any format that keeps per-streamline data keeps them, and writing
TRX turns them back into groups; data per group goes to metadata `trx_dpg`, other header keys to
`trx_header`. Writing: positions stream straight into a stored zip member; offsets, per-point and
per-streamline data and group indices spill to temporary files beside the output and are copied in once
the positions are done (zipfile writes one member at a time). The hub's space and metadata ride in a
`NEURODATAHUB` header key, which trx-python keeps and ignores.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import struct
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from neurodatahub.core import budget, references as external, scratch, storage, streaming
from neurodatahub.core.errors import InputError, OutputError, UsageError
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.tractograms import common, reference as references

if TYPE_CHECKING:
    from neurodatahub.core.models import Tractogram

ZIP_MAGIC = b"PK\x03\x04"
LOCAL_HEADER = struct.Struct("<4s5H3I2H")  # the 30 bytes before a member's name
GROUP_PREFIX = "groups/"
OWN_KEY = "NEURODATAHUB"
REQUIRED_KEYS = ("DIMENSIONS", "VOXEL_TO_RASMM", "NB_VERTICES", "NB_STREAMLINES")
POSITION_DTYPES = ("float16", "float32", "float64")


@dataclass
class Member:
    """One array of the archive: where it lives and what its file name says it holds."""

    info: zipfile.ZipInfo
    folder: str
    name: str
    dim: int
    dtype: np.dtype


def _dtype(text: str, where: str) -> np.dtype:
    if text == "bit":
        return np.dtype(np.bool_)
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise InputError(f"{where}: unknown TRX data type {text!r}") from None
    if dtype.kind not in "biuf" or dtype.name != text:
        raise InputError(f"{where}: unknown TRX data type {text!r}")
    return dtype.newbyteorder("<")


def _member(info: zipfile.ZipInfo, url: str) -> Member | None:
    """The array a zip entry holds, from its name (`folder/name[.dim].dtype`); None for the header."""
    if info.is_dir() or info.filename == "header.json":
        return None
    folder, _, base = info.filename.rpartition("/")
    parts = base.split(".")
    if len(parts) not in (2, 3) or not parts[0]:
        raise InputError(f"{url}: TRX member {info.filename!r} is not named <name>[.<dim>].<dtype>")
    if len(parts) == 3 and not (parts[1].isdigit() and int(parts[1]) > 0):
        raise InputError(f"{url}: TRX member {info.filename!r} has no valid dimension")
    dim = int(parts[1]) if len(parts) == 3 else 1
    return Member(info, folder, parts[0], dim, _dtype(parts[-1], f"{url}: {info.filename}"))


# where a member's raw bytes lie on local disk (file, offset), when they can be memory-mapped
Locator = Callable[[zipfile.ZipInfo], "tuple[Path, int] | None"]


def _in_zip(local: Path) -> Locator:
    """Stored members of a local zip: their bytes follow the member's local header."""

    def where(info: zipfile.ZipInfo) -> tuple[Path, int] | None:
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(local, "rb") as handle:
            handle.seek(info.header_offset)
            fields = LOCAL_HEADER.unpack(handle.read(LOCAL_HEADER.size))
        return local, info.header_offset + LOCAL_HEADER.size + fields[-2] + fields[-1]

    return where


class _Folder:
    """A TRX folder (the spec's other form, which trx-python loads and saves) seen through the part of
    the zipfile API the reader uses: every file below the folder is a member, stored as it is.

    A member that is a symbolic link out of the folder is a reference outside the input, under the rule
    of core.references (refused unless --allow-external, and then only inside the input's folder)."""

    def __init__(self, root: Path, url: str) -> None:
        self.root, self.url = root, url
        self.members = self._infos()
        self.names = {info.filename for info in self.members}

    def _files(self) -> list[tuple[str, int]]:
        files = storage.list_files(str(self.root))  # symbolic links to folders are not descended
        inside = self.root.resolve()
        for name, _ in files:
            resolved = (self.root / name).resolve()
            if not resolved.is_relative_to(inside):
                external.check(str(resolved), self.url, f"TRX member {name} (a symbolic link)")
        return files

    def _infos(self) -> list[zipfile.ZipInfo]:
        found = []
        for name, size in self._files():
            if not name.rpartition("/")[2].startswith("."):
                info = zipfile.ZipInfo(name)
                info.file_size = size
                found.append(info)
        return found

    def infolist(self) -> list[zipfile.ZipInfo]:
        return list(self.members)

    def namelist(self) -> list[str]:
        return [info.filename for info in self.members]

    def open(self, member: zipfile.ZipInfo | str) -> IO[bytes]:
        name = member.filename if isinstance(member, zipfile.ZipInfo) else member
        if name not in self.names:
            raise KeyError(name)
        return open(self.root / name, "rb")

    def read(self, member: zipfile.ZipInfo) -> bytes:
        with self.open(member) as handle:
            return handle.read()

    def where(self, info: zipfile.ZipInfo) -> tuple[Path, int] | None:
        return self.root / info.filename, 0


class _RemoteFolder(_Folder):
    """A remote TRX folder for `hub info`: listed in one call, header.json and the small members (groups,
    data per group) read whole; positions and per-row data are never opened, so never downloaded."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None) -> None:
        self.url, self.storage_options = url, storage_options
        self.sizes = dict(storage.list_files(url, storage_options))
        self.members = self._infos()

    def _files(self) -> list[tuple[str, int]]:
        return sorted(self.sizes.items())

    def open(self, member: zipfile.ZipInfo | str) -> IO[bytes]:
        name = member.filename if isinstance(member, zipfile.ZipInfo) else member
        if name not in self.sizes:
            raise KeyError(name)
        with storage.open_read(storage.join(self.url, name), self.storage_options) as handle:
            return io.BytesIO(handle.read())

    def where(self, info: zipfile.ZipInfo) -> None:
        return None


class _Rows:
    """Sequential reader of one member's rows: views of a memory map, or blocks of the member's stream."""

    def __init__(self, archive: Any, member: Member, rows: int, locate: Locator | None) -> None:
        self.member, self.rows, self.dim, self.done = member, rows, member.dim, 0
        self.map: np.ndarray | None = None
        self.stream: IO[bytes] | None = None
        located = locate(member.info) if locate is not None and rows else None
        if located is not None:
            path, start = located
            self.map = np.memmap(path, dtype=member.dtype, mode="r", offset=start, shape=(rows, self.dim))
        else:
            self.stream = archive.open(member.info)

    def take(self, count: int, url: str) -> np.ndarray:
        if self.done + count > self.rows:
            raise InputError(f"{url}: {self.member.info.filename} ends before the streamlines do")
        if self.map is not None:
            block = self.map[self.done : self.done + count]
        else:
            size = count * self.dim * self.member.dtype.itemsize
            try:
                raw = self.stream.read(size) if size else b""  # type: ignore[union-attr]
            except (zipfile.BadZipFile, OSError, EOFError) as error:
                raise InputError(f"{url}: {self.member.info.filename} is damaged ({error})") from error
            if len(raw) != size:
                raise InputError(f"{url}: {self.member.info.filename} is truncated")
            block = np.frombuffer(raw, dtype=self.member.dtype).reshape(count, self.dim)
        self.done += count
        return block

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
        self.map = None


def _load_header(archive: Any, url: str) -> dict[str, Any]:
    try:
        with archive.open("header.json") as handle:
            header = json.load(handle)
    except KeyError:
        raise InputError(f"{url}: a TRX file needs a header.json and this zip has none") from None
    except (ValueError, zipfile.BadZipFile, OSError) as error:
        raise InputError(f"{url}: the TRX header.json is not readable JSON ({error})") from error
    missing = [key for key in REQUIRED_KEYS if not isinstance(header, dict) or key not in header]
    if missing:
        raise InputError(f"{url}: the TRX header lacks {', '.join(missing)}")
    for key in ("NB_VERTICES", "NB_STREAMLINES"):
        if not isinstance(header[key], int) or header[key] < 0:
            raise InputError(f"{url}: TRX {key} must be a whole number >= 0, got {header[key]!r}")
    return header


def _grid(header: Mapping[str, Any], url: str) -> Any:
    try:
        shape = np.asarray(header["DIMENSIONS"], dtype=np.int64).reshape(3)
        affine = np.asarray(header["VOXEL_TO_RASMM"], dtype=np.float64).reshape(4, 4)
    except (TypeError, ValueError) as error:
        raise InputError(f"{url}: TRX DIMENSIONS or VOXEL_TO_RASMM are malformed ({error})") from error
    return references.valid_grid(shape, affine, url)


def _members(archive: Any, header: Mapping[str, Any], url: str) -> dict[str, Any]:
    """Every array member, checked against the counts of the header."""
    n_points, n_lines = header["NB_VERTICES"], header["NB_STREAMLINES"]
    found: dict[str, Any] = {"dpv": {}, "dps": {}, "groups": {}, "dpg": {}}
    for info in archive.infolist():
        budget.require_inflation(info.file_size, info.compress_size, f"member {info.filename}", url)
        member = _member(info, url)
        if member is None:
            continue
        items, rest = divmod(info.file_size, member.dtype.itemsize)
        if rest:
            raise InputError(f"{url}: {info.filename} is not a whole number of {member.dtype.name} values")
        top = member.folder.split("/")[0] if member.folder else ""
        if not member.folder and member.name in ("positions", "offsets"):
            found[member.name] = member
            expected = [n_points * 3] if member.name == "positions" else [n_lines, n_lines + 1]
            if member.name == "positions" and member.dim != 3:
                raise InputError(f"{url}: TRX positions must be positions.3.<dtype>, got {info.filename}")
            if member.name == "offsets" and member.dtype.kind not in "iu":
                raise InputError(f"{url}: TRX offsets must be integers, got {member.dtype.name}")
            if items not in expected:
                raise InputError(
                    f"{url}: {info.filename} holds {items} values; the header's counts need {expected[0]}"
                )
        elif top in ("dpv", "dps") and member.folder == top:
            rows = n_points if top == "dpv" else n_lines
            if items != rows * member.dim:
                raise InputError(
                    f"{url}: {info.filename} holds {items} values for {rows} rows of {member.dim}"
                )
            found[top][member.name] = member
        elif member.folder == "groups":
            found["groups"][member.name] = member
        elif top == "dpg" and member.folder.count("/") == 1:
            found["dpg"].setdefault(member.folder.split("/")[1], {})[member.name] = member
        else:
            raise InputError(f"{url}: {info.filename} is not part of the TRX layout")
    if n_lines and ("positions" not in found or "offsets" not in found):
        raise InputError(f"{url}: a TRX file with streamlines needs positions and offsets members")
    return found


def _whole(archive: Any, member: Member, url: str) -> np.ndarray:
    """A small member read at once (group indices, data per group)."""
    budget.require(member.info.file_size, f"member {member.info.filename}", url)
    try:
        raw = archive.read(member.info)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise InputError(f"{url}: {member.info.filename} is damaged ({error})") from error
    return np.frombuffer(raw, dtype=member.dtype)


def _groups(archive: Any, members: Mapping[str, Member], n_lines: int, url: str) -> dict:
    """Each group's streamline indices, sorted (a group is small beside the positions)."""
    groups = {}
    for name, member in members.items():
        if member.dtype.kind not in "iu" or member.dim != 1:
            raise InputError(f"{url}: {member.info.filename}: group members must be integer indices")
        indices = np.sort(_whole(archive, member, url).astype(np.int64))
        if indices.size and (indices[0] < 0 or indices[-1] >= n_lines):
            raise InputError(f"{url}: group {name} names streamlines beyond the {n_lines} in the file")
        groups[name] = indices
    return groups


@contextlib.contextmanager
def read_stream(url: str, *, storage_options: Mapping[str, Any] | None = None) -> Iterator[streaming.Stream]:
    """A stream of a TRX zip or folder: header and small members now, positions and per-row data chunk
    by chunk (a remote folder is copied to local disk first, then memory-mapped like a local one)."""
    with _opened(url, storage_options) as (archive, header, members, groups, head, locate, stack):
        yield streaming.Stream(head, _chunks(archive, header, members, groups, locate, url, stack))


def describe(url: str, *, storage_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`hub info` from header.json (NB_STREAMLINES, NB_VERTICES, checked against the members' sizes)
    and the small members; the positions and per-row data are not read."""
    with _opened(url, storage_options, copy_folder=False) as (_, header, _, _, head, _, _):
        lines = header["NB_STREAMLINES"]
        totals = {"offsets": {"rows": lines}, "positions": {"rows": header["NB_VERTICES"] if lines else 0}}
        return streaming.summarize_stream(head, totals)


@contextlib.contextmanager
def _opened(
    url: str, storage_options: Mapping[str, Any] | None, copy_folder: bool = True
) -> Iterator[tuple[Any, ...]]:
    """The archive (zip or folder), its header, its members, the groups, the header model, where members
    can be memory-mapped, and the stack that closes them. A remote folder is copied to local disk when
    its arrays are to be read (`copy_folder`), else only its listing and small members are fetched."""
    with contextlib.ExitStack() as stack:
        archive: Any
        if not copy_folder and not storage.is_local(url) and storage.is_dir(url, storage_options):
            archive, locate = _RemoteFolder(url, storage_options), None
        elif storage.is_dir(url, storage_options):
            archive = _Folder(stack.enter_context(storage.local_copy(url, storage_options)), url)
            locate: Locator | None = archive.where
        else:
            handle = stack.enter_context(storage.open_read(url, storage_options))
            try:
                archive = stack.enter_context(zipfile.ZipFile(handle))
            except (zipfile.BadZipFile, OSError, EOFError) as error:
                raise InputError(f"{url}: not a TRX file (not a readable zip: {error})") from error
            locate = _in_zip(storage.local_path(url)) if storage.is_local(url) else None
        header = _load_header(archive, url)
        members = _members(archive, header, url)
        own = header.get(OWN_KEY) if isinstance(header.get(OWN_KEY), dict) else {}
        metadata = dict(own.get("metadata") or {})
        extra = {k: v for k, v in header.items() if k not in (*REQUIRED_KEYS, OWN_KEY)}
        if extra:
            metadata["trx_header"] = extra
        dpg = {
            group: {name: _whole(archive, member, url).tolist() for name, member in values.items()}
            for group, values in members["dpg"].items()
        }
        if dpg:
            metadata["trx_dpg"] = dpg
        groups = _groups(archive, members["groups"], header["NB_STREAMLINES"], url)
        space = own.get("space")
        head = common.header(
            reference=_grid(header, url),
            space=space if _known_space(space) else None,
            metadata=metadata,
            data_per_point=[_empty(member) for member in members["dpv"].values()],
            data_per_streamline=[_empty(member) for member in members["dps"].values()]
            + [common.named(GROUP_PREFIX + name, np.zeros(0, np.uint8), "TRX group") for name in groups],
            source_url=url,
            positions_dtype=_positions_dtype(members.get("positions")),
        )
        yield archive, header, members, groups, head, locate, stack


def _known_space(space: Any) -> bool:
    from neurodatahub.core.models import CoordinateSpace

    return isinstance(space, str) and space in {member.value for member in CoordinateSpace}


def _positions_dtype(member: Member | None) -> np.dtype:
    return np.dtype(np.float64) if member is not None and member.dtype.itemsize == 8 else np.dtype(np.float32)


def _empty(member: Member) -> Any:
    return common.named(member.name, np.zeros((0,) if member.dim == 1 else (0, member.dim), member.dtype))


def _chunks(
    archive: Any,
    header: Mapping[str, Any],
    members: Mapping[str, Any],
    groups: Mapping[str, np.ndarray],
    locate: Locator | None,
    url: str,
    stack: contextlib.ExitStack,
) -> Iterator[Any]:
    n_points, n_lines = header["NB_VERTICES"], header["NB_STREAMLINES"]
    if not n_lines:
        return
    readers: dict[str, _Rows] = {}
    for key, member, rows in [
        ("positions", members["positions"], n_points),
        (
            "offsets",
            members["offsets"],
            members["offsets"].info.file_size // members["offsets"].dtype.itemsize,
        ),
        *[(f"dpv/{name}", member, n_points) for name, member in members["dpv"].items()],
        *[(f"dps/{name}", member, n_lines) for name, member in members["dps"].items()],
    ]:
        readers[key] = _Rows(archive, member, rows, locate)
        stack.callback(readers[key].close)
    limit = common.chunk_points()
    for first_line, starts, stops in _batches(readers["offsets"], n_points, n_lines, url):
        for a, b in common.split_by_points(stops - starts, limit):
            count = int(stops[b - 1] - starts[a])
            positions = readers["positions"].take(count, url)
            if positions.dtype != np.float64:
                positions = positions.astype(np.float32, copy=False)
            per_point = {name: _vector(readers[f"dpv/{name}"].take(count, url)) for name in members["dpv"]}
            per_line = {name: _vector(readers[f"dps/{name}"].take(b - a, url)) for name in members["dps"]}
            lo, hi = first_line + a, first_line + b
            for name, indices in groups.items():
                inside = indices[np.searchsorted(indices, lo) : np.searchsorted(indices, hi)]
                membership = np.zeros(hi - lo, dtype=np.uint8)
                membership[inside - lo] = 1
                per_line[GROUP_PREFIX + name] = membership
            yield common.chunk(positions.reshape(-1, 3), starts[a:b] - starts[a], per_point, per_line)


def _vector(block: np.ndarray) -> np.ndarray:
    return block[:, 0] if block.shape[1] == 1 else block


def _batches(
    offsets: _Rows, n_points: int, n_lines: int, url: str
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first streamline, starts, stops) over blocks of offsets, each checked against NB_VERTICES."""
    expected_start = 0
    read = 0

    def take(count: int) -> np.ndarray:
        return offsets.take(count, url)[:, 0].astype(np.int64)

    step = max(1024, common.chunk_points() // 8)  # offsets per step: a chunk's worth for 8-point streamlines
    pending = take(min(step, n_lines))
    read += len(pending)
    while pending.size:
        following = take(min(step, n_lines - read)) if read < n_lines else np.zeros(0, np.int64)
        read += len(following)
        end = int(following[0]) if following.size else n_points
        if not following.size and offsets.rows == n_lines + 1:
            end = int(take(1)[0])
            if end != n_points:
                raise InputError(f"{url}: the last TRX offset is {end}, not NB_VERTICES {n_points}")
        stops = np.append(pending[1:], end)
        if pending[0] != expected_start:
            raise InputError(f"{url}: TRX offsets must start at 0 and follow on, found {pending[0]}")
        if (stops < pending).any() or pending.max() > n_points or end > n_points:
            raise InputError(
                f"{url}: TRX offsets decrease or run past NB_VERTICES {n_points} (ragged or damaged offsets)"
            )
        yield read - len(following) - len(pending), pending, stops
        expected_start = end
        pending = following


# writing -------------------------------------------------------------------------------------------------


def _file_name(name: str, values: np.ndarray) -> str | None:
    """`name[.dim].dtype`, or None when the name or dtype cannot make a TRX member name."""
    if not name or any(bad in name for bad in "./\\") or values.dtype.kind not in "biuf":
        return None
    dtype = "bit" if values.dtype.kind == "b" else np.dtype(values.dtype).newbyteorder("=").name
    dim = common.width(values)
    return f"{name}.{dim}.{dtype}" if dim > 1 else f"{name}.{dtype}"


def _plan(model: Tractogram) -> tuple[dict[str, str], dict[str, str], list[str], list[Any]]:
    """Member names of the per-point and per-streamline arrays and groups TRX holds, and Loss records."""
    from neurodatahub.core.models import Loss

    dpv, dps, groups, lost = {}, {}, [], []
    for what, target in (("data_per_point", dpv), ("data_per_streamline", dps)):
        for column in getattr(model, what) or ():
            values = np.asarray(column.values)
            if what == "data_per_streamline" and column.name.startswith(GROUP_PREFIX):
                group = column.name[len(GROUP_PREFIX) :]
                if values.dtype.kind in "biuf" and values.ndim == 1 and _file_name(group, values):
                    groups.append(group)
                    continue
            name = _file_name(column.name, values)
            if name is None:
                lost.append(
                    Loss(
                        field=f"{what}.{column.name}",
                        reason="TRX members need a name without . / and numbers",
                    )
                )
            else:
                target[column.name] = name
    return dpv, dps, groups, lost


class WriteOptions(references.ReferenceOptions):
    positions_dtype: Literal[POSITION_DTYPES] = Field(
        "float32", description="dtype of the points (float16 is about 0.05 mm off at 100 mm: a declared loss)"
    )
    offsets_dtype: Literal["uint32", "uint64"] | None = Field(
        None, description="dtype of the offsets (default: uint32 when the points fit, else uint64)"
    )


def _positions_choice(value: Any) -> np.dtype:
    text = "float32" if value in (None, "") else str(value)
    if text not in POSITION_DTYPES:
        raise UsageError(f"positions_dtype must be one of {', '.join(POSITION_DTYPES)}, got {value!r}")
    return np.dtype(text).newbyteorder("<")


def _metadata_json(model: Tractogram) -> dict[str, Any] | None:
    metadata = {k: v for k, v in (model.metadata or {}).items() if k not in ("trx_header", "trx_dpg")}
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return metadata


def losses(
    model: Any,
    *,
    reference: Any = None,
    space: Any = None,
    resolution: Any = None,
    positions_dtype: Any = None,
    offsets_dtype: Any = None,
) -> list[Any]:
    """What TRX cannot hold; a missing reference grid fails here, before anything is written."""
    from neurodatahub.core.models import Loss

    references.required(model, "TRX", reference, space, resolution)
    _offsets_choice(offsets_dtype, 0)
    found = list(_plan(model)[3])
    if _positions_choice(positions_dtype) == np.float16:
        found.append(Loss(field="positions", reason="stored as float16 (about 0.05 mm steps at 100 mm)"))
    if model.metadata and _metadata_json(model) is None:
        found.append(Loss(field="metadata", reason="TRX keeps metadata as JSON; these values are not JSON"))
    return found


def _offsets_choice(value: Any, n_points: int) -> np.dtype:
    if value in (None, "", "auto"):
        return np.dtype("<u4") if n_points < 2**32 else np.dtype("<u8")
    if str(value) not in ("uint32", "uint64"):
        raise UsageError(f"offsets_dtype must be uint32 or uint64, got {value!r}")
    if str(value) == "uint32" and n_points >= 2**32:
        raise OutputError(f"{n_points} points do not fit uint32 offsets; use offsets_dtype=uint64")
    return np.dtype(str(value)).newbyteorder("<")


class _ZipSink:
    """Members written into a zip, one at a time (zipfile's rule), all stored."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def open(self, name: str) -> IO[bytes]:
        return self.archive.open(name, "w", force_zip64=True)

    def writestr(self, name: str, data: str | bytes) -> None:
        self.archive.writestr(name, data)


class _FolderSink:
    """Members written as files below a folder, the TRX spec's other form."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def open(self, name: str) -> IO[bytes]:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return open(target, "wb")

    def writestr(self, name: str, data: str | bytes) -> None:
        with self.open(name) as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def write_stream(stream: streaming.Stream, path: Path, **options: Any) -> None:
    """A TRX zip: positions straight into a stored member, the rest through spill files; header last."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        _write(stream, _ZipSink(archive), path, **options)


def write_folder_stream(stream: streaming.Stream, path: Path, **options: Any) -> None:
    """A TRX folder: the same members as files (trx-python's load() and save() take both forms)."""
    path.mkdir(exist_ok=True)
    _write(stream, _FolderSink(path), path, **options)


def _write(
    stream: streaming.Stream,
    archive: Any,
    path: Path,
    *,
    reference: Any = None,
    space: Any = None,
    resolution: Any = None,
    positions_dtype: Any = None,
    offsets_dtype: Any = None,
) -> None:
    head = stream.header
    chosen = references.required(head, "TRX", reference, space, resolution)
    given_space = references.space_of(space)
    position_type = _positions_choice(positions_dtype)
    _offsets_choice(offsets_dtype, 0)
    dpv, dps, groups, _ = _plan(head)
    n_points = n_lines = 0
    with scratch.folder(".trx-spill", within=path.parent) as folder:
        spill = Path(folder)
        files = {key: open(spill / key.replace("/", "_"), "wb") for key in _spill_keys(dpv, dps, groups)}  # noqa: SIM115
        try:
            with archive.open(f"positions.3.{position_type.name}") as member:
                for piece in stream.chunks:
                    common.check_chunk_names(
                        piece,
                        {
                            "data_per_point": list(dpv),
                            "data_per_streamline": list(dps) + [GROUP_PREFIX + g for g in groups],
                        },
                        str(path),
                    )
                    member.write(_raw(np.ascontiguousarray(piece.positions, dtype=position_type)))
                    (np.asarray(piece.offsets, dtype=np.int64) + n_points).astype("<u8").tofile(
                        files["offsets"]
                    )
                    _spill_columns(piece, dpv, dps, groups, files, n_lines)
                    n_points += len(piece.positions)
                    n_lines += len(piece.offsets)
        finally:
            for handle in files.values():
                handle.close()
        offset_type = _offsets_choice(offsets_dtype, n_points)
        with open(spill / "offsets", "ab") as handle:
            np.asarray([n_points], dtype="<u8").tofile(handle)  # the sentinel current readers expect
        _copy(archive, spill / "offsets", f"offsets.{offset_type.name}", np.dtype("<u8"), offset_type)
        for name, member_name in dpv.items():
            _copy(archive, spill / f"dpv_{name}", f"dpv/{member_name}")
        for name, member_name in dps.items():
            _copy(archive, spill / f"dps_{name}", f"dps/{member_name}")
        for group in groups:
            _copy(archive, spill / f"groups_{group}", f"groups/{group}.uint32")
        _write_group_data(archive, head.metadata, groups)
        archive.writestr(
            "header.json", json.dumps(_header(head, chosen, given_space, n_points, n_lines), indent=1)
        )


def _raw(array: np.ndarray) -> np.ndarray:
    """A contiguous array as flat bytes for a zip member (zipfile counts len(), so 1-D uint8)."""
    return array.reshape(-1).view(np.uint8)


def _spill_keys(dpv: Mapping[str, str], dps: Mapping[str, str], groups: list[str]) -> list[str]:
    return [
        "offsets",
        *(f"dpv/{n}" for n in dpv),
        *(f"dps/{n}" for n in dps),
        *(f"groups/{g}" for g in groups),
    ]


def _spill_columns(
    piece: Any, dpv: Mapping, dps: Mapping, groups: list[str], files: Mapping, n_lines: int
) -> None:
    per_point, per_line = common.columns(piece.data_per_point), common.columns(piece.data_per_streamline)
    for name in dpv:
        np.ascontiguousarray(per_point[name], dtype=per_point[name].dtype.newbyteorder("<")).tofile(
            files[f"dpv/{name}"]
        )
    for name in dps:
        np.ascontiguousarray(per_line[name], dtype=per_line[name].dtype.newbyteorder("<")).tofile(
            files[f"dps/{name}"]
        )
    for group in groups:
        members = np.flatnonzero(per_line[GROUP_PREFIX + group]) + n_lines
        if members.size and members[-1] >= 2**32:
            raise OutputError("TRX group indices are uint32: more than 4 billion streamlines do not fit")
        members.astype("<u4").tofile(files[f"groups/{group}"])


def _copy(
    archive: Any,
    source: Path,
    name: str,
    read_as: np.dtype | None = None,
    write_as: np.dtype | None = None,
) -> None:
    """A spill file into a stored member, block by block (converting the dtype when asked)."""
    size = 12 * common.chunk_points()  # a chunk's positions: copies cost no more than a chunk
    with open(source, "rb") as handle, archive.open(name) as member:
        if read_as is None or read_as == write_as:
            shutil.copyfileobj(handle, member, size)
            return
        while block := handle.read(size - size % read_as.itemsize):
            member.write(_raw(np.frombuffer(block, dtype=read_as).astype(write_as)))


def _write_group_data(archive: Any, metadata: Mapping[str, Any] | None, groups: list[str]) -> None:
    """Data per group (kept in metadata trx_dpg when read) for the groups written."""
    for group, values in ((metadata or {}).get("trx_dpg") or {}).items():
        if group not in groups or not isinstance(values, Mapping):
            continue
        for name, value in values.items():
            array = np.asarray(value).reshape(-1)
            member_name = _file_name(str(name), array)
            if member_name is not None and array.dtype.kind in "biuf":
                archive.writestr(f"dpg/{group}/{member_name}", np.ascontiguousarray(array).tobytes())


def _header(head: Any, chosen: Any, given_space: str | None, n_points: int, n_lines: int) -> dict[str, Any]:
    header: dict[str, Any] = dict((head.metadata or {}).get("trx_header") or {})
    header.update(
        {
            "DIMENSIONS": [int(v) for v in chosen.shape],
            "VOXEL_TO_RASMM": [[float(v) for v in row] for row in chosen.affine],
            "NB_VERTICES": int(n_points),
            "NB_STREAMLINES": int(n_lines),
        }
    )
    space = given_space or (head.space.value if hasattr(head.space, "value") else head.space)
    own = {"space": space, "metadata": _metadata_json(head) or None}
    own = {key: value for key, value in own.items() if value}
    if own:
        header[OWN_KEY] = own
    return header


def sniff(probe: Probe) -> bool:
    """A zip whose central directory names header.json and a positions member (read from the end)."""
    head = probe.head
    if not head.startswith(ZIP_MAGIC) or probe.is_dir:
        return False
    if b"header.json" in head or b"positions.3." in head:
        return True
    try:
        with (
            storage.open_read(probe.url, probe.storage_options) as handle,
            zipfile.ZipFile(handle) as archive,
        ):
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, InputError):
        return False
    return "header.json" in names and any(name.startswith("positions.3.") for name in names)


def sniff_folder(probe: Probe) -> bool:
    """A folder holding header.json and a positions member."""
    return (
        probe.is_dir
        and "header.json" in probe.names
        and any(name.startswith("positions.3.") for name in probe.names)
    )


# what both forms (zip and folder) cannot hold
CANNOT_STORE = ("names with . or /", "non-numeric per-point or per-streamline data", "float16: precision")

register_format(
    FormatSpec(
        name="trx",
        kind=common.KIND,
        description="TRX zip: positions, offsets, per-point and per-streamline data, groups",
        extensions=(".trx",),
        read_stream=read_stream,
        write_stream=write_stream,
        describe=describe,
        sniff=sniff,
        write_options=WriteOptions,
        cannot_store=CANNOT_STORE,
        losses=losses,
    )
)
register_format(
    FormatSpec(
        name="trx-folder",
        kind=common.KIND,
        description="TRX folder: the zip's members as files (the spec's uncompressed form, trx-python)",
        extensions=(".trx",),
        read_stream=read_stream,
        write_stream=write_folder_stream,
        describe=describe,
        sniff=sniff_folder,
        write_options=WriteOptions,
        cannot_store=CANNOT_STORE,
        losses=losses,
        directory=True,
    )
)
