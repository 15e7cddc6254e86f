"""NRRD (`.nrrd`, attached data, raw or gzip encoding) for every image kind, through pynrrd.

The affine comes from `space directions` and `space origin`, turned from the file's `space` (LPS, as 3D
Slicer writes, or RAS) into RAS+; a non-spatial axis (`list`, `time`, `vector`...) becomes the last
axis, wherever it is stored (DWI files put it first). The hub writes RAS with a `neurodatahub:=` key
holding, as one line of JSON, what NRRD has no field for (class, intent, map name, lookup table, space,
description, metadata): nothing is lost. pynrrd reads and writes whole arrays, so an NRRD series is held
in memory (it is not streamed); detached data (`data file`) is refused, since it names other files.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError, InvalidDataError
from neurodatahub.core.options import Options
from neurodatahub.core.registry import Probe
from neurodatahub.images import classify, volumes
from neurodatahub.images.registration import register_volume_format

EXTENSIONS = (".nrrd",)
MAGIC = b"NRRD000"
HUB_KEY = "neurodatahub"
# sign that turns each axis of a NRRD space into RAS+
SPACES = {
    "right-anterior-superior": (1, 1, 1),
    "ras": (1, 1, 1),
    "left-posterior-superior": (-1, -1, 1),
    "lps": (-1, -1, 1),
    "left-anterior-superior": (-1, 1, 1),
    "las": (-1, 1, 1),
    "scanner-xyz": (1, 1, 1),
    "3d-right-handed": (1, 1, 1),
}


def _read_header(handle: Any, url: str) -> dict[str, Any]:
    import nrrd

    try:
        return dict(nrrd.read_header(handle))
    except (nrrd.NRRDError, ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{url}: not a readable NRRD header ({error})") from error


def _hub(header: dict[str, Any], url: str) -> dict[str, Any]:
    text = header.get(HUB_KEY)
    if not text:
        return {}
    try:
        found = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{url}: the {HUB_KEY} field is not JSON ({error})") from error
    return found if isinstance(found, dict) else {}


def _axes(header: dict[str, Any], url: str) -> tuple[list[int], list[int]]:
    """Indices of the spatial axes and of the others, from `space directions` (rows of NaN: not space)."""
    count = int(header["dimension"])
    directions = header.get("space directions")
    if directions is None:
        spatial = list(range(min(count, 3)))
    else:
        rows = np.asarray(directions, dtype=np.float64)
        spatial = [index for index in range(count) if np.isfinite(rows[index]).all()]
    others = [index for index in range(count) if index not in spatial]
    if len(spatial) != 3 or len(others) > 1:
        raise InputError(f"{url}: an image has 3 spatial axes and at most one other, found {count} axes")
    return spatial, others


def _affine(header: dict[str, Any], spatial: list[int], url: str) -> np.ndarray:
    affine = np.eye(4)
    directions = header.get("space directions")
    if directions is None:
        spacings = header.get("spacings")
        sizes = np.asarray(spacings, dtype=np.float64)[spatial] if spacings is not None else np.ones(3)
        affine[:3, :3] = np.diag(sizes)
    else:
        affine[:3, :3] = np.asarray(directions, dtype=np.float64)[spatial].T
    if header.get("space origin") is not None:
        affine[:3, 3] = np.asarray(header["space origin"], dtype=np.float64)
    space = str(header.get("space", "right-anterior-superior")).lower()
    if space not in SPACES:
        raise InputError(f"{url}: NRRD space {space!r} is not a 3D anatomical space the hub knows")
    return np.diag([*SPACES[space], 1.0]) @ affine


def head_facts(probe: Probe) -> classify.HeaderFacts | None:
    import io

    if probe.is_dir or not probe.head.startswith(MAGIC):
        return None
    try:
        header = _read_header(io.BytesIO(probe.head), probe.url)
        spatial, others = _axes(header, probe.url)
        hub = _hub(header, probe.url)
    except (InputError, KeyError, IndexError, ValueError):
        return None
    sizes = [int(size) for size in header["sizes"]]
    shape = tuple(sizes[index] for index in spatial + others)
    intent = classify.intent_codes().get(hub.get("intent") or "none", 0)
    return classify.HeaderFacts(shape, intent, hub.get("class"))


@contextlib.contextmanager
def open_volume(url: str, storage_options: Any = None) -> Iterator[volumes.Volume]:
    import nrrd

    with storage.open_read(url, storage_options) as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise InputError(f"{url}: not an NRRD file")
        handle.seek(0)
        header = _read_header(handle, url)
        if "data file" in header or "datafile" in header:
            raise InputError(f"{url}: detached NRRD data (data file) is not read: it names other files")
        spatial, others = _axes(header, url)
        try:
            data = nrrd.read_data(header, handle, None, index_order="F")
        except (nrrd.NRRDError, ValueError, EOFError, OSError) as error:
            raise InputError(
                f"{url}: the NRRD data cannot be read (truncated or damaged?): {error}"
            ) from error
    data = np.transpose(data, spatial + others)
    hub = _hub(header, url)
    yield volumes.Volume(
        shape=tuple(int(size) for size in data.shape),
        dtype=data.dtype,
        affine=_affine(header, spatial, url),
        read=lambda start, stop: data[..., start:stop],
        **volumes.stored_facts(hub),
    )


class WriteOptions(Options):
    encoding: Literal["gzip", "raw"] = Field("gzip", description="how the voxels are stored")


def write_volume(
    path: Path, plan: volumes.Plan, slabs: Iterable[np.ndarray], *, encoding: str = "gzip"
) -> None:
    import nrrd

    data = np.concatenate([np.asarray(slab) for slab in slabs], axis=-1)
    if data.shape != plan.shape:
        raise InvalidDataError(
            f"the chunks make an image of shape {data.shape}, the header says {plan.shape}"
        )
    directions = plan.affine[:3, :3].T
    if len(plan.shape) == 4:
        directions = np.vstack([directions, np.full(3, np.nan)])
    hub = {
        **plan.stored,
        "intent": classify.intent_names().get(plan.intent_code, "none"),
        "intent_parameters": list(plan.intent_parameters),
    }
    header = {
        "space": "right-anterior-superior",
        "space directions": directions,
        "space origin": plan.affine[:3, 3],
        "kinds": ["domain"] * 3 + (["list"] if len(plan.shape) == 4 else []),
        "encoding": encoding,
        "endian": "little",
        HUB_KEY: json.dumps(hub, separators=(",", ":")),
    }
    with open(path, "wb") as handle:
        nrrd.write(handle, data.astype(plan.dtype.newbyteorder("<"), copy=False), header, index_order="F")


def losses(model: Any, **options: Any) -> list[Any]:
    return []  # what NRRD has no field for rides in the neurodatahub key


SPECS = register_volume_format(
    name="nrrd",
    description="NRRD volume (pynrrd; attached raw or gzip data), RAS or LPS; the hub's facts in a "
    "neurodatahub key; read and written whole",
    extensions=EXTENSIONS,
    head_facts=head_facts,
    open_volume=open_volume,
    write_volume=write_volume,
    write_options=WriteOptions,
    losses=losses,
    streams=False,
)
