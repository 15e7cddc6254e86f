"""Spectral decompositions as NPZ, the way spectralbrain's `save_npz(path, **arrays)` is used.

Layout: `eigenvalues`, `eigenvectors`, `vertices`, `faces` under those names; each descriptor under its
own name (`save_npz(path, eigenvalues=ev, hks=hks)` reads as the descriptor "hks"), or under
`descriptors/<name>` when its name is one of the reserved keys or itself starts with `descriptors/`;
0-d unicode `spectralbrain_version`, `metadata_json` (JSON text) and `descriptor_notes_json`
(descriptions and units) when there is something to say. Written with `savez_compressed` (spectralbrain
does) unless `compress` is false; read with `allow_pickle=False`, always.
Sniffed by the eigenpair arrays, the version or a `descriptors/` key: an archive of only a mesh and
bare descriptors looks like any NPZ and must be named with `--from npz`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from neurodatahub.core.codecs.metadata import metadata_from_json, optional_text, to_json
from neurodatahub.core.codecs.npz import load, member_names, save_arrays
from neurodatahub.core.errors import InputError
from neurodatahub.core.options import Flag, Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.spectral import common

if TYPE_CHECKING:
    from neurodatahub.core.models import SpectralDecomposition

PREFIX = "descriptors/"
METADATA = "metadata_json"
NOTES = "descriptor_notes_json"
RESERVED = {*common.ARRAY_FIELDS, common.VERSION_KEY, METADATA, NOTES}


class WriteOptions(Options):
    compress: Flag = Field(True, description="deflate the arrays (savez_compressed)")


def key_of(name: str) -> str:
    return PREFIX + name if name in RESERVED or name.startswith(PREFIX) else name


def name_of(key: str) -> str:
    return key.removeprefix(PREFIX)


def write(spec: SpectralDecomposition, path: Path, *, compress: bool = True) -> None:
    arrays: dict[str, np.ndarray] = {
        name: np.asarray(getattr(spec, name))
        for name in common.ARRAY_FIELDS
        if getattr(spec, name) is not None
    }
    notes = {}
    for descriptor in spec.descriptors or ():
        arrays[key_of(descriptor.name)] = np.asarray(descriptor.values)
        noted = {
            note: getattr(descriptor, note)
            for note in ("description", "unit")
            if getattr(descriptor, note) is not None
        }
        if noted:
            notes[descriptor.name] = noted
    if spec.software_version is not None:
        arrays[common.VERSION_KEY] = np.str_(spec.software_version)
    if spec.metadata:
        arrays[METADATA] = np.str_(to_json(spec.metadata))
    if notes:
        arrays[NOTES] = np.str_(json.dumps(notes))
    save_arrays(path, arrays, compress=compress)


def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> SpectralDecomposition:
    arrays = load(url, storage_options)
    notes = metadata_from_json(arrays[NOTES], url) if NOTES in arrays else {}
    metadata = metadata_from_json(arrays[METADATA], url) if METADATA in arrays else None
    if not isinstance(notes, dict) or not (metadata is None or isinstance(metadata, dict)):
        raise InputError(f"{url}: {NOTES} and {METADATA} must be JSON objects")
    descriptors = []
    for key, values in arrays.items():
        if key in RESERVED:
            continue
        name = name_of(key)
        noted = notes.get(name) or {}
        descriptors.append(
            (name, common.descriptor_values(values, name, url), noted.get("description"), noted.get("unit"))
        )
    version = optional_text(arrays.get(common.VERSION_KEY))
    return common.build(arrays, descriptors, metadata, version, url)


def sniff(probe: Probe) -> bool:
    names = member_names(probe.url, probe.head, probe.storage_options)
    return bool(names & {"eigenvalues", "eigenvectors", common.VERSION_KEY}) or any(
        name.startswith(PREFIX) for name in names
    )


register_format(
    FormatSpec(
        name="npz",
        kind=common.KIND,
        description="NumPy NPZ as spectralbrain's save_npz: eigenpairs, mesh, descriptors by name; no pickle",
        extensions=(".npz",),
        read=read,
        write=write,
        sniff=sniff,
        write_options=WriteOptions,
        claims_extension=False,  # spike archives own .npz; a spectral archive is known by its arrays
    )
)
