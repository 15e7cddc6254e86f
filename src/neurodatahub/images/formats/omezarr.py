"""OME-Zarr (OME-NGFF 0.4, zarr format 2) folders for every image kind: chunked and compressed, so a
reader fetches only the chunks it needs (one volume of a series on S3 is one row of chunks).

Layout: a group whose `multiscales` metadata names one dataset, array `0`, with axes (t,) z, y, x in
millimetres (and seconds): the image's (i, j, k[, t]) voxels reversed into C order, each chunk at most
`chunk_size` voxels along a spatial axis and one volume along t, compressed with Blosc (zstd, bit
shuffle). The NGFF coordinate transformations hold the voxel sizes (and repetition time) as `scale` and
the world position of the first voxel as `translation`; NGFF cannot express a rotation or a flip, so the
full 4x4 affine is kept under the group's `neurodatahub` attributes with the intent, the class and
what the class adds (a scalar map's name, a parcellation's lookup table, space, description, metadata).
Files written by other tools (ome-zarr-py) are read from their transformations, with a `c` axis of one
channel dropped.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError, InvalidDataError
from neurodatahub.core.imaging.spaces import voxel_sizes
from neurodatahub.core.options import Options
from neurodatahub.core.registry import Probe
from neurodatahub.images import classify, volumes
from neurodatahub.images.registration import register_volume_format

EXTENSIONS = (".ome.zarr", ".zarr")
NGFF_VERSION = "0.4"
HUB_KEY = "neurodatahub"
ARRAY = "0"
SPATIAL = ("z", "y", "x")


def _json(url: str, name: str, storage_options: Any = None) -> Any:
    with storage.open_read(storage.join(url, name), storage_options) as handle:
        return json.loads(handle.read().decode("utf-8"))


def _layout(url: str, storage_options: Any = None) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The group's attributes, the first dataset's array metadata and the axis names (t, c, z, y, x)."""
    attributes = _json(url, ".zattrs", storage_options)
    multiscales = attributes.get("multiscales") if isinstance(attributes, dict) else None
    if not multiscales:
        raise InputError(f"{url}: a zarr group without OME-NGFF multiscales metadata")
    first = multiscales[0]
    path = first["datasets"][0]["path"]
    array = _json(url, f"{path}/.zarray", storage_options)
    axes = [axis["name"] if isinstance(axis, dict) else str(axis) for axis in first.get("axes", SPATIAL)]
    return attributes, array, axes


def head_facts(probe: Probe) -> classify.HeaderFacts | None:
    """Shape (i, j, k[, t]), type and intent from the group's metadata; None for anything else."""
    if not probe.is_dir or ".zattrs" not in probe.names:
        return None
    try:
        attributes, array, axes = _layout(probe.url, probe.storage_options)
        shape = _image_shape(array["shape"], axes, probe.url)
    except (InputError, KeyError, IndexError, TypeError, ValueError):
        return None
    hub = attributes.get(HUB_KEY, {})
    intent = classify.intent_codes().get(hub.get("intent") or "none", 0)
    return classify.HeaderFacts(shape, intent, hub.get("class"))


def _image_shape(shape: list[int], axes: list[str], url: str) -> tuple[int, ...]:
    sizes = dict(zip(axes, shape, strict=True))
    unknown = set(axes) - {"t", "c", *SPATIAL}
    if unknown or not set(SPATIAL) <= set(axes) or sizes.get("c", 1) != 1:
        raise InputError(f"{url}: axes {axes} with shape {shape} are not an image of (t,) z, y, x")
    spatial = (sizes["x"], sizes["y"], sizes["z"])
    return (*spatial, sizes["t"]) if "t" in axes else spatial


def _open_group(url: str, storage_options: Any) -> Any:
    import zarr

    if storage.is_local(url):
        return zarr.open_group(str(storage.local_path(url)), mode="r")
    fs, path = storage.filesystem(url, storage_options)
    return zarr.open_group(zarr.storage.FSStore(path, fs=fs, mode="r"), mode="r")


def _affine(attributes: dict[str, Any], axes: list[str]) -> np.ndarray:
    """The full affine the hub keeps, else NGFF's scale and translation of x, y, z."""
    hub = attributes.get(HUB_KEY, {})
    if "affine" in hub:
        return np.asarray(hub["affine"], dtype=np.float64)
    scale, translation = np.ones(len(axes)), np.zeros(len(axes))
    for transform in attributes["multiscales"][0]["datasets"][0].get("coordinateTransformations", []):
        if transform.get("type") == "scale":
            scale = np.asarray(transform["scale"], dtype=np.float64)
        elif transform.get("type") == "translation":
            translation = np.asarray(transform["translation"], dtype=np.float64)
    where = [axes.index(name) for name in ("x", "y", "z")]
    affine = np.diag([*scale[where], 1.0])
    affine[:3, 3] = translation[where]
    return affine


@contextlib.contextmanager
def open_volume(url: str, storage_options: Any = None) -> Iterator[volumes.Volume]:
    try:
        attributes, _, axes = _layout(url, storage_options)
        group = _open_group(url, storage_options)
        array = group[attributes["multiscales"][0]["datasets"][0]["path"]]
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise InputError(f"{url}: not a readable OME-Zarr image ({error})") from error
    shape = _image_shape(list(array.shape), axes, url)
    order = [axes.index(name) for name in (("t",) if len(shape) == 4 else ()) + SPATIAL]
    squeeze = tuple(index for index, name in enumerate(axes) if name not in ("t", *SPATIAL))

    def read(start: int, stop: int) -> np.ndarray:
        # the last image axis (t, or z of a volume) is the first stored axis among those kept
        selection = [slice(None)] * len(axes)
        selection[order[0]] = slice(start, stop)
        try:
            block = np.asarray(array[tuple(selection)])
        except (OSError, ValueError, RuntimeError) as error:
            raise InputError(f"{url}: a chunk of the OME-Zarr image cannot be read ({error})") from error
        block = block.squeeze(axis=squeeze) if squeeze else block
        kept = [name for name in axes if name in ("t", *SPATIAL)]
        return np.transpose(block, [kept.index(name) for name in ("x", "y", "z", "t") if name in kept])

    hub = attributes.get(HUB_KEY, {})
    yield volumes.Volume(
        shape=shape,
        dtype=np.dtype(array.dtype),
        affine=_affine(attributes, axes),
        read=read,
        **volumes.stored_facts(hub),
    )


class WriteOptions(Options):
    chunk_size: Annotated[int, Field(ge=8, le=1024)] = Field(
        64, description="voxels per chunk along each spatial axis (one volume along t)"
    )
    compression_level: Annotated[int, Field(ge=0, le=9)] = Field(5, description="zstd level 0-9")


def _multiscales(plan: volumes.Plan, name: str) -> dict[str, Any]:
    sizes = voxel_sizes(plan.affine)
    scale = [float(sizes[2]), float(sizes[1]), float(sizes[0])]
    translation = [float(value) for value in plan.affine[2::-1, 3]]
    axes = [{"name": axis, "type": "space", "unit": "millimeter"} for axis in SPATIAL]
    if len(plan.shape) == 4:
        axes.insert(0, {"name": "t", "type": "time", "unit": "second"})
        scale.insert(0, float(plan.repetition_time or 1.0))
        translation.insert(0, 0.0)
    return {
        "version": NGFF_VERSION,
        "name": name,
        "axes": axes,
        "datasets": [
            {
                "path": ARRAY,
                "coordinateTransformations": [
                    {"type": "scale", "scale": scale},
                    {"type": "translation", "translation": translation},
                ],
            }
        ],
    }


def write_volume(
    path: Path,
    plan: volumes.Plan,
    slabs: Iterable[np.ndarray],
    *,
    chunk_size: int = 64,
    compression_level: int = 5,
) -> None:
    import zarr
    from numcodecs import Blosc

    name = volumes.stem_of(volumes.final_name(path), EXTENSIONS)
    stored_shape = plan.shape[::-1]  # (t,) z, y, x
    chunks = tuple(min(size, chunk_size) for size in stored_shape)
    if len(plan.shape) == 4:
        chunks = (1, *chunks[1:])
    group = zarr.open_group(str(path), mode="w")
    array = group.create_dataset(
        ARRAY,
        shape=stored_shape,
        chunks=chunks,
        dtype=plan.dtype.newbyteorder("<"),
        compressor=Blosc(cname="zstd", clevel=compression_level, shuffle=Blosc.BITSHUFFLE),
        dimension_separator="/",
        fill_value=0,
        write_empty_chunks=False,
    )
    written = 0
    for slab in slabs:
        slab = np.asarray(slab)
        if slab.shape[:-1] != plan.shape[:-1] or written + slab.shape[-1] > plan.shape[-1]:
            raise InvalidDataError(
                f"a chunk of shape {slab.shape} does not fit an image of shape {plan.shape}"
            )
        array[written : written + slab.shape[-1]] = np.transpose(slab)
        written += slab.shape[-1]
    if written != plan.shape[-1]:
        raise InvalidDataError(
            f"the chunks hold {written} of the {plan.shape[-1]} slices the header announced"
        )
    hub = {
        **plan.stored,
        "affine": plan.affine.tolist(),
        "intent": classify.intent_names().get(plan.intent_code, "none"),
        "intent_parameters": list(plan.intent_parameters),
    }
    group.attrs.update({"multiscales": [_multiscales(plan, name)], HUB_KEY: hub})


def losses(model: Any, **options: Any) -> list[Any]:
    return []  # everything has a place in the group's attributes


SPECS = register_volume_format(
    name="ome-zarr",
    description="OME-Zarr (NGFF 0.4) folder: chunked, zstd-compressed; affine, intent, class and lookup "
    "table in its metadata; series streamed by volumes",
    extensions=EXTENSIONS,
    head_facts=head_facts,
    open_volume=open_volume,
    write_volume=write_volume,
    write_options=WriteOptions,
    losses=losses,
    directory=True,
)
