"""spectralbrain's HDF5 cache (save_hdf5 / load_hdf5 of spectralbrain 0.1.0), read and written exactly.

Layout: optional root datasets `eigenvalues` (k), `eigenvectors` (N, k), `vertices` (N, 3), `faces`
(F, 3); a group `descriptors/` with one dataset per descriptor (written only when there are some); all
gzip level 4 by default (`compression`, `compression_opts`); metadata as root attributes, plus
`spectralbrain_version`, which is the model's `software_version` (written only when known: the hub
does not claim to be spectralbrain). Arrays keep their dtype. A descriptor's `description` and `unit`
go into attributes of its dataset, which spectralbrain's loader ignores; the group tracks creation
order, so descriptors come back in their order (spectralbrain's files give them sorted by name). Empty
metadata reads back as none. Sniffed by the version attribute or the eigenpair and descriptor datasets.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatahub.core.codecs import hdf5
from neurodatahub.core.codecs.hdf5 import dataset_options, open_hdf5, text
from neurodatahub.core.errors import InputError
from neurodatahub.core.options import Hdf5Compression
from neurodatahub.core.registry import FormatSpec, Probe, register_format
from neurodatahub.spectral import common

if TYPE_CHECKING:
    from neurodatahub.core.models import SpectralDecomposition

GROUP = "descriptors"
NOTES = ("description", "unit")
SIGNS = {"eigenvalues", "eigenvectors", GROUP}


def _attribute(value: Any) -> Any:
    """Metadata as h5py stores it: text lists become UTF-8 string arrays, the rest as given."""
    import h5py

    if isinstance(value, list | tuple | np.ndarray) and any(isinstance(v, str) for v in value):
        return np.array([str(v) for v in value], dtype=h5py.string_dtype("utf-8"))
    return value


def _data(values: np.ndarray) -> np.ndarray:
    import h5py

    array = np.asarray(values)
    if array.dtype.kind == "U":  # h5py stores text as variable-length UTF-8, not numpy's UCS-4
        return array.astype(h5py.string_dtype("utf-8"))
    return array


def write(
    spec: SpectralDecomposition, path: Path, *, compression: str = "gzip", compression_opts: int = 4
) -> None:
    import h5py

    options = dataset_options(compression, compression_opts)
    with h5py.File(path, "w") as file:
        for name in common.ARRAY_FIELDS:
            value = getattr(spec, name)
            if value is not None:
                file.create_dataset(name, data=np.asarray(value), **options)
        if spec.descriptors:
            group = file.create_group(GROUP, track_order=True)  # descriptors come back in their order
            for descriptor in spec.descriptors:
                dataset = group.create_dataset(descriptor.name, data=_data(descriptor.values), **options)
                for note in NOTES:
                    if getattr(descriptor, note) is not None:
                        dataset.attrs[note] = getattr(descriptor, note)
        for key, value in (spec.metadata or {}).items():
            file.attrs[key] = _attribute(value)
        if spec.software_version is not None:
            file.attrs[common.VERSION_KEY] = spec.software_version


def _dataset(file: Any, name: str, url: str) -> np.ndarray:
    return hdf5.read(file[name], url)


def read(url: str, *, storage_options: Mapping[str, Any] | None = None) -> SpectralDecomposition:
    with open_hdf5(url, storage_options) as file:
        attrs = dict(file.attrs)
        present = set(file.keys())
        arrays = {name: _dataset(file, name, url) for name in common.ARRAY_FIELDS if name in present}
        descriptors = []
        if GROUP in present:
            if hasattr(file[GROUP], "dtype"):
                raise InputError(f"{url}: {GROUP} must be a group of datasets")
            for name in file[GROUP]:
                values = common.descriptor_values(_dataset(file[GROUP], name, url), name, url)
                notes = file[GROUP][name].attrs
                descriptors.append((name, values, *(_note(notes, note) for note in NOTES)))
    version = attrs.pop(common.VERSION_KEY, None)
    return common.build(arrays, descriptors, attrs, None if version is None else text(version), url)


def _note(attrs: Any, name: str) -> str | None:
    return text(attrs[name]) if name in attrs else None


def sniff(probe: Probe) -> bool:
    root = probe.hdf5_root
    if root is None:
        return False
    attrs, paths = root
    if "neurodata_type" in attrs or "neurodatahub_format" in attrs:
        return False
    return common.VERSION_KEY in attrs or bool(paths & SIGNS)


register_format(
    FormatSpec(
        name="hdf5",
        kind=common.KIND,
        description="spectralbrain's HDF5 cache: eigenpairs, mesh, descriptors/ group, metadata attributes",
        extensions=(".h5", ".hdf5"),
        read=read,
        write=write,
        sniff=sniff,
        write_options=Hdf5Compression,
        claims_extension=False,  # spike HDF5 owns .h5; a cache is known by its datasets and version
    )
)
