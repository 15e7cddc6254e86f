"""NIfTI-1 and NIfTI-2 (`.nii`, `.nii.gz`) for every image kind, read and written a slab at a time.

Reading goes through nibabel on the storage layer's file object (the block cache on S3, a gzip stream for
`.nii.gz`), so a run of volumes is read without the rest: an uncompressed series on S3 is fetched by the
byte ranges its volumes occupy. Writing lays the header out with nibabel and appends each slab in Fortran
order, because nibabel writes an image only from a whole array and a series arrives a chunk of volumes
at a time. NIfTI-2 is written when a dimension exceeds NIfTI-1's 32767. CIFTI-2 files (NIfTI-2 with a
CIFTI intent) are the cifti format's, not this one's.

What the header holds: the affine (sform and qform), the intent with its parameters, a scalar map's name
(intent_name, 16 characters), the description (descrip, 79), the repetition time (pixdim[4]). A
parcellation's lookup table goes beside the image as a BIDS `dseg.tsv` (the table from the labels,
`region_0001`..., when the model has none, as qsiparc falls back to).
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field
from zlib_ng.zlib_ng import error as ZlibNgError  # volumes.decompressed inflates through zlib-ng

from neurodatahub.core.codecs.gzip import gunzipped_head
from neurodatahub.core.errors import InputError
from neurodatahub.core.imaging.nifti import HEADER_BYTES, header_from_bytes
from neurodatahub.core.imaging.spaces import detect_space
from neurodatahub.core.options import Options
from neurodatahub.core.registry import Probe
from neurodatahub.images import classify, volumes
from neurodatahub.images.registration import register_volume_format

EXTENSIONS = (".nii.gz", ".nii")
CIFTI_INTENTS = range(3000, 3100)
NIFTI1_MAX_DIM = 32767
INTENT_NAME_BYTES = 16
DESCRIP_BYTES = 79
MAGICS = {b"n+1\x00": 344, b"n+2\x00": 4}  # single-file NIfTI-1 and NIfTI-2, at these offsets


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def head_facts(probe: Probe) -> classify.HeaderFacts | None:
    """Shape and intent from the header in the first bytes; None for other files and for CIFTI."""
    if probe.is_dir:
        return None
    try:
        raw = gunzipped_head(probe.head, probe.url)
        if not any(raw[offset : offset + 4] == magic for magic, offset in MAGICS.items()):
            return None
        header = header_from_bytes(raw, probe.url)
    except InputError:
        return None
    if header is None or int(header["intent_code"]) in CIFTI_INTENTS:
        return None
    return classify.HeaderFacts(header.get_data_shape(), int(header["intent_code"]))


def _text(value: Any) -> str | None:
    text = bytes(np.asarray(value)).split(b"\x00", 1)[0].decode("latin-1").strip()
    return text or None


@contextlib.contextmanager
def open_volume(url: str, storage_options: Any = None) -> Iterator[volumes.Volume]:
    import nibabel as nib
    from nibabel.fileholders import FileHolder

    with volumes.decompressed(url, storage_options) as handle:
        try:
            first = handle.read(HEADER_BYTES)
            handle.seek(0)
            header = header_from_bytes(first, url)
            if header is None:
                raise InputError(f"{url}: not a NIfTI-1 or NIfTI-2 file")
            klass = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
            holder = FileHolder(fileobj=handle)
            image = klass.from_file_map({"header": holder, "image": holder})
            empty = np.asarray(image.dataobj[..., 0:0])
        except (
            OSError,
            EOFError,
            ValueError,
            zlib.error,
            ZlibNgError,
            nib.spatialimages.HeaderDataError,
        ) as error:
            raise InputError(f"{url}: not a readable NIfTI image ({_one_line(error)})") from error
        yield volume_of(url, image, empty.dtype)


def volume_of(url: str, image: Any, dtype: np.dtype) -> volumes.Volume:
    header = image.header

    def read(start: int, stop: int) -> np.ndarray:
        try:
            return np.asarray(image.dataobj[..., start:stop])
        except (OSError, EOFError, ValueError, zlib.error, ZlibNgError) as error:
            raise InputError(
                f"{url}: not a readable NIfTI image (truncated or damaged: {_one_line(error)})"
            ) from error

    units = header.get_xyzt_units()[1]
    step = float(header["pixdim"][4]) if len(image.shape) == 4 else 0.0
    scale = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}.get(units)
    intent_name = _text(header["intent_name"])
    return volumes.Volume(
        shape=tuple(int(size) for size in image.shape),
        dtype=dtype,
        affine=np.asarray(image.affine, dtype=np.float64),
        read=read,
        intent_code=int(header["intent_code"]),
        intent_parameters=tuple(float(header[f"intent_p{index}"]) for index in (1, 2, 3)),
        repetition_time=step * scale if scale and step > 0 else None,
        description=_text(header["descrip"]),
        stored={"name": intent_name} if intent_name else {},
    )


class WriteOptions(Options):
    compression_level: Annotated[int, Field(ge=0, le=9)] = Field(
        6, description="gzip level of .nii.gz (1 fastest, 9 smallest)"
    )


def header_of(plan: volumes.Plan) -> Any:
    import nibabel as nib

    klass = nib.Nifti2Header if max(plan.shape) > NIFTI1_MAX_DIM else nib.Nifti1Header
    header = klass()
    header.set_data_dtype(plan.dtype.newbyteorder("="))
    header.set_data_shape(plan.shape)
    header.set_xyzt_units("mm", "sec")
    header.set_qform(plan.affine, code=1)
    header.set_sform(plan.affine, code=1)
    header["scl_slope"], header["scl_inter"] = 1.0, 0.0
    if plan.repetition_time and len(plan.shape) == 4:
        header["pixdim"][4] = plan.repetition_time
    header["intent_code"] = plan.intent_code
    for index, value in enumerate(plan.intent_parameters[:3], start=1):
        header[f"intent_p{index}"] = value
    name = plan.stored.get("name")
    if name and len(name.encode()) <= INTENT_NAME_BYTES:
        header["intent_name"] = name.encode()
    if plan.description:
        header["descrip"] = plan.description.encode()[:DESCRIP_BYTES]
    header["vox_offset"] = header.single_vox_offset
    return header


def write_volume(
    path: Path, plan: volumes.Plan, slabs: Iterable[np.ndarray], *, compression_level: int = 6
) -> None:
    header = header_of(plan)
    dtype = plan.dtype.newbyteorder("=")
    labels: set[int] = set()
    gzipped = volumes.final_name(path).endswith(".nii.gz")
    with volumes.compressing(path, compression_level if gzipped else None) as sink:
        prefix = header.binaryblock
        sink.write(prefix + b"\x00" * (int(header["vox_offset"]) - len(prefix)))
        for slab in volumes.write_slabs(sink, plan, slabs, dtype):
            if plan.class_name == "Parcellation" and "lut" not in plan.stored:
                labels.update(np.unique(slab).tolist())
    if plan.class_name == "Parcellation":
        _write_lut(path, plan, labels)


def _write_lut(path: Path, plan: volumes.Plan, labels: set[int]) -> None:
    from neurodatahub.core.imaging.lut import dseg_tsv, lut_from_labels
    from neurodatahub.core.models import AtlasLUT

    stem = volumes.stem_of(volumes.final_name(path), EXTENSIONS)
    if "lut" in plan.stored:
        lut = AtlasLUT.model_validate(plan.stored["lut"])
    else:
        lut = lut_from_labels(np.array(sorted(labels), dtype=np.int64), stem)
    path.with_name(stem + ".tsv").write_text(dseg_tsv(lut), encoding="utf-8")


def lut_sidecar(url: str) -> tuple[str, ...]:
    """The BIDS dseg.tsv of a parcellation: the image's name with .tsv for its extension."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    return (url[: len(url) - len(name)] + volumes.stem_of(name, EXTENSIONS) + ".tsv",)


def losses(model: Any, **options: Any) -> list[Any]:
    from neurodatahub.core.models import Loss

    found = []
    space = getattr(model.space, "value", model.space)
    if space is not None and detect_space(model.data.shape, np.asarray(model.affine)) != space:
        found.append(
            Loss(field="space", reason="NIfTI has no place for it (name the file with space-<label>)")
        )
    name = getattr(model, "name", None)
    if name and len(name.encode()) > INTENT_NAME_BYTES:
        found.append(Loss(field="name", reason=f"NIfTI keeps {INTENT_NAME_BYTES} bytes of it (intent_name)"))
    if model.description and len(model.description.encode()) > DESCRIP_BYTES:
        found.append(Loss(field="description", reason=f"NIfTI keeps its first {DESCRIP_BYTES} bytes"))
    if model.metadata:
        found.append(Loss(field="metadata", reason="NIfTI has no place for free-form metadata"))
    return found


def _cannot_store(kind: str) -> tuple[str, ...]:
    return ("space (a space- entity keeps it)", "metadata")


def _sidecars(kind: str) -> Any:
    return lut_sidecar if kind == "parcellation" else None


SPECS = register_volume_format(
    name="nifti",
    description="NIfTI-1/NIfTI-2 image (.nii, .nii.gz): masks, scalar maps, parcellations (with a BIDS "
    "dseg.tsv beside), series (streamed) and plain volumes",
    extensions=EXTENSIONS,
    head_facts=head_facts,
    open_volume=open_volume,
    write_volume=write_volume,
    write_options=WriteOptions,
    cannot_store=_cannot_store,
    losses=losses,
    sidecars=_sidecars,
)
