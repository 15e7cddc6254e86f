"""What every volume format shares: a file opened as a `Volume` (header facts and a reader of slabs along
the last axis), the models built from it, and the `Plan` a writer lays a file out from.

Volume files (NIfTI, MGH, NRRD) store voxels in Fortran order and OME-Zarr in (t, z, y, x) C order: in
both, a slab of consecutive indices along the last axis (z slices of a volume, volumes of a series) is
one contiguous run or one row of chunks, so reading and writing by slabs keeps memory at one slab.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from zlib_ng import gzip_ng  # standard gzip, much faster than zlib's (pyproject)

from neurodatahub.core import budget, environment, kinds, streaming
from neurodatahub.core.errors import InvalidDataError, UsageError
from neurodatahub.core.imaging.bids import name_of, read_sidecar, split_name
from neurodatahub.core.imaging.nifti import finite_affine, is_nifti_name
from neurodatahub.core.imaging.spaces import grid_voxel_sizes, settle_grid
from neurodatahub.images.classify import HeaderFacts, checked_class, intent_codes, intent_names

# 32 MiB of voxels per chunk of a streamed series: reading, checking and writing one holds about three
DEFAULT_CHUNK_BYTES = 32 * 2**20
# bytes handed to a file (and its compressor) at a time: each is copied into Fortran-order bytes first
WRITE_BYTES = 8 * 2**20
CHUNK_BYTES_VARIABLE = "NEURODATAHUB_IMAGE_CHUNK_BYTES"
THREE_D_CLASSES = ("LesionMask", "VoxelMap", "Parcellation")


@dataclass
class Volume:
    """An image file opened for reading."""

    shape: tuple[int, ...]  # i, j, k (, t)
    dtype: np.dtype  # of the values `read` returns (after any scaling the file asks for)
    affine: np.ndarray
    read: Callable[[int, int], np.ndarray]  # values [..., start:stop] along the last axis
    intent_code: int = 0
    intent_parameters: tuple[float, ...] = ()
    repetition_time: float | None = None
    description: str | None = None
    stored: dict[str, Any] = field(default_factory=dict)  # what the hub keeps in formats with room for it

    @property
    def facts(self) -> HeaderFacts:
        return HeaderFacts(self.shape, self.intent_code, self.stored.get("class"))

    def values(self, url: str, start: int, stop: int) -> np.ndarray:
        """`read`, once the slab the header declares fits the memory budget (core.budget): a few bytes of
        header may declare gigabytes, which the readers' libraries would allocate before reading them."""
        shape = (*self.shape[:-1], max(0, min(stop, self.shape[-1]) - start))
        what = f"the image {tuple(self.shape)} of {np.dtype(self.dtype)}"
        budget.require_array(shape, self.dtype, what, url)
        return self.read(start, stop)


@dataclass
class Plan:
    """What a writer lays out before the first slab arrives: the whole shape, type and header."""

    class_name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    affine: np.ndarray
    intent_code: int = 0
    intent_parameters: tuple[float, ...] = ()
    repetition_time: float | None = None
    description: str | None = None
    stored: dict[str, Any] = field(default_factory=dict)


OpenVolume = Callable[..., Any]  # (url, storage_options) -> context manager of a Volume
WriteVolume = Callable[..., None]  # (path, plan, slabs, **options)


@contextlib.contextmanager
def decompressed(url: str, storage_options: Any = None) -> Iterator[Any]:
    """A seekable binary file object of `url`'s bytes, gunzipped when they are gzip (.nii.gz, .mgz),
    held to the decompression limit as they are read (a bomb is refused once past the limit)."""
    from neurodatahub.core import remote, storage
    from neurodatahub.core.codecs.gzip import GZIP_MAGIC, Paced, RatioLimited

    with storage.open_read(url, storage_options) as raw:
        head = raw.read(2)
        raw.seek(0)
        if head != GZIP_MAGIC:
            yield raw
            return
        source = raw if storage.is_local(url) else Paced(raw, remote.BLOCK)  # a header: one block
        inflated = gzip_ng.GzipFile(fileobj=source, mode="rb")
        limited = RatioLimited(inflated, source, url, "the gzip-compressed image")
        try:
            yield limited
        finally:
            limited.close()


@contextlib.contextmanager
def compressing(path: Any, compresslevel: int | None) -> Iterator[Any]:
    """`path` opened for writing, through gzip when a level is given (mtime 0: same bytes every run)."""
    with open(path, "wb") as out:
        if compresslevel is None:
            yield out
            return
        sink = gzip_ng.GzipFile(fileobj=out, mode="wb", compresslevel=compresslevel, mtime=0, filename="")
        with sink:
            yield sink


def write_slabs(sink: Any, plan: Plan, slabs: Iterable[np.ndarray], dtype: np.dtype) -> Iterator[np.ndarray]:
    """Append each slab in Fortran order as `dtype` (a few MiB at a time), checking it fits the plan; yields
    the slabs once written (a writer may look at them, a parcellation's labels)."""
    written = 0
    for slab in slabs:
        slab = np.asarray(slab)
        if slab.shape[:-1] != plan.shape[:-1] or written + slab.shape[-1] > plan.shape[-1]:
            raise InvalidDataError(
                f"a chunk of shape {slab.shape} does not fit an image of shape {plan.shape}"
            )
        for start, stop in slab_bounds(slab.shape, dtype, WRITE_BYTES):
            sink.write(np.asarray(slab[..., start:stop], dtype=dtype).tobytes(order="F"))
        written += slab.shape[-1]
        yield slab
        del slab  # not held while the next slab is read
    if written != plan.shape[-1]:
        raise InvalidDataError(
            f"the chunks hold {written} of the {plan.shape[-1]} slices the header announced"
        )


def stored_facts(hub: Mapping[str, Any]) -> dict[str, Any]:
    """The Volume fields a format that keeps the hub's own metadata (OME-Zarr, NRRD) reads back from it."""
    return {
        "intent_code": intent_codes().get(hub.get("intent") or "none", 0),
        "intent_parameters": tuple(hub.get("intent_parameters") or ()),
        "repetition_time": hub.get("repetition_time"),
        "description": hub.get("description"),
        "stored": dict(hub),
    }


def chunk_bytes() -> int:
    """Bytes of voxels per streamed chunk: NEURODATAHUB_IMAGE_CHUNK_BYTES when set, else 32 MiB."""
    return environment.number(CHUNK_BYTES_VARIABLE, DEFAULT_CHUNK_BYTES, whole=True, minimum=1, unit="bytes")


def slab_bounds(
    shape: tuple[int, ...], dtype: np.dtype, size: int | None = None
) -> Iterator[tuple[int, int]]:
    """(start, stop) along the last axis, slabs of about `size` bytes (`chunk_bytes()`), at least one."""
    per_index = int(np.prod(shape[:-1])) * np.dtype(dtype).itemsize
    step = max(1, (size or chunk_bytes()) // max(per_index, 1))
    for start in range(0, shape[-1], step):
        yield start, min(start + step, shape[-1])


def final_name(path: Any) -> str:
    """The name a file being written will have: storage stages local writes as `.<tag>.partial.NAME`."""
    name = path.name
    if name.startswith(".") and ".partial." in name:
        return name.split(".partial.", 1)[1]
    return name


def stem_of(url: str, extensions: Iterable[str]) -> str:
    name = name_of(url)
    for extension in sorted(extensions, key=len, reverse=True):
        if name.lower().endswith(extension):
            return name[: -len(extension)]
    return name


def _intent(volume: Volume) -> dict[str, Any]:
    name = intent_names().get(volume.intent_code)
    return {
        "intent": name if name not in (None, "none") else None,
        "intent_parameters": np.asarray(volume.intent_parameters, dtype=np.float64)
        if name not in (None, "none") and any(volume.intent_parameters)
        else None,
    }


def _labels(url: str, data: np.ndarray) -> np.ndarray:
    """Integer labels; a float image is accepted when every value is a whole number."""
    if data.dtype.kind in "iu":
        return data
    if not np.isfinite(data).all() or not np.array_equal(data, np.round(data)):
        raise InvalidDataError(
            f"{url}: a parcellation holds integer labels, this image holds fractions or NaN"
        )
    return data.astype(np.int32)


def _lut(
    url: str, extensions: Iterable[str], volume: Volume, options: Mapping[str, Any], storage: Any
) -> Any:
    """The lookup table: the one named (`lut=`), the one the file keeps, or a BIDS dseg.tsv beside it."""
    from neurodatahub.core import storage as store
    from neurodatahub.core.imaging.lut import read_lut
    from neurodatahub.core.models import AtlasLUT

    entities = split_name(name_of(url))[0]
    atlas = entities.get("atlas") or entities.get("seg") or stem_of(url, extensions)
    if options.get("lut"):
        return read_lut(options["lut"], atlas, storage)
    if volume.stored.get("lut"):
        return AtlasLUT.model_validate(volume.stored["lut"])
    beside = url[: len(url) - len(name_of(url))] + stem_of(url, extensions) + ".tsv"
    return read_lut(beside, atlas, storage) if store.exists(beside, storage) else None


def model_fields(
    url: str,
    volume: Volume,
    class_name: str,
    extensions: Iterable[str],
    options: Mapping[str, Any],
    storage_options: Any = None,
) -> dict[str, Any]:
    """Every field but `data` of a model of `class_name` read from `volume` (space settled as lacuna does)."""
    for option, owner in (("lut", "Parcellation"), ("name", "VoxelMap")):
        if options.get(option) is not None and class_name != owner:
            raise UsageError(f"option {option} applies to {owner} images, {url} is read as {class_name}")
    stored = volume.stored
    finite_affine(volume.affine, url)
    sidecar = read_sidecar(url, storage_options) if is_nifti_name(url) else {}
    space, resolution = settle_grid(
        url,
        volume.shape[:3],
        volume.affine,
        space=options.get("space"),
        resolution=options.get("resolution"),
        metadata={"space": stored.get("space"), "resolution": stored.get("resolution")},
        sidecar=sidecar,
        require_space=False,
    )
    fields: dict[str, Any] = {
        "affine": volume.affine,
        "space": space,
        "resolution": resolution,
        "voxel_sizes": grid_voxel_sizes(volume.affine),
        "description": volume.description or stored.get("description"),
        "metadata": stored.get("metadata"),
        **_intent(volume),
    }
    if class_name == "VoxelMap":
        entities, suffix, _ = split_name(name_of(url))
        fields["name"] = (
            options.get("name")
            or stored.get("name")
            or entities.get("desc")
            or suffix
            or stem_of(url, extensions)
        )
    elif class_name == "Parcellation":
        fields["lut"] = _lut(url, extensions, volume, options, storage_options)
    elif class_name == "ImageSeries":
        repetition = volume.repetition_time or sidecar.get("RepetitionTime") or stored.get("repetition_time")
        fields["repetition_time"] = float(repetition) if repetition else None
        fields["volume_count"] = volume.shape[3] if len(volume.shape) == 4 else None
    return fields


def shaped(url: str, data: np.ndarray, class_name: str) -> np.ndarray:
    """A 3D class takes a 4D image of one volume as 3D; anything else it refuses with the reason."""
    if class_name in THREE_D_CLASSES and data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if class_name == "Parcellation":
        data = _labels(url, data)
    return data


def build(
    url: str,
    volume: Volume,
    class_name: str,
    extensions: Iterable[str],
    options: Mapping[str, Any],
    storage_options: Any = None,
) -> Any:
    """The whole image as a validated model of `class_name`."""
    from neurodatahub.core.models import model_class

    if len(volume.shape) not in (3, 4):
        raise InvalidDataError(
            f"{url}: images have 3 or 4 dimensions, this one has shape {list(volume.shape)}"
        )
    fields = model_fields(url, volume, class_name, extensions, options, storage_options)
    data = shaped(url, volume.values(url, 0, volume.shape[-1]), class_name)
    return model_class(class_name)(data=data, **fields)


def describe(
    url: str,
    volume: Volume,
    class_name: str,
    extensions: Iterable[str],
    options: Mapping[str, Any],
    storage_options: Any = None,
) -> dict[str, Any]:
    """The header's facts as `hub info` prints them: no voxel is read, so no voxel counts or values
    (`hub validate` reads them all)."""
    from neurodatahub.core.imaging.spaces import voxel_sizes

    fields = model_fields(url, volume, class_name, extensions, options, storage_options)
    summary = {
        "class": class_name,
        "shape": list(volume.shape),
        "dtype": str(np.dtype(volume.dtype)),
        "space": fields["space"],
        "resolution_mm": fields["resolution"],
        "voxel_sizes_mm": [round(float(size), 4) for size in voxel_sizes(volume.affine)],
        "affine": np.round(volume.affine, 6).tolist(),
        "intent": fields["intent"],
    }
    for name in ("name", "repetition_time", "volume_count", "description"):
        if fields.get(name) is not None:
            summary[name] = fields[name]
    if fields.get("lut") is not None:
        summary.update(atlas_name=fields["lut"].atlas_name, lut_regions=len(fields["lut"].regions))
    return summary


def series_stream(
    url: str,
    volume: Volume,
    extensions: Iterable[str],
    options: Mapping[str, Any],
    storage_options: Any = None,
) -> streaming.Stream:
    """A 4D series as a header (no volumes) and chunks of consecutive volumes, each validated."""
    from neurodatahub.core.models import ImageSeries

    if len(volume.shape) != 4:
        raise InvalidDataError(f"{url}: a series is 4D, this image has shape {list(volume.shape)}")
    fields = model_fields(url, volume, "ImageSeries", extensions, options, storage_options)
    header = ImageSeries(data=np.zeros((*volume.shape[:3], 0), dtype=volume.dtype), **fields)

    def chunks() -> Iterator[Any]:
        for start, stop in slab_bounds(volume.shape, volume.dtype):
            yield ImageSeries(data=volume.values(url, start, stop), affine=volume.affine)

    return streaming.Stream(header, chunks())


def plan_of(model: Any) -> Plan:
    """How to lay out a file for `model` (a whole image, or the header of a streamed series)."""
    name = type(model).__name__
    shape = tuple(int(size) for size in model.data.shape)
    if name == "ImageSeries" and model.volume_count is not None and shape[3] == 0:
        shape = (*shape[:3], int(model.volume_count))
    intent = getattr(model.intent, "value", model.intent)
    stored: dict[str, Any] = {
        "class": name,
        "space": getattr(model.space, "value", model.space),
        "resolution": model.resolution,
        "description": model.description,
        "metadata": model.metadata,
        "name": getattr(model, "name", None),
        "repetition_time": getattr(model, "repetition_time", None),
        "lut": model.lut.model_dump(mode="json", exclude_none=True) if getattr(model, "lut", None) else None,
    }
    return Plan(
        class_name=name,
        shape=shape,
        dtype=np.dtype(model.data.dtype),
        affine=np.asarray(model.affine, dtype=np.float64),
        intent_code=intent_codes().get(intent or "none", 0),
        intent_parameters=()
        if model.intent_parameters is None
        else tuple(float(value) for value in model.intent_parameters),
        repetition_time=getattr(model, "repetition_time", None),
        description=model.description,
        stored={key: value for key, value in stored.items() if value is not None},
    )


def class_for(kind: str, class_name: str | None) -> str:
    """The class a reader of `kind` returns: the one asked for, else the kind's pivot."""
    return checked_class(class_name) if class_name else kinds.pivot_class(kind) or ""


AFFINE_TOLERANCE_MM = 1e-4  # headers keep affines in float32


def require_same(model: Any, back: Any, where: str) -> None:
    """`back` (a file just written, read again) holds the voxels and the grid of `model`."""
    from neurodatahub.core.errors import OutputError

    # a format without the model's value type stores the nearest one (a declared loss): compare in that
    expected = np.asarray(model.data)
    if expected.dtype != back.data.dtype and back.data.dtype.kind == "f":
        expected = expected.astype(back.data.dtype)
    if expected.shape != back.data.shape or not np.array_equal(expected, back.data, equal_nan=True):
        raise OutputError(f"{where}: the voxels read back differ from those written")
    if not np.allclose(model.affine, back.affine, rtol=0, atol=AFFINE_TOLERANCE_MM):
        raise OutputError(f"{where}: the affine reads back as {np.round(back.affine, 4).tolist()}")
