"""FreeSurfer annotations (.annot): per-vertex labels and their colour table, read and written with nibabel.

A vertex's label is stored as its entry's packed RGB code, so entries are told apart by colour: two
entries of one RGB colour, or an entry coloured (0, 0, 0) in a file with unlabelled vertices (written as
code 0), read back as one label (declared, counted in vertices). Entries are numbered 0..K-1 in table
order; other keys are renumbered (declared). Transparency is kept (alpha = 255 - t). The hemisphere is
read from the lh./rh. prefix of the file name; space and metadata have no place.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.surfaces import labels as common
from neurodatahub.surfaces.common import verifier
from neurodatahub.surfaces.labels import KIND, UNLABELLED

if TYPE_CHECKING:
    from neurodatahub.core.models import SurfaceLabels

ANNOT_DTYPE = ">i4"


def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> SurfaceLabels:
    from nibabel.freesurfer import read_annot

    with storage.local_copy(url, storage_options) as path, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            keys, ctab, names = read_annot(str(path))
        except (ValueError, OSError, IndexError, EOFError, MemoryError, Exception) as error:
            # nibabel raises bare Exception for an unknown colour-table version
            raise InputError(
                f"{url}: not a readable FreeSurfer annotation ({type(error).__name__}: {error})"
            ) from error
    if len(names) != len(ctab):
        raise InputError(f"{url}: the colour table has {len(ctab)} rows but {len(names)} names")
    table = [
        (index, _text(name), [*map(int, row[:3]), 255 - int(row[3])])
        for index, (name, row) in enumerate(zip(names, ctab, strict=True))
    ]
    return common.build(keys, table, url=url, hemisphere=common.hemisphere_from_name(url))


def _text(name: Any) -> str:
    return name.decode("utf-8", errors="replace") if isinstance(name, bytes) else str(name)


def _positions(labels: SurfaceLabels) -> np.ndarray:
    """Each vertex's entry number 0..K-1 (table order); -1 for keys absent from the table."""
    keys = np.asarray(labels.keys)
    table = np.asarray([entry.key for entry in labels.label_table], dtype=np.int64)
    if not len(table):
        return np.full(len(keys), UNLABELLED)
    order = np.argsort(table, kind="stable")
    found = order[np.searchsorted(table, keys, sorter=order).clip(0, len(table) - 1)]
    return np.where(table[found] == keys, found, UNLABELLED)


def write(labels: SurfaceLabels, path: Path) -> None:
    from nibabel.freesurfer import write_annot

    if not labels.label_table:
        raise UsageError("an annotation needs at least one label in its table")
    for entry in labels.label_table:
        if "\x00" in entry.name:
            raise UsageError(f"label name {entry.name!r} holds a NUL character, which .annot names end at")
    ctab = np.array(
        [[*entry.color[:3], 255 - int(entry.color[3])] for entry in labels.label_table], dtype=np.int32
    )
    names = [entry.name.encode("utf-8") for entry in labels.label_table]
    write_annot(str(path), _positions(labels).astype(np.int32), ctab, names, fill_ctab=True)


def losses(labels: SurfaceLabels) -> list[Any]:
    found = common.header_losses(labels, ".annot")
    table = [entry.key for entry in labels.label_table]
    if table != list(range(len(table))):
        found.append(common.loss("keys", ".annot numbers its labels 0..K-1 in table order: keys renumbered"))
    colors = [tuple(int(value) for value in entry.color[:3]) for entry in labels.label_table]
    keys = np.asarray(labels.keys)
    positions = _positions(labels)
    first = {}
    for index, color in enumerate(colors):
        first.setdefault(color, index)
    merged = [index for index, color in enumerate(colors) if first[color] != index]
    if merged:
        count = int(np.count_nonzero(np.isin(positions, merged)))
        found.append(
            common.loss(
                "keys", "labels of the same RGB colour are one code in .annot: read back as the first", count
            )
        )
    unlabelled = positions == UNLABELLED
    if unlabelled.any() and not (keys[unlabelled] == UNLABELLED).all():
        found.append(
            common.loss("keys", "keys absent from the table are written unlabelled and read back as -1")
        )
    if (0, 0, 0) in first and unlabelled.any():
        count = int(np.count_nonzero(unlabelled))
        found.append(
            common.loss("keys", "unlabelled vertices are code 0, the code of the black label", count)
        )
    return found


def sniff(probe: Probe) -> bool:
    """A big-endian vertex count, then (vertex number, code) pairs numbered 0, 1, 2..."""
    head = probe.head
    if len(head) < 28:
        return False
    words = np.frombuffer(head[:28], dtype=ANNOT_DTYPE)
    return words[0] > 2 and list(words[[1, 3, 5]]) == [0, 1, 2]


register_format(
    FormatSpec(
        name="annot",
        kind=KIND,
        description="FreeSurfer annotation (lh.aparc.annot...): per-vertex labels and colour table (nibabel)",
        extensions=(".annot",),
        read=read,
        write=write,
        sniff=sniff,
        cannot_store=("label keys other than 0..K-1", "two labels of one colour", "space, metadata"),
        losses=losses,
        verify=verifier(read, losses),
    )
)
