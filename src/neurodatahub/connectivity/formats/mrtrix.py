"""MRtrix tck2connectome matrices: a headerless comma-separated N x N CSV plus qsiparc's JSON sidecar.

Older tck2connectome releases wrote the values separated by spaces, with a space after the last one;
they are read as MRtrix reads matrices, split on commas or else on whitespace (written with commas).

The sidecar is `<stem>.json` beside the CSV with `atlas_name`, `measure`, `n_regions`, `region_labels`
and `symmetric` (qsiparc also writes `source_tck`, `source_dseg`, `sift_weights`, `tck2connectome_cmd`).
The format is both files:
- reading takes labels, atlas, measure and the symmetric flag from the sidecar, `description` from a key
  of that name, and every other key into `metadata`, so nothing qsiparc wrote is dropped. Without a
  sidecar (a bare tck2connectome output) the labels are the MRtrix node indices "1".."N", nothing else
  is known, and a warning says so. A sidecar whose `n_regions` disagrees with the CSV is an error.
- writing puts the values in the CSV (exact by default: `%r`; `float_format` to round) and the rest in
  the sidecar: qsiparc's five keys (`symmetric` is null when undeclared), `description` when set, and
  the metadata keys at the top level as qsiparc's extra keys are. Metadata that is not a mapping, or
  whose keys are the sidecar's own, has no place: a declared loss.
MRtrix writes "# key: value" lines above the matrix (mrtrix_version, command_history): they are read
into `metadata["mrtrix_header"]` (a list of the lines, without "# ") and written back above the values.
Conversions place the sidecar first and the CSV last (conversion.py, FormatSpec.sidecars).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from neurodatahub.connectivity import common
from neurodatahub.core import storage
from neurodatahub.core.codecs.metadata import optional_text, to_json
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.options import FloatFormat, Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format

if TYPE_CHECKING:
    from neurodatahub.core.models import ConnectivityMatrix

HEADER_KEY = "mrtrix_header"
SIDECAR_KEYS = ("atlas_name", "measure", "n_regions", "region_labels", "symmetric")
RESERVED_KEYS = (*SIDECAR_KEYS, "description")


class ExactWriteOptions(Options):
    float_format: FloatFormat = Field(
        common.EXACT,
        description="printf format of the values, e.g. %.6f (default %r: the shortest exact text)",
    )


def sidecar_of(url: str) -> str:
    """`<stem>.json` beside the CSV: the extension after the last dot of the name is replaced."""
    head, _, name = url.rstrip("/").rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{head}/{stem}.json" if head else f"{stem}.json"


def sidecars(url: str) -> tuple[str, ...]:
    sidecar = sidecar_of(url)
    if sidecar == url.rstrip("/"):
        raise UsageError(f"{url}: an MRtrix matrix needs a name other than its sidecar's (use .csv)")
    return (sidecar,)


def _load_sidecar(url: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any] | None:
    sidecar = sidecar_of(url)
    if sidecar == url or not storage.exists(sidecar, storage_options):
        return None
    with storage.open_read(sidecar, storage_options) as handle:
        try:
            data = json.loads(handle.read().decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as error:
            raise InputError(f"{sidecar}: the matrix's sidecar is not JSON ({error})") from error
    if not isinstance(data, dict):
        raise InputError(f"{sidecar}: the matrix's sidecar must be a JSON object")
    return data


def _fields(sidecar: dict[str, Any], n_rows: int, url: str) -> tuple[list[str], dict[str, Any]]:
    where = sidecar_of(url)
    n_regions = sidecar.get("n_regions")
    if n_regions is not None and n_regions != n_rows:
        raise InputError(f"{where} says n_regions {n_regions} but {url} has {n_rows} rows (truncated?)")
    labels = sidecar.get("region_labels")
    if labels is None:
        labels = common.default_labels(n_rows, first=1)
    elif not isinstance(labels, list):
        raise InputError(f"{where}: region_labels must be a list")
    symmetric = sidecar.get("symmetric")
    if symmetric is not None and not isinstance(symmetric, bool):
        raise InputError(f"{where}: symmetric must be true, false or null, got {symmetric!r}")
    extra = {key: value for key, value in sidecar.items() if key not in RESERVED_KEYS}
    fields = {
        "atlas": optional_text(sidecar.get("atlas_name")),
        "measure": optional_text(sidecar.get("measure")),
        "symmetric": symmetric,
        "description": optional_text(sidecar.get("description")),
        "metadata": extra or None,
    }
    return [str(label) for label in labels], fields


def _comments(data: bytes) -> tuple[list[str], int]:
    """MRtrix's "# ..." lines at the top of the file, and where the values start."""
    lines, offset = [], 0
    while data.startswith(b"#", offset):
        end = data.find(b"\n", offset)
        end = len(data) if end < 0 else end
        line = data[offset + 1 : end].decode("utf-8", "replace").rstrip("\r")
        lines.append(line.removeprefix(" "))
        offset = end + 1
    return lines, offset


def _cells(line: str) -> list[str]:
    """A line's values as MRtrix reads them: split on commas, or on whitespace when there is no comma
    (tck2connectome wrote spaces, one after the last value too, before it wrote commas)."""
    return line.split(",") if "," in line else line.split()


def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> ConnectivityMatrix:
    with storage.open_read(url, storage_options) as handle:
        data = handle.read().removeprefix(b"\xef\xbb\xbf")
    header, start = _comments(data)
    lines = common.decode_lines(data[start:], url)
    if "," not in lines[0]:  # whitespace-delimited: one space between values, none at the ends
        lines = [" ".join(line.split()) for line in lines]
    delimiter = "," if "," in lines[0] else " "
    common.rectangular(lines, delimiter, url, len(header) + 1)
    values = common.parse_block(lines, delimiter, url, len(header) + 1, 1)
    sidecar = _load_sidecar(url, storage_options)
    if sidecar is None:
        warnings.warn(
            f"{url}: no sidecar {sidecar_of(url)}; region labels are the MRtrix node indices 1..N",
            stacklevel=2,
        )
        sidecar = {}
    labels, fields = _fields(sidecar, len(values), url)
    if header:
        fields["metadata"] = {**(fields["metadata"] or {}), HEADER_KEY: header}
    return common.build(values, labels, **fields)


def _header_lines(conn: ConnectivityMatrix) -> list[str] | None:
    """metadata["mrtrix_header"] when it can be written as comment lines: a non-empty list of one-line texts
    (anything else stays a sidecar key like the rest of the metadata)."""
    lines = conn.metadata.get(HEADER_KEY) if isinstance(conn.metadata, dict) else None
    if (
        isinstance(lines, list)
        and lines
        and all(isinstance(line, str) and "\n" not in line and "\r" not in line for line in lines)
    ):
        return lines
    return None


def _storable_metadata(conn: ConnectivityMatrix) -> dict[str, Any]:
    metadata = conn.metadata
    if not isinstance(metadata, dict):
        return {}
    skipped = {*RESERVED_KEYS, *([HEADER_KEY] if _header_lines(conn) is not None else [])}
    return {str(key): value for key, value in metadata.items() if str(key) not in skipped}


def write(conn: ConnectivityMatrix, path: Path, *, float_format: str = common.EXACT) -> None:
    rows = common.format_rows(conn.matrix, float_format, ",")
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(f"# {line}\n" for line in _header_lines(conn) or ())
        handle.writelines(f"{row}\n" for row in rows)
    sidecar: dict[str, Any] = {
        "atlas_name": conn.atlas,
        "measure": conn.measure,
        "n_regions": len(conn.region_labels),
        "region_labels": list(conn.region_labels),
        "symmetric": conn.symmetric,
    }
    if conn.description is not None:
        sidecar["description"] = conn.description
    sidecar.update(_storable_metadata(conn))
    text = json.dumps(json.loads(to_json(sidecar)), indent=2, ensure_ascii=False)
    Path(sidecar_of(str(path))).write_text(text + "\n", encoding="utf-8")


def losses(conn: ConnectivityMatrix, *, float_format: str = common.EXACT) -> list[Any]:
    from neurodatahub.core.models import Loss

    found = common.rounding_loss(conn.matrix, float_format)
    metadata = conn.metadata
    if metadata is not None and not isinstance(metadata, dict):
        found.append(Loss(field="metadata", reason="the sidecar keeps metadata only as a mapping"))
    elif metadata:
        clashing = sorted(str(key) for key in metadata if str(key) in RESERVED_KEYS)
        if clashing:
            found.append(
                Loss(
                    field="metadata",
                    reason=f"keys {', '.join(clashing)} are the sidecar's own",
                    count=len(clashing),
                )
            )
    return found


def sniff(probe: Probe) -> bool:
    """A first line of numbers separated by commas or whitespace (no header, no labels), after MRtrix's
    comment lines."""
    head = probe.head.removeprefix(b"\xef\xbb\xbf")
    _, start = _comments(head)
    line, newline, _ = head[start:].decode("utf-8", "replace").partition("\n")
    cells = _cells(line.removesuffix("\r"))
    if not newline and len(probe.head) >= common.PROBE_SIZE:
        cells = cells[:-1]  # the probe cut the line: its last value may be cut too
    return bool(cells) and all(map(common.is_number, cells))


register_format(
    FormatSpec(
        name="csv",
        kind=common.KIND,
        description="MRtrix tck2connectome N x N CSV (no header) with qsiparc's JSON sidecar <stem>.json",
        extensions=(".csv",),
        read=read,
        write=write,
        sniff=sniff,
        write_options=ExactWriteOptions,
        cannot_store=("metadata that is no mapping or uses the sidecar's own keys",),
        losses=losses,
        claims_extension=False,  # spike and region tables own .csv; a matrix is known by its numbers
        sidecars=sidecars,
    )
)
