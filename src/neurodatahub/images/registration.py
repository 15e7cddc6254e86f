"""One volume format (NIfTI, MGH, NRRD, OME-Zarr) registered for every image kind.

Each image class is the pivot of its own kind (lesion masks, scalar maps, parcellations, series, plain
volumes), so a format is registered once per kind, with the same reader and writer. Its sniffer says yes
for the kind the file's class belongs to (`classify`: suffix, then header), so detection picks one kind
per file; `--class` picks another (`registry.input_format(..., class_name=...)`). Series stream: they are
read and written a chunk of volumes at a time (`volumes.series_stream`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from neurodatahub.core import storage, streaming
from neurodatahub.core.options import Options, Positive, choice
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.images import classify, volumes

SERIES_KIND = "image-series"
# a file whose content tells nothing (truncated, damaged) is taken by its extension as the lesion mask every
# NIfTI was before images had kinds; its reader then says what is wrong with it
FALLBACK_KIND = "lesion-mask"
CACHED_PROBES = 64


class ReadOptions(Options):
    class_name: Literal[classify.image_classes()] | None = Field(  # type: ignore[valid-type]
        None, description="image class, instead of the one the name or the header says"
    )
    space: choice("CoordinateSpace") | None = Field(
        None, description="coordinate space, when nothing else says it"
    )
    resolution: Positive | None = Field(None, description="voxel size in mm")
    lut: str | None = Field(None, description="lookup table of a parcellation (TSV, FreeSurfer text, JSON)")
    name: str | None = Field(None, description="name of a scalar map (default: desc entity or suffix)")


Sniffer = Callable[[Probe], "classify.HeaderFacts | None"]


def _cached(head_facts: Sniffer) -> Callable[[str, bytes, Any], Any]:
    """Header facts per (url, first bytes): every image kind asks the same question of the same probe."""

    @functools.lru_cache(maxsize=CACHED_PROBES)
    def facts(url: str, head: bytes, key: _Key) -> Any:
        return head_facts(key.probe)

    return facts


class _Key:
    """A probe that hashes by its URL only (storage options are dicts), for the cache above."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    def __hash__(self) -> int:
        return hash(self.probe.url)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and other.probe.url == self.probe.url


def register_volume_format(
    *,
    name: str,
    description: str,
    extensions: tuple[str, ...],
    head_facts: Sniffer,
    open_volume: volumes.OpenVolume,
    write_volume: volumes.WriteVolume,
    write_options: type[Options] | None = None,
    cannot_store: Callable[[str], tuple[str, ...]] = lambda kind: (),
    losses: Callable[..., list] | None = None,
    sidecars: Callable[[str], Callable[[str], tuple[str, ...]] | None] = lambda kind: None,
    directory: bool = False,
    streams: bool = True,
) -> list[FormatSpec]:
    """Register `name` for each image kind; functions keep the format module's name (the format index
    attributes a format to the module that defines it)."""
    cached = _cached(head_facts)
    specs = []
    for kind in classify.image_kinds():

        def sniff(probe: Probe, kind: str = kind) -> bool:
            facts = head_facts(probe) if probe.is_dir else cached(probe.url, probe.head, _Key(probe))
            return facts is not None and classify.kind_of(classify.image_class(probe.url, facts)) == kind

        def read(url: str, *, storage_options: Any = None, kind: str = kind, **options: Any) -> Any:
            class_name = volumes.class_for(kind, options.pop("class_name", None))
            with open_volume(url, storage_options) as volume:
                return volumes.build(url, volume, class_name, extensions, options, storage_options)

        def write(model: Any, path: Path, **options: Any) -> None:
            write_volume(path, volumes.plan_of(model), [model.data], **options)

        def verify(model: Any, path: Path, kind: str = kind, **options: Any) -> None:
            """Voxels equal and the affine within float32 rounding (a parcellation written without a table
            gains one from its labels, so summaries would differ where the data does not)."""
            with open_volume(str(path)) as volume:
                back = volumes.build(str(path), volume, type(model).__name__, extensions, {})
            volumes.require_same(model, back, str(path))

        def describe(
            url: str, *, storage_options: Any = None, kind: str = kind, **options: Any
        ) -> dict | None:
            """What `hub info` prints from the header alone: a 2 GB series, or any image on remote storage
            (its bytes are billed), is described in a few reads. None for a local 3D image: read whole, it
            gives richer numbers (voxel counts, values) at little cost."""
            if kind != SERIES_KIND and storage.is_local(url):
                return None
            class_name = volumes.class_for(kind, options.pop("class_name", None))
            with open_volume(url, storage_options) as volume:
                return volumes.describe(url, volume, class_name, extensions, options, storage_options)

        functools.update_wrapper(sniff, head_facts)
        for function in (read, write, verify, describe):
            function.__module__ = head_facts.__module__
        series = kind == SERIES_KIND and streams
        specs.append(
            register_format(
                FormatSpec(
                    name=name,
                    kind=kind,
                    description=description,
                    extensions=extensions,
                    read=None if series else read,
                    write=None if series else write,
                    verify=verify,
                    read_stream=_read_stream(open_volume, extensions, head_facts.__module__)
                    if series
                    else None,
                    write_stream=_write_stream(write_volume, head_facts.__module__) if series else None,
                    sniff=sniff,
                    describe=describe,
                    read_options=ReadOptions,
                    write_options=write_options,
                    cannot_store=cannot_store(kind),
                    losses=losses,
                    sidecars=sidecars(kind),
                    directory=directory,
                    claims_extension=kind == FALLBACK_KIND,
                )
            )
        )
    return specs


def _read_stream(open_volume: volumes.OpenVolume, extensions: tuple[str, ...], module: str) -> Callable:
    @contextlib.contextmanager
    def read_stream(url: str, *, storage_options: Any = None, **options: Any) -> Iterator[streaming.Stream]:
        class_name = volumes.class_for(SERIES_KIND, options.pop("class_name", None))
        if class_name != "ImageSeries":
            from neurodatahub.core.errors import UsageError

            raise UsageError(f"{url}: a series is read as ImageSeries, not {class_name}")
        with open_volume(url, storage_options) as volume:
            yield volumes.series_stream(url, volume, extensions, options, storage_options)

    read_stream.__module__ = module
    return read_stream


def _write_stream(write_volume: volumes.WriteVolume, module: str) -> Callable:
    def write_stream(stream: streaming.Stream, path: Path, **options: Any) -> None:
        write_volume(path, volumes.plan_of(stream.header), (chunk.data for chunk in stream.chunks), **options)

    write_stream.__module__ = module
    return write_stream
