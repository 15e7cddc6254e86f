"""FreeSurfer label files (lh.cortex.label, lh.BA1_exvivo.label): one region as a list of vertices.

Text: a comment line (`#!ascii label  , from subject bert vox2ras=TkReg`), the vertex count, then one
line per vertex: number, x, y, z (mm), value. nibabel reads them (`read_label`) but has no writer, so the
hub writes them itself, as FreeSurfer's LabelWrite does (`%d  %.3f  %.3f  %.3f %.10f`): coordinates
keep three decimals (a declared loss when they have more). The subject is taken from the comment line;
the hemisphere from the lh./rh. prefix of the file name; other metadata has no place.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.surfaces import labels as common
from neurodatahub.surfaces.common import verifier

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceLabel

KIND = "surface-label"
SUBJECT = re.compile(r"from subject (\S+)")
ROW_FORMAT = "%d  %.3f  %.3f  %.3f %.10f"
MAX_BYTES = 1 << 30  # a label of every vertex of fsaverage is about 10 MB


def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> SurfaceLabel:
    from neurodatahub.core.models import SurfaceLabel

    with storage.open_read(url, storage_options) as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise InputError(f"{url} is larger than any FreeSurfer label ({MAX_BYTES} bytes)")
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise InputError(f"{url}: not a FreeSurfer label (not text: {error})") from error
    if len(lines) < 2 or not lines[0].startswith("#"):
        raise InputError(f"{url}: not a FreeSurfer label (no '#' comment line and vertex count)")
    try:
        count = int(lines[1].strip())
    except ValueError:
        raise InputError(f"{url}: line 2 should be the vertex count, got {lines[1][:40]!r}") from None
    rows = [line for line in lines[2:] if line.strip()]
    if len(rows) != count:
        raise InputError(f"{url}: the label announces {count} vertices but lists {len(rows)} (truncated?)")
    try:
        table = (
            np.loadtxt(io.StringIO("\n".join(rows)), ndmin=2, dtype=np.float64) if rows else np.zeros((0, 5))
        )
    except ValueError as error:
        raise InputError(f"{url}: a vertex line is not 5 numbers ({error})") from error
    if table.shape[1] != 5:
        raise InputError(f"{url}: vertex lines have {table.shape[1]} numbers, not 5 (number x y z value)")
    if not np.array_equal(table[:, 0], np.round(table[:, 0])):
        raise InputError(f"{url}: vertex numbers must be whole numbers")
    subject = SUBJECT.search(lines[0])
    return SurfaceLabel(
        vertex_indices=table[:, 0].astype(np.int64),
        coordinates=table[:, 1:4],
        values=table[:, 4],
        subject=subject.group(1) if subject else None,
        hemisphere=common.hemisphere_from_name(url),
    )


def write(label: SurfaceLabel, path: Path) -> None:
    subject = label.subject or ""
    if any(character.isspace() for character in subject):
        raise UsageError(f"subject {subject!r} holds spaces, which the label's comment line cannot keep")
    table = np.column_stack(
        [
            np.asarray(label.vertex_indices, dtype=np.float64),
            np.asarray(label.coordinates, dtype=np.float64).reshape(-1, 3),
            np.asarray(label.values, dtype=np.float64),
        ]
    )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"#!ascii label  , from subject {subject} vox2ras=TkReg\n{len(table)}\n")
        for row in table.tolist():
            handle.write(ROW_FORMAT % tuple(row) + "\n")


def losses(label: SurfaceLabel) -> list[Any]:
    found = common.header_losses(label, "a .label")
    coordinates = np.asarray(label.coordinates, dtype=np.float64)
    moved = (
        int(np.count_nonzero((np.round(coordinates, 3) != coordinates).any(axis=1)))
        if coordinates.size
        else 0
    )
    if moved:
        found.append(common.loss("coordinates", "a .label keeps three decimals (FreeSurfer's %.3f)", moved))
    values = np.asarray(label.values, dtype=np.float64)
    kept = np.array([float(f"{value:.10f}") for value in values.tolist()])
    changed = int(np.count_nonzero(kept != values))
    if changed:
        found.append(common.loss("values", "a .label keeps ten decimals (FreeSurfer's %.10f)", changed))
    return found


def sniff(probe: Probe) -> bool:
    lines = probe.head.split(b"\n", 2)
    return (
        len(lines) > 2 and lines[0].startswith(b"#") and b"label" in lines[0] and lines[1].strip().isdigit()
    )


register_format(
    FormatSpec(
        name="label",
        kind=KIND,
        description="FreeSurfer label (lh.cortex.label): vertex numbers, coordinates and values, as text",
        extensions=(".label",),
        read=read,
        write=write,
        sniff=sniff,
        cannot_store=("more than 3 decimals of coordinates", "metadata"),
        losses=losses,
        verify=verifier(read, losses),
    )
)
