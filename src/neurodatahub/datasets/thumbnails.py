"""Small pictures of a dataset's files for the HTML report: `hub preview`'s picture at a low resolution.

Drawn once per content: a thumbnail is kept in the results cache under a key made like a result's (the
file's content digest, its name, its format, the hub's and the schema's versions), so a warm run draws
nothing (finding the digest reads no byte of an unchanged file). Bounded: streamed formats are read up to
SAMPLE_ROWS rows, and a file of a whole-file format larger than MAX_BYTES is not drawn (the report says
so; `hub preview FILE` draws it). A file that cannot be drawn gets a note saying why, kept like a picture.
Drawing runs on validation's execution layer (in this process for a few hundred files).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from neurodatahub.core.errors import HubError
from neurodatahub.datasets import running
from neurodatahub.datasets.cache import ResultCache, result_key
from neurodatahub.datasets.results import CHECKED, FileResult, Report

DPI = 40  # 440 x 260 pixels from preview's 11 x 6.5 inch figure: a few tens of kB per file
SAMPLE_ROWS = 200_000  # points, spikes, rows a thumbnail reads from a streamed file
MAX_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Thumbnail:
    png: bytes | None
    note: str = ""  # why there is no picture
    cached: bool = False

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png or b"").decode("ascii")


def thumbnails(report: Report) -> dict[str, Thumbnail]:
    """A thumbnail (or a note) for every file the run read as data, by URL; from the cache when known."""
    from neurodatahub.core import budget, references

    pictured = [result for result in report.files if wanted(result)]
    cache = ResultCache(report.cache_folder) if report.cache_folder is not None else None
    keys: dict[str, str] = {}
    found: dict[str, Thumbnail] = {}
    try:
        if cache is not None:
            for result in pictured:
                try:
                    digest = cache.digest(result.url, report.storage_options)
                except (HubError, OSError):
                    continue  # gone since it was validated: drawn (and failing) below, not remembered
                keys[result.url] = key = _key(digest, result.url, result.format, result.model_class)
                if result.thumbnail is not None:  # drawn where it was validated: remembered now
                    cache.put_thumbnail(key, *result.thumbnail)
                    continue
                stored = cache.thumbnail(key)
                if stored is not None:
                    found[result.url] = Thumbnail(*stored, cached=True)
        found.update(
            {result.url: Thumbnail(*result.thumbnail) for result in pictured if result.thumbnail is not None}
        )
        missing = [result for result in pictured if result.url not in found]
        for index, (png, note) in running.run(
            draw,
            [(result.url, result.format, result.model_class) for result in missing],
            shared={  # the safety limits in force here, for workers in other threads and processes
                "storage_options": report.storage_options,
                "allow_external": references.external_allowed(),
                "max_memory": budget.max_memory(),
            },
        ):
            url = missing[index].url
            found[url] = Thumbnail(png, note)
            if cache is not None and url in keys:
                cache.put_thumbnail(keys[url], png, note)
    finally:
        if cache is not None:
            cache.close()
    return found


def wanted(result: FileResult) -> bool:
    """Data of a kind gets a picture (BIDS sidecars and tables are metadata: none)."""
    from neurodatahub.core import kinds

    return result.status == CHECKED and result.kind in kinds.kind_names()


def _key(digest: str, url: str, format: str | None, class_name: str | None) -> str:
    settings = {"thumbnail": [format, class_name], "dpi": DPI, "rows": SAMPLE_ROWS, "max_bytes": MAX_BYTES}
    return result_key(digest, PurePosixPath(url).name, [], settings)


def draw(
    url: str,
    format: str | None,
    class_name: str | None,
    storage_options: Mapping[str, Any] | None = None,
    allow_external: bool | None = None,
    max_memory: int | None = None,
) -> tuple[bytes | None, str]:
    """PNG bytes of the file's thumbnail, or None and why (its data is invalid, its kind has no picture);
    read as validation read it (its format and class, under the same safety limits)."""
    from neurodatahub.core import budget, references

    with references.allowing(allow_external), budget.limited(max_memory):
        return _draw(url, format, class_name, storage_options)


def _draw(
    url: str, format: str | None, class_name: str | None, storage_options: Mapping[str, Any] | None
) -> tuple[bytes | None, str]:
    from neurodatahub.core import preview, registry, storage

    try:
        with storage.reading():  # sniffing and sampling share the fetched bytes
            spec = registry.input_format(url, format, storage_options)
            if spec.read_stream is None and storage.size_of(url, storage_options) > MAX_BYTES:
                return None, f"larger than {MAX_BYTES // 2**20} MB: `hub preview` draws it"
            hint = {"class_name": class_name} if class_name and spec.reads_option("class_name") else {}
            model, kind = preview.sample_file(
                url, format=spec.name, storage_options=storage_options, rows=SAMPLE_ROWS, **hint
            )
            return preview.png_bytes(preview.figure(model, source=url, kind=kind), DPI), ""
    except (HubError, OSError, ValueError) as error:  # ValueError: pydantic's, on data the schema rejects
        return None, "no picture: " + str(error).removeprefix(f"{url}: ").splitlines()[0]
