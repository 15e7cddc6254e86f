"""FreeSurfer MGH (`.mgh`) and MGZ (`.mgz`, gzipped) volumes for every image kind, read and written a
slab at a time through nibabel's MGH header.

MGH keeps the voxels (big-endian uint8, int16, int32 or float32, Fortran order), the vox2ras matrix (as
direction cosines, voxel sizes and the centre) and, in its footer, the repetition time in milliseconds.
It has no place for an intent, a template name, a map name, a lookup table, a description or metadata:
those are declared losses. Other value types are stored in the nearest type MGH has (a loss when values
may change: int64, uint32 and float64 become float32). An MGH of vertices x 1 x 1 is a surface overlay
(the surfaces kind's `mgh-overlay`), not a volume.
"""

from __future__ import annotations

import contextlib
import io
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from zlib_ng.zlib_ng import error as ZlibNgError  # volumes.decompressed inflates through zlib-ng

from neurodatahub.core.codecs.gzip import gunzipped_head
from neurodatahub.core.errors import InputError
from neurodatahub.core.imaging.spaces import detect_space
from neurodatahub.core.registry import Probe
from neurodatahub.images import classify, volumes
from neurodatahub.images.registration import register_volume_format

EXTENSIONS = (".mgz", ".mgh")
HEADER_BYTES = 284
MGH_VERSION = 1
# the types MGH stores, and where others go: exactly when every value fits, else float32 (a loss)
STORED_TYPES = ("uint8", "int16", "int32", "float32")
WIDER = {"int8": "int16", "uint16": "int32", "bool": "uint8"}


def _header(raw: bytes, url: str) -> Any:
    from nibabel.freesurfer.mghformat import MGHHeader

    if len(raw) < HEADER_BYTES or int.from_bytes(raw[:4], "big") != MGH_VERSION:
        return None
    try:
        return MGHHeader.from_fileobj(io.BytesIO(raw[:HEADER_BYTES]))
    except Exception as error:  # nibabel raises HeaderDataError, KeyError for unknown types...
        raise InputError(f"{url}: damaged MGH header ({' '.join(str(error).split())})") from error


def head_facts(probe: Probe) -> classify.HeaderFacts | None:
    if probe.is_dir:
        return None
    try:
        header = _header(gunzipped_head(probe.head, probe.url), probe.url)
    except InputError:
        return None
    if header is None:
        return None
    shape = header.get_data_shape()
    if tuple(shape[1:3]) == (1, 1):  # vertices x 1 x 1: a surface overlay (the surfaces kind's mgh-overlay)
        return None
    shape = shape[:3] if len(shape) == 4 and shape[3] == 1 else shape
    return classify.HeaderFacts(tuple(shape))


@contextlib.contextmanager
def open_volume(url: str, storage_options: Any = None) -> Iterator[volumes.Volume]:
    from nibabel.fileholders import FileHolder
    from nibabel.freesurfer.mghformat import MGHImage

    with volumes.decompressed(url, storage_options) as handle:
        try:
            if _header(handle.read(HEADER_BYTES), url) is None:
                raise InputError(f"{url}: not an MGH file (version 1 header)")
            handle.seek(0)
            holder = FileHolder(fileobj=handle)
            image = MGHImage.from_file_map({"header": holder, "image": holder})
        except (OSError, EOFError, ValueError, zlib.error, ZlibNgError) as error:
            raise InputError(f"{url}: not a readable MGH image ({' '.join(str(error).split())})") from error
        shape = tuple(int(size) for size in image.shape)
        if len(shape) == 4 and shape[3] == 1:
            shape = shape[:3]

        def read(start: int, stop: int) -> np.ndarray:
            index = (slice(None),) * (len(image.shape) - 1) + (slice(start, stop),)
            if len(shape) == 3 and len(image.shape) == 4:
                index = (slice(None), slice(None), slice(start, stop), 0)
            try:
                return np.asarray(image.dataobj[index])
            except (OSError, EOFError, ValueError, zlib.error, ZlibNgError) as error:
                raise InputError(
                    f"{url}: the MGH data cannot be read (truncated or damaged?): {error}"
                ) from error

        repetition_ms = float(image.header["tr"])
        yield volumes.Volume(
            shape=shape,
            dtype=image.get_data_dtype(),
            affine=np.asarray(image.affine, dtype=np.float64),
            read=read,
            repetition_time=repetition_ms / 1000 if repetition_ms > 0 and len(shape) == 4 else None,
        )


def stored_type(dtype: np.dtype) -> np.dtype:
    name = np.dtype(dtype).name
    if name in STORED_TYPES:
        return np.dtype(name)
    return np.dtype(WIDER.get(name, "float32"))


def write_volume(path: Path, plan: volumes.Plan, slabs: Iterable[np.ndarray]) -> None:
    from nibabel.freesurfer.mghformat import MGHImage

    dtype = stored_type(plan.dtype).newbyteorder(">")
    # nibabel derives the header from an image; a zero-stride array gives it the shape without the voxels
    image = MGHImage(np.broadcast_to(np.zeros((), dtype), plan.shape), plan.affine)
    image.set_data_dtype(dtype)
    image.update_header()
    header = image.header
    if plan.repetition_time:
        header["tr"] = plan.repetition_time * 1000
    gzipped = volumes.final_name(path).lower().endswith(".mgz")
    with volumes.compressing(path, 6 if gzipped else None) as sink:
        block = io.BytesIO()
        header.writehdr_to(block)  # the header fields; the data start at the fixed offset after them
        sink.write(block.getvalue().ljust(header.get_data_offset(), b"\x00"))
        for _ in volumes.write_slabs(sink, plan, slabs, dtype):
            pass
        header.writeftr_to(sink)


def losses(model: Any, **options: Any) -> list[Any]:
    from neurodatahub.core.models import Loss

    found = []
    dtype = np.dtype(model.data.dtype)
    if stored_type(dtype) == np.dtype("float32") and dtype.name != "float32":
        found.append(Loss(field="data", reason=f"MGH has no {dtype.name}: values are stored as float32"))
    if tuple(model.data.shape[1:3]) == (1, 1):
        found.append(
            Loss(field="class", reason="an MGH of N x 1 x 1 is taken for a surface overlay (--from mgh)")
        )
    space = getattr(model.space, "value", model.space)
    if space is not None and detect_space(model.data.shape, np.asarray(model.affine)) != space:
        found.append(Loss(field="space", reason="MGH has no place for a template name"))
    for field, what in (
        ("intent", "an intent"),
        ("name", "a map name"),
        ("lut", "a lookup table (keep a dseg.tsv beside it)"),
        ("description", "a description"),
        ("metadata", "free-form metadata"),
    ):
        if getattr(model, field, None) is not None:
            found.append(Loss(field=field, reason=f"MGH has no place for {what}"))
    return found


def _cannot_store(kind: str) -> tuple[str, ...]:
    held = {"parcellation": ("lookup table",), "scalar-map": ("name",)}.get(kind, ())
    return ("space", "intent", *held, "description", "metadata", "64-bit values")


SPECS = register_volume_format(
    name="mgh",
    description="FreeSurfer MGH/MGZ volume (nibabel): voxels, vox2ras and repetition time; series streamed",
    extensions=EXTENSIONS,
    head_facts=head_facts,
    open_volume=open_volume,
    write_volume=write_volume,
    cannot_store=_cannot_store,
    losses=losses,
)
