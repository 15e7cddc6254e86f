"""The TRK header as nibabel reads it: byte order, counts, the names of per-point and per-streamline
columns, the TrackVis-to-RAS transform and the grid. Shared by the TRK format and by references (a
TRK file can be the reference grid of a TCK), so it is a module of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurodatahub.core.errors import InputError
from neurodatahub.tractograms.common import grid as grid_of

MAGIC = b"TRACK"
HEADER_SIZE = 1000
MAX_NAMES = 10  # scalar_name and property_name hold 10 names of 20 bytes each
NAME_BYTES = 20
STORABLE_KINDS = "biuf"  # numbers; TRK keeps float32
EXACT_IN_FLOAT32 = {
    np.dtype(t) for t in (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.float16, np.float32)
}


@dataclass
class TrkHeader:
    """What reading needs from a TRK header, with nibabel's interpretation of it."""

    endian: str
    n_count: int
    n_scalars: int
    n_properties: int
    scalars: dict[str, slice] = field(default_factory=dict)
    properties: dict[str, slice] = field(default_factory=dict)
    to_rasmm: np.ndarray = field(default_factory=lambda: np.eye(4, dtype=np.float32))
    grid: Any = None


def _decode_names(encoded: np.ndarray, total: int, fallback: str, url: str) -> dict[str, slice]:
    """Names and column ranges as nibabel reads them; columns no name claims get `fallback`."""
    from nibabel.streamlines.trk import decode_value_from_name

    slices: dict[str, slice] = {}
    start = 0
    if total <= 0:
        return slices
    for raw in encoded:
        try:
            name, count = decode_value_from_name(bytes(raw))
        except Exception as error:  # HeaderError or a bad count
            raise InputError(f"{url}: damaged TRK name field {bytes(raw)!r} ({error})") from error
        if count == 0:
            continue
        if name in slices or start + count > total:
            raise InputError(f"{url}: TRK names claim more columns than the header's {total}")
        slices[name] = slice(start, start + count)
        start += count
    if start < total:
        slices[fallback if fallback not in slices else f"{fallback}_{start}"] = slice(start, total)
    return slices


def parse_header(raw: bytes, url: str) -> TrkHeader:
    """The header of a TRK file, or an InputError saying why these 1000 bytes are not one."""
    import nibabel as nib
    from nibabel.streamlines.trk import get_affine_trackvis_to_rasmm, header_2_dtype

    if len(raw) < HEADER_SIZE or not raw.startswith(MAGIC):
        raise InputError(
            f"{url}: not a TRK file (no TRACK header)"
            if not raw.startswith(MAGIC)
            else f"{url}: truncated TRK header ({len(raw)} of {HEADER_SIZE} bytes)"
        )
    record = np.frombuffer(raw[:HEADER_SIZE], dtype=header_2_dtype)[0]
    endian = "<"
    if int(record["hdr_size"]) != HEADER_SIZE:
        record = np.frombuffer(raw[:HEADER_SIZE], dtype=header_2_dtype.newbyteorder(">"))[0]
        endian = ">"
        if int(record["hdr_size"]) != HEADER_SIZE:
            raise InputError(
                f"{url}: damaged TRK header (hdr_size is not {HEADER_SIZE} in either byte order)"
            )
    version = int(record["version"])
    if version not in (1, 2, 3):
        raise InputError(f"{url}: TRK version {version} is not supported (1, 2 and 3 are)")
    n_scalars, n_properties = int(record["nb_scalars_per_point"]), int(record["nb_properties_per_streamline"])
    n_count = int(record["nb_streamlines"])
    if n_scalars < 0 or n_properties < 0 or n_count < 0:
        raise InputError(f"{url}: damaged TRK header (negative counts)")
    fields = {name: record[name] for name in header_2_dtype.names}
    vox_to_ras = np.asarray(fields["voxel_to_rasmm"], dtype=np.float32)
    recorded = version != 1 and vox_to_ras[3, 3] != 0
    if not recorded:  # nibabel's reading: assume identity (so positions equal nibabel's), but no grid
        fields["voxel_to_rasmm"] = vox_to_ras = np.eye(4, dtype=np.float32)
    if not fields["voxel_order"]:
        fields["voxel_order"] = b"LPS"  # TrackVis's default, as nibabel assumes
    dims = np.asarray(fields["dimensions"], dtype=np.int64)
    sizes = np.asarray(fields["voxel_sizes"], dtype=np.float64)
    if not np.isfinite(vox_to_ras).all() or None in nib.orientations.aff2axcodes(vox_to_ras):
        raise InputError(f"{url}: the TRK vox_to_ras affine is not usable: {vox_to_ras.tolist()}")
    if not (np.isfinite(sizes).all() and (sizes > 0).all()):
        raise InputError(f"{url}: damaged TRK header (voxel sizes {sizes.tolist()})")
    try:
        to_rasmm = get_affine_trackvis_to_rasmm(fields)
    except Exception as error:  # an unknown voxel order
        raise InputError(
            f"{url}: the TRK voxel order {fields['voxel_order']!r} is not usable ({error})"
        ) from error
    grid = None
    if recorded and (dims > 0).all():
        grid = grid_of(dims, vox_to_ras)
    return TrkHeader(
        endian=endian,
        n_count=n_count,
        n_scalars=n_scalars,
        n_properties=n_properties,
        scalars=_decode_names(record["scalar_name"], n_scalars, "scalars", url),
        properties=_decode_names(record["property_name"], n_properties, "properties", url),
        to_rasmm=np.asarray(to_rasmm, dtype=np.float32),
        grid=grid,
    )
